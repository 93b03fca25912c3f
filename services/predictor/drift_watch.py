"""The served version's drift report, computed from the shared audit log at most every PREDICTOR_DRIFT_SECONDS
(off the prediction path: on /model/drift or a scrape, in a worker thread) and exported as gauges."""

from __future__ import annotations

import threading
import time
from typing import Any

from services.predictor.audit import AuditLog
from services.predictor.audit_backend import AuditStoreError
from services.predictor.drift import DriftReport, drift_report
from services.predictor.metrics import PredictorMetrics
from services.predictor.model_store import ModelStore
from services.predictor.settings import PredictorSettings


class DriftWatch:
    def __init__(
        self, store: ModelStore, audit: AuditLog, metrics: PredictorMetrics, settings: PredictorSettings
    ) -> None:
        self.store, self.audit, self.metrics, self.settings = store, audit, metrics, settings
        self._cached: tuple[float, DriftReport] | None = None
        self._lock = threading.Lock()

    def report(self) -> dict[str, Any] | None:
        """The current report (None when no model is served); AuditStoreError when the log cannot be read."""
        model = self.store.current
        if model is None:
            return None
        with self._lock:
            cached = self._cached
            fresh = cached is not None and time.monotonic() - cached[0] < self.settings.drift_seconds
            if not (fresh and cached is not None and cached[1].model_version == model.bundle.version):
                recent = self.audit.backend.recent(model.bundle.version, self.settings.drift_window)
                report = drift_report(
                    model.bundle.profile,
                    model.bundle.version,
                    recent,
                    self.settings.drift_window,
                    self.settings.drift_min_records,
                )
                self._cached = cached = (time.monotonic(), report)
                self.metrics.show_drift(report)
        return cached[1].as_dict()

    def refresh_quietly(self) -> None:
        """For /metrics: keep the gauges current; a log that cannot be read leaves them as they were."""
        try:
            self.report()
        except AuditStoreError:
            return
