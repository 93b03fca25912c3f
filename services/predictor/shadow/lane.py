"""Score every answered record with the challenger too, on a thread of its own, from a bounded queue.

The request path only appends a reference to the records it already has (no copy, no wait): when the queue
holds PREDICTOR_SHADOW_QUEUE records, the new ones are dropped and counted. The thread scores what waits in
one vectorized call per slice, hands the GIL back between slices, and stores each probability beside the
prediction in the audit database (keyed by prediction id and challenger version), so every worker and
replica reads the same comparison. A challenger that raises is reported, never seen by a client.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence

from services.common.frame import Columns
from services.predictor.audit.backend import AuditBackend, AuditStoreError
from services.predictor.audit.writer import utc_text
from services.predictor.model.prepare_version import describe_error
from services.predictor.shadow.challenger import ChallengerStore
from services.predictor.telemetry.metrics import PredictorMetrics

log = logging.getLogger(__name__)
SLICE_RECORDS = 256  # scored per call; the GIL is handed back between slices (a request never waits long)
DRAIN_SECONDS = 0.1
QUEUE_FULL, CHALLENGER_ERROR, AUDIT_UNAVAILABLE = "queue_full", "challenger_error", "audit_unavailable"
CHALLENGER_UNLOADABLE = "challenger_unloadable"
DROP_REASONS = (QUEUE_FULL, CHALLENGER_ERROR, CHALLENGER_UNLOADABLE, AUDIT_UNAVAILABLE)

ShadowRow = tuple[str, str, float, str]  # prediction id, challenger version, probability, scored at


class ShadowLane:
    def __init__(
        self, challenger: ChallengerStore, backend: AuditBackend, metrics: PredictorMetrics, queue_limit: int
    ) -> None:
        self.challenger, self.backend, self.metrics = challenger, backend, metrics
        self.queue_limit = queue_limit
        self.last_error: str | None = None  # the challenger's or the database's latest failure, for /model/shadow
        self._queue: deque[tuple[str, Sequence[str], Columns]] = deque()
        self._queued = 0
        self._drops: dict[str, int] = {}  # challenger version -> records dropped, not yet stored
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        for reason in DROP_REASONS:  # every series exists from the start: dashboards see zeros, not gaps
            metrics.shadow_dropped.labels(reason)

    @property
    def queued(self) -> int:
        return self._queued

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="shadow-lane", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.drain()

    def offer(self, prediction_ids: Sequence[str], columns: Columns) -> None:
        """On the request path: queue the records for the challenger, or drop and count them. Never waits."""
        model = self.challenger.current
        if model is None:
            if self.challenger.state.error is not None and self.challenger.state.designated is not None:
                self._unloadable(self.challenger.state.designated, len(prediction_ids))
            return
        version, count = model.bundle.version, len(prediction_ids)
        with self._lock:
            full = self._queued + count > self.queue_limit
            if full:
                self._drops[version] = self._drops.get(version, 0) + count
            else:
                self._queue.append((version, prediction_ids, columns))
                self._queued += count
        if full:
            self.metrics.shadow_dropped.labels(QUEUE_FULL).inc(count)

    def _unloadable(self, version: str, count: int) -> None:
        """The alias designates a version this worker could not load: its records are answered, not scored."""
        with self._lock:
            self._drops[version] = self._drops.get(version, 0) + count
        self.metrics.shadow_dropped.labels(CHALLENGER_UNLOADABLE).inc(count)

    def drain(self) -> None:
        """Score everything queued now and store it (the thread calls this; so does shutdown)."""
        with self._lock:
            waiting, self._queue = self._queue, deque()
            self._queued = 0
            drops, self._drops = self._drops, {}
        rows: list[ShadowRow] = []
        while waiting:
            rows.extend(self._score_slice(waiting, drops))
            time.sleep(0)  # requests waiting for the GIL get it now, not after the switch interval
        self._store(rows, drops)

    def _score_slice(
        self, waiting: deque[tuple[str, Sequence[str], Columns]], drops: dict[str, int]
    ) -> list[ShadowRow]:
        """Score up to SLICE_RECORDS queued records of one version with one call (failures: into `drops`)."""
        version = waiting[0][0]
        ids: list[str] = []
        parts: list[Columns] = []
        while waiting and waiting[0][0] == version and (not ids or len(ids) + len(waiting[0][1]) <= SLICE_RECORDS):
            _, batch_ids, columns = waiting.popleft()
            ids.extend(batch_ids)
            parts.append(columns)
        model = self.challenger.current
        if model is None or model.bundle.version != version:  # the alias moved on: these belong to no one now
            return []
        merged = parts[0] if len(parts) == 1 else {name: [v for part in parts for v in part[name]] for name in parts[0]}
        try:
            probabilities = model.probabilities(merged)
        except Exception as error:  # noqa: BLE001 - whatever the challenger does, answers are not touched
            self._failed(CHALLENGER_ERROR, len(ids), f"challenger version {version} failed: {describe_error(error)}")
            drops[version] = drops.get(version, 0) + len(ids)
            return []
        scored_at = utc_text(time.time())
        return [(pid, version, float(p), scored_at) for pid, p in zip(ids, probabilities, strict=True)]

    def _store(self, rows: list[ShadowRow], drops: dict[str, int]) -> None:
        if not rows and not drops:
            return
        try:
            now = utc_text(time.time())
            self.backend.record_shadow(rows, [(version, count, now) for version, count in drops.items()])
        except AuditStoreError as error:
            self._failed(AUDIT_UNAVAILABLE, len(rows), f"shadow scores not stored: {error}")
            with self._lock:  # the lost scores and the drops are counted when the database is back
                for version, count in drops.items():
                    self._drops[version] = self._drops.get(version, 0) + count
                for _, version, _, _ in rows:
                    self._drops[version] = self._drops.get(version, 0) + 1
            return
        self.metrics.shadow_predictions.inc(len(rows))

    def _failed(self, reason: str, count: int, message: str) -> None:
        self.metrics.shadow_dropped.labels(reason).inc(count)
        if message != self.last_error:
            log.error("shadow lane", extra={"reason": message, "records": count})
        self.last_error = message

    def _run(self) -> None:
        while not self._stopping.wait(DRAIN_SECONDS):
            try:
                self.drain()
            except Exception:  # noqa: BLE001 - the lane must outlive any bug; answers never depend on it
                log.exception("shadow lane error")
