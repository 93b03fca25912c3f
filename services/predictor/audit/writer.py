"""The audit log of every prediction, written off the request path by one writer thread.

Two modes, one writer:
- durable (PREDICTOR_AUDIT_DURABLE, the default): a request waits until its record is committed, with
  everything waiting at that moment (group commit), so a SIGKILL never loses an answered prediction. A small
  request to a healthy log is committed by its own event loop (SQLite: a file append at the end of the
  loop's iteration; PostgreSQL: an awaited round trip, one group in flight); anything else by the writer;
- batched: records are committed every PREDICTOR_AUDIT_FLUSH_SECONDS; `close()` flushes (SIGTERM loses
  nothing, SIGKILL may lose the last fraction of a second).
While the database fails, records go to the spill on local disk (spill.py) before they count as written,
and reach the database in order once it is back. When the spill cannot take them either, they stay
pending in memory (batched: the answers have left) or their requests are refused (durable: 503). Pending
records are bounded: past PREDICTOR_AUDIT_MAX_PENDING a prediction is refused (503), never answered
without a record. Records older than PREDICTOR_AUDIT_RETENTION_DAYS are removed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from asyncio import AbstractEventLoop, Future
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from hashlib import sha256
from math import modf
from typing import Any, NamedTuple

from msgspec import Struct

from services.common.customer import ID_FIELD
from services.predictor.audit.backend import AuditBackend, AuditStoreError, WriterBusy
from services.predictor.audit.record import AuditRecord, as_response, canonical_input
from services.predictor.audit.spill import Spill

log = logging.getLogger(__name__)
PURGE_EVERY_SECONDS = 3600.0
PURGE_SLICE = 10_000  # records deleted per transaction: retention never holds the writer long
LOOP_COMMIT_MAX_RECORDS = 64
RETRY_SECONDS = 1.0  # while the database fails, records go straight to the spill; it is retried this often


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


def _resolve(batches: Sequence[AuditBatch], error: AuditStoreError | None = None) -> None:
    """Wake the requests waiting for these records (with the error that refuses them, if any): one hand-over
    per event loop, not one per request (each call_soon_threadsafe writes to the loop's wake-up pipe)."""
    by_loop: dict[AbstractEventLoop, list[Future[None]]] = {}
    for future in (batch.committed for batch in batches if batch.committed is not None):
        by_loop.setdefault(future.get_loop(), []).append(future)
    for loop, futures in by_loop.items():
        if loop is _running_loop():  # committed on the loop itself
            _set_done(futures, error)
            continue
        try:
            loop.call_soon_threadsafe(_set_done, futures, error)
        except RuntimeError:  # the loop has closed (shutdown): nobody waits any more
            continue


def _running_loop() -> AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # the writer thread
        return None


def _set_done(futures: list[Future[None]], error: AuditStoreError | None) -> None:
    for future in futures:
        if future.done():  # a waiter that gave up (503) cancelled its future
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


def _expire(futures: list[Future[None]]) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(TimeoutError())


class AuditLog:
    """The writer thread and lookups; one per process (several processes and replicas may share a log)."""

    def __init__(
        self,
        backend: AuditBackend,
        flush_seconds: float,
        durable: bool,
        max_pending: int,
        retention_days: int,
        spill: Spill,
        commit_timeout: float = 5.0,
    ) -> None:
        self.backend = backend
        self.commit_timeout = commit_timeout
        self.spill = spill
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
        self._retry_at = 0.0  # while the database fails: when to try it again
        self._loop_commit_scheduled = False
        self._async_insert: Callable[[Sequence[AuditRecord]], Awaitable[None]] | None = getattr(
            backend, "insert_async", None
        )
        self._round_trips: asyncio.Task[None] | None = None  # the event loop's round-trip commits (PostgreSQL)

    @property
    def description(self) -> str:
        return self.backend.description

    def open(self) -> None:
        """Prepare the schema now (a failure is recorded, not raised: readiness reports it); start the writer."""
        try:
            self.backend.prepare()
        except AuditStoreError as error:
            self._record_failure(str(error))
        self.spill.open()  # what a killed process left is written first
        self.check_writable()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    @property
    def healthy(self) -> bool:
        return self.last_error is None

    @property
    def accepting(self) -> bool:
        """Whether a new record can be written now: to the database, or else to the spill."""
        return self.healthy or self.spill.has_room

    def why_refused(self) -> str:
        """Why a record cannot be written now (when not `accepting`): the database's failure and the spill's."""
        spill = self.spill.last_error or (
            f"its spill {self.spill.directory} is full (PREDICTOR_AUDIT_SPILL_MAX_BYTES={self.spill.max_bytes})"
        )
        return f"{self.last_error}; {spill}"

    @property
    def pending(self) -> int:
        """Answered predictions not yet in the database: in memory and in the spill."""
        return self._pending_count + self.spill.records

    def oldest_pending_seconds(self, now: float | None = None) -> float:
        """How long the oldest answered record not yet in the database has waited; 0 when none. A steady
        trickle of records in flight stays near 0; an outage makes it grow (what AuditBacklog should read)."""
        with self._lock:
            batches = [*self._in_flight[:1], *self._pending[:1]]  # each list is in submission order
        times = [batch.created_at for batch in batches]
        if (spilled := self.spill.oldest_created_at()) is not None:
            times.append(spilled)
        if not times:
            return 0.0
        return max(0.0, (time.time() if now is None else now) - min(times))

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
        if self.durable and not self._commit_on_loop(batch):
            self._expire_later([batch])
            self._wake.set()

    def _commit_on_loop(self, batch: AuditBatch) -> bool:
        """A small request to a healthy log is committed by its own event loop, together with every request
        waiting then: no thread hand-over, no wait for the GIL behind a busy loop. SQLite: at the end of this
        iteration (a file append, ~0.1 ms). PostgreSQL: by a task that awaits each group's round trip while
        the loop serves others. Anything larger, and anything while the log fails, is the writer's."""
        if not (
            batch.committed is not None
            and batch.size <= LOOP_COMMIT_MAX_RECORDS
            and self.healthy
            and not self.spill.records
        ):
            return False
        if self.backend.local:
            if not self._loop_commit_scheduled:
                self._loop_commit_scheduled = True
                batch.committed.get_loop().call_soon(self.flush, False)  # never waits on the loop: see flush
            return True
        if self._async_insert is None:
            return False
        if self._round_trips is None:  # kept: the loop holds only a weak reference to a task
            self._round_trips = batch.committed.get_loop().create_task(self._commit_round_trips(self._async_insert))
        return True

    async def _commit_round_trips(self, insert: Callable[[Sequence[AuditRecord]], Awaitable[None]]) -> None:
        """Commit what waits, one group at a time, until nothing does (what arrives during a round trip is
        the next group). A failure hands the records to the writer thread, which retries, else spills, and
        answers them; past commit_timeout the requests are refused (503), as the writer thread's would be,
        and their records are still the writer thread's to write."""
        try:
            while True:
                with self._lock:
                    batches, self._pending = self._pending, []
                    self._in_flight = [*self._in_flight, *batches]
                if not batches:
                    return
                try:
                    async with asyncio.timeout(self.commit_timeout):
                        await insert([record for batch in batches for record in batch.records()])
                except BaseException as error:  # failed, timed out, or cancelled (shutdown): not committed here
                    with self._lock:
                        self._pending[:0] = batches
                        self._forget_in_flight(batches)
                    self._wake.set()
                    if not isinstance(error, AuditStoreError | TimeoutError):
                        raise
                    if isinstance(error, TimeoutError):
                        _expire([batch.committed for batch in batches if batch.committed is not None])
                        self._record_failure(f"audit commit took over {self.commit_timeout:g} s")
                    else:
                        self._expire_later(batches)
                        self._record_failure(str(error))
                    return
                with self._lock:
                    self._forget_in_flight(batches)
                    self._pending_count -= sum(batch.size for batch in batches)
                _resolve(batches)
        finally:
            self._round_trips = None

    def _expire_later(self, batches: Sequence[AuditBatch]) -> None:
        """Durable requests whose commit is the writer thread's get TimeoutError after `commit_timeout` (one timer
        per hand-over, on their loop). A commit on the loop itself needs none: it is done or failed at once."""
        futures = [batch.committed for batch in batches if batch.committed is not None]
        if futures:
            futures[0].get_loop().call_later(self.commit_timeout, _expire, futures)

    def flush(self, wait: bool = True) -> bool:
        """Write everything pending now, in one transaction, after what the spill holds (the order answered);
        while the database fails, to the spill instead. False when the database failed; records that
        neither could take stay pending (batched) or are refused (durable: their answers never leave).
        wait=False (a commit on the event loop): when another process holds the database's write lock, the
        records stay pending for the writer thread, which waits for it instead of the loop."""
        with self._lock:
            batches, self._pending = self._pending, []
            self._in_flight = [*self._in_flight, *batches]
            self._loop_commit_scheduled = False  # whatever a scheduled commit would take, this one takes
        if not batches and not self.spill.records:
            return True
        try:
            stored = self._store([record for batch in batches for record in batch.records()], wait)
        except WriterBusy:  # on the event loop, another process is committing: the writer thread waits
            with self._lock:
                self._pending[:0] = batches
                self._forget_in_flight(batches)
            self._expire_later(batches)
            self._wake.set()
            return True
        except AuditStoreError as error:
            answered = [batch for batch in batches if batch.committed is None]
            with self._lock:
                self._pending[:0] = answered
                self._forget_in_flight(batches)
                self._pending_count -= sum(batch.size for batch in batches) - sum(b.size for b in answered)
            self._record_failure(str(error))
            _resolve(batches, error)
            return False
        except BaseException:
            with self._lock:
                self._pending[:0] = batches
                self._forget_in_flight(batches)
            raise
        with self._lock:
            self._forget_in_flight(batches)
            self._pending_count -= sum(batch.size for batch in batches)
        _resolve(batches)
        return stored

    def _store(self, records: list[AuditRecord], wait: bool = True) -> bool:
        """True: in the database, after the spill's records. False: the database failed (or is waiting to be
        retried) and the records are in the spill. Raises when the spill cannot take them."""
        if time.monotonic() >= self._retry_at:
            try:
                if self.spill.records:
                    self.spill.drain(self.backend.insert)
                if records:
                    self.backend.insert(records, wait)
            except AuditStoreError as error:
                self._record_failure(str(error))
                self._retry_at = time.monotonic() + RETRY_SECONDS
            else:
                self.last_error = None
                return True
        if records:
            self.spill.append(records)
        return False

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
        with self._lock:  # a batch is pending, in flight, spilled or committed: never between (a false 404)
            batches = [*self._in_flight, *self._pending]
        for batch in batches:
            record = batch.find(prediction_id)
            if record is not None:
                return as_response(record._asdict())
        if (spilled := self.spill.find(prediction_id)) is not None:
            return as_response(spilled._asdict())
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
        self._retry_at = 0.0  # one more try of the database, then the spill
        self.flush()
        if self._pending:
            log.error("audit records could not be written at shutdown", extra={"count": self._pending_count})
        self.spill.close()
        self.backend.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            try:
                self.flush()  # a failing database is retried every RETRY_SECONDS, not at every flush
                if self.healthy:
                    self._checkpoint()
                self._maybe_purge()
            except Exception:  # noqa: BLE001 - the writer must outlive any bug: records wait, readiness tells
                log.exception("audit writer error")
                self._record_failure("audit writer error (see the log)")
                self._stopping.wait(self.flush_seconds)

    def _checkpoint(self) -> None:
        try:
            self.backend.checkpoint()
        except AuditStoreError as error:  # the next one retries; writes go on into the WAL meanwhile
            log.warning("audit checkpoint failed", extra={"error": str(error)})

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
