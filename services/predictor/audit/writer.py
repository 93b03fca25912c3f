"""The audit log of every prediction, written off the request path by one writer thread.

Two modes, one writer:
- durable (PREDICTOR_AUDIT_DURABLE): a request waits until its record is committed; the writer commits
  everything waiting at once (group commit), so a SIGKILL never loses an answered prediction;
- batched: records are committed every PREDICTOR_AUDIT_FLUSH_SECONDS; `close()` flushes (SIGTERM loses
  nothing, SIGKILL may lose the last fraction of a second).
A failed commit keeps the records pending (never dropped) and marks the log unhealthy, which readiness
reports. Pending records are bounded: past PREDICTOR_AUDIT_MAX_PENDING a prediction is refused (503),
never answered without a record. Records older than PREDICTOR_AUDIT_RETENTION_DAYS are removed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from asyncio import AbstractEventLoop, Future
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from hashlib import sha256
from math import modf
from typing import Any, NamedTuple

from msgspec import Struct

from services.common.customer import ID_FIELD
from services.predictor.audit.backend import AuditBackend, AuditStoreError
from services.predictor.audit.record import AuditRecord, as_response, canonical_input

log = logging.getLogger(__name__)
PURGE_EVERY_SECONDS = 3600.0
PURGE_SLICE = 10_000  # records deleted per transaction: retention never holds the writer long


def utc_text(timestamp: float) -> str:
    """`datetime.fromtimestamp(t, UTC).isoformat(timespec="microseconds")` at about half its cost (0.6 us
    against 1.1): the date and time of a whole second are formatted once, for all the records in it."""
    fraction, whole = modf(timestamp)  # rounded as datetime rounds: the fraction alone, half to even
    seconds, microseconds = divmod(int(whole) * 1_000_000 + round(fraction * 1_000_000), 1_000_000)
    return f"{_utc_second_text(seconds)}.{microseconds:06d}+00:00"


@lru_cache(maxsize=4)
def _utc_second_text(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


class AuditUnavailable(AuditStoreError):
    """The log cannot answer now (database down): a lookup gets 503, never a 404."""


class AuditBacklog(AuditStoreError):
    """Too many records wait for the database: predictions are refused rather than answered unrecorded."""


class AuditBatch(NamedTuple):
    """The predictions of one request, kept as given until written: the writer thread builds the rows,
    formats the time and encodes the inputs, so a request does not pay for that before it answers."""

    created_at: float  # time.time()
    model_name: str
    model_version: str
    run_id: str
    api_key_id: str | None
    threshold: float
    prediction_ids: Sequence[str]
    probabilities: Sequence[float]
    inputs: Sequence[Struct]  # the validated records
    warnings: Mapping[int, list[str]]  # index -> out-of-profile fields (most records have none)
    request_id: str | None
    committed: Future[None] | None = None  # durable mode: the request's future, resolved once committed

    @property
    def size(self) -> int:
        return len(self.prediction_ids)

    def records(self) -> Iterator[AuditRecord]:
        created_at = utc_text(self.created_at)
        for index, (prediction_id, probability, row) in enumerate(
            zip(self.prediction_ids, self.probabilities, self.inputs, strict=True)
        ):
            canonical = canonical_input(row)
            warnings = self.warnings.get(index)
            yield AuditRecord(
                prediction_id,
                created_at,
                getattr(row, ID_FIELD),
                self.model_name,
                self.model_version,
                self.run_id,
                sha256(canonical).hexdigest(),
                probability,
                probability >= self.threshold,
                self.api_key_id,
                self.threshold,
                None if warnings is None else json.dumps(warnings),
                self.request_id,
                canonical.decode(),
            )

    def find(self, prediction_id: str) -> AuditRecord | None:
        for record in self.records() if prediction_id in self.prediction_ids else ():
            if record.prediction_id == prediction_id:
                return record
        return None


def _resolve(waiting: list[Future[None]]) -> None:
    """Wake the requests waiting for this commit: one hand-over per event loop, not one per request (each
    call_soon_threadsafe writes to the loop's wake-up pipe)."""
    by_loop: dict[AbstractEventLoop, list[Future[None]]] = {}
    for future in waiting:
        by_loop.setdefault(future.get_loop(), []).append(future)
    for loop, futures in by_loop.items():
        try:
            loop.call_soon_threadsafe(_set_done, futures)
        except RuntimeError:  # the loop has closed (shutdown): nobody waits any more
            continue


def _set_done(futures: list[Future[None]]) -> None:
    for future in futures:
        if not future.done():  # a waiter that gave up (503) cancelled its future
            future.set_result(None)


class AuditLog:
    """The writer thread and lookups; one per process (several processes and replicas may share a log)."""

    def __init__(
        self,
        backend: AuditBackend,
        flush_seconds: float,
        durable: bool,
        max_pending: int,
        retention_days: int,
    ) -> None:
        self.backend = backend
        self.flush_seconds = flush_seconds
        self.durable = durable
        self.max_pending = max_pending
        self.retention = timedelta(days=retention_days)
        self.last_error: str | None = None
        self._pending: list[AuditBatch] = []
        self._in_flight: list[AuditBatch] = []  # taken by a flush, not yet committed: still found by get()
        self._pending_count = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_purge = 0.0

    @property
    def description(self) -> str:
        return self.backend.description

    def open(self) -> None:
        """Prepare the schema now (a failure is recorded, not raised: readiness reports it); start the writer."""
        try:
            self.backend.prepare()
        except AuditStoreError as error:
            self._record_failure(str(error))
        self.check_writable()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    @property
    def healthy(self) -> bool:
        return self.last_error is None

    @property
    def pending(self) -> int:
        """Predictions not yet committed."""
        return self._pending_count

    def oldest_pending_seconds(self, now: float | None = None) -> float:
        """How long the oldest answered record not yet in the database has waited; 0 when none. A steady
        trickle of records in flight stays near 0; an outage makes it grow (what AuditBacklog should read)."""
        with self._lock:
            batches = [*self._in_flight[:1], *self._pending[:1]]  # each list is in submission order
        if not batches:
            return 0.0
        return max(0.0, (time.time() if now is None else now) - min(batch.created_at for batch in batches))

    def submit(self, batch: AuditBatch) -> None:
        """Queue a request's records; AuditBacklog when the bound would be passed (nothing is queued then)."""
        with self._lock:
            if self._pending_count + batch.size > self.max_pending:
                raise AuditBacklog(
                    f"{self._pending_count} audit records wait for the database ({self.last_error or 'slow'}); "
                    f"the bound is {self.max_pending}"
                )
            self._pending.append(batch)
            self._pending_count += batch.size
        if self.durable:
            self._wake.set()

    def flush(self) -> bool:
        """Commit everything pending now, in one transaction; on failure keep it pending and remember why."""
        with self._lock:
            batches, self._pending = self._pending, []
            self._in_flight = [*self._in_flight, *batches]
        if not batches:
            return True
        try:
            self.backend.insert([record for batch in batches for record in batch.records()])
        except AuditStoreError as error:
            with self._lock:
                self._pending[:0] = batches
                self._forget_in_flight(batches)
            self._record_failure(str(error))
            return False
        except BaseException:
            with self._lock:
                self._pending[:0] = batches
                self._forget_in_flight(batches)
            raise
        with self._lock:
            self._forget_in_flight(batches)
            self._pending_count -= sum(batch.size for batch in batches)
        self.last_error = None
        _resolve([batch.committed for batch in batches if batch.committed is not None])
        return True

    def _forget_in_flight(self, batches: list[AuditBatch]) -> None:
        """Called with the lock held, once `batches` are committed or back in pending."""
        done = {id(batch) for batch in batches}
        self._in_flight = [batch for batch in self._in_flight if id(batch) not in done]

    def check_writable(self) -> str | None:
        """A real write to the log, now; returns the failure (also kept as `last_error`) or None."""
        try:
            self.backend.check_writable()
        except AuditStoreError as error:
            self._record_failure(str(error))
            return self.last_error
        if self.pending == 0:
            self.last_error = None
        return self.last_error

    def get(self, prediction_id: str) -> dict[str, Any] | None:
        """One record by id, including any not yet committed; AuditUnavailable when the log cannot say."""
        with self._lock:  # a batch is pending, in flight, or committed: never between (a false 404)
            batches = [*self._in_flight, *self._pending]
        for batch in batches:
            record = batch.find(prediction_id)
            if record is not None:
                return as_response(record._asdict())
        try:
            row = self.backend.fetch(prediction_id)
        except AuditStoreError as error:
            raise AuditUnavailable(str(error)) from error
        return None if row is None else as_response(row)

    def purge_expired(self, now: datetime | None = None) -> int:
        """Remove records older than the retention period, a slice at a time; the number removed."""
        cutoff = ((now or datetime.now(UTC)) - self.retention).isoformat(timespec="microseconds")
        removed = 0
        while True:
            count = self.backend.purge(cutoff, PURGE_SLICE)
            removed += count
            if count < PURGE_SLICE:
                break
            time.sleep(0)
        if removed:
            log.info("audit records past retention removed", extra={"count": removed, "before": cutoff})
        return removed

    def close(self, timeout: float = 10.0) -> None:
        """Stop the writer and flush what is left (called on shutdown)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.flush()
        if self._pending:
            log.error("audit records could not be written at shutdown", extra={"count": self.pending})
        self.backend.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            try:
                if not self.flush():
                    self._stopping.wait(self.flush_seconds)  # the database is failing: retry, do not spin
                self._maybe_purge()
            except Exception:  # noqa: BLE001 - the writer must outlive any bug: records wait, readiness tells
                log.exception("audit writer error")
                self._record_failure("audit writer error (see the log)")
                self._stopping.wait(self.flush_seconds)

    def _maybe_purge(self) -> None:
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + PURGE_EVERY_SECONDS
        try:
            self.purge_expired()
        except AuditStoreError as error:
            log.error("audit retention failed", extra={"error": str(error)})

    def _record_failure(self, message: str) -> None:
        if message != self.last_error:
            log.error("audit log failure", extra={"error": message, "pending": self.pending})
        self.last_error = message
