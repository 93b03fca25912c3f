"""GET /model/shadow and the top-overlap gauge: the shadow report of the current challenger, read from the
shared audit log (so every worker and replica says the same), reused for PREDICTOR_DRIFT_SECONDS."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from services.predictor.audit.backend import AuditBackend, AuditStoreError
from services.predictor.model.store import ModelStore
from services.predictor.settings import PredictorSettings
from services.predictor.shadow.lane import ShadowLane
from services.predictor.shadow.report import Tolerances, shadow_report
from services.predictor.telemetry.metrics import PredictorMetrics


class ShadowEvidence:
    def __init__(
        self,
        lane: ShadowLane,
        store: ModelStore,
        backend: AuditBackend,
        metrics: PredictorMetrics,
        settings: PredictorSettings,
    ) -> None:
        self.lane, self.store, self.backend, self.metrics, self.settings = lane, store, backend, metrics, settings
        self.tolerances = Tolerances(settings.shadow_auc_tolerance, settings.shadow_top_precision_tolerance)
        self._cache: tuple[float, str | None, dict[str, Any]] | None = None
        self._realized_memo: dict[str, Any] = {}  # the bootstrap, reused until new outcomes come in
        self._lock = threading.Lock()

    def report(self) -> dict[str, Any]:
        """AuditStoreError when the log cannot be read."""
        challenger = self.lane.challenger.current
        version = None if challenger is None else challenger.bundle.version
        with self._lock:
            hit = self._cache
            if hit is None or hit[1] != version or time.monotonic() - hit[0] >= self.settings.drift_seconds:
                hit = self._cache = (time.monotonic(), version, self._compute())
            return {**hit[2], **self._live()}

    def refresh_quietly(self) -> None:
        """For /metrics: keep the gauge current; a log that cannot be read leaves it as it was."""
        try:
            self.report()
        except AuditStoreError:
            return

    def forget(self) -> None:
        """New outcomes: the next read recomputes."""
        with self._lock:
            self._cache = None

    def _compute(self) -> dict[str, Any]:
        challenger = self.lane.challenger.current
        s = self.settings
        if challenger is None:  # none, or one this worker could not load: its answers were dropped, not scored
            designated = self.lane.challenger.state.designated
            dropped = 0 if designated is None else self.backend.shadow_dropped(designated)
            report = shadow_report(None, [], dropped, s.shadow_min_outcomes, self.tolerances)
        else:
            version = challenger.bundle.version
            pairs = self.backend.shadow_pairs(version)
            dropped = self.backend.shadow_dropped(version)
            report = shadow_report(
                challenger.reference, pairs, dropped, s.shadow_min_outcomes, self.tolerances, self._realized_memo
            )
        overlap = report["top_overlap"]
        self.metrics.shadow_top_overlap.set(math.nan if overlap is None else overlap)
        return report

    def _live(self) -> dict[str, Any]:
        """What this process knows now, not from the log: the champion, the alias, the last failure."""
        champion = self.store.current
        state = self.lane.challenger.state
        return {
            "champion": None if champion is None else champion.reference,
            "designated": state.designated,
            "last_error": state.error or self.lane.last_error,
            "queued": self.lane.queued,
        }
