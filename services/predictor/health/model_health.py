"""Is the served model still good: drift (recent inputs against training) and realized performance
(outcomes against answers), both read from the shared audit log, so every worker and replica reports the
same. Computed off the prediction path (on their routes or a scrape, in a worker thread), reused for
PREDICTOR_DRIFT_SECONDS, and exported as gauges."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from services.predictor.audit.backend import AuditStoreError
from services.predictor.audit.writer import AuditLog
from services.predictor.health.drift import drift_report
from services.predictor.health.performance import performance_report
from services.predictor.model.registry_lookup import RegistryError, version_training_metrics
from services.predictor.model.store import ModelStore
from services.predictor.settings import PredictorSettings
from services.predictor.telemetry.metrics import PredictorMetrics


class ModelHealth:
    def __init__(
        self, store: ModelStore, audit: AuditLog, metrics: PredictorMetrics, settings: PredictorSettings
    ) -> None:
        self.store, self.audit, self.metrics, self.settings = store, audit, metrics, settings
        self._cache: dict[str, tuple[float, str, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._training: dict[str, dict[str, float]] = {}  # version -> its training run's metrics

    def drift(self) -> dict[str, Any] | None:
        """None when no model is served; AuditStoreError when the log cannot be read."""
        return self._cached("drift", self._compute_drift)

    def performance(self) -> dict[str, Any] | None:
        return self._cached("performance", self._compute_performance)

    def refresh_quietly(self) -> None:
        """For /metrics: keep the gauges current; a log that cannot be read leaves them as they were."""
        for compute in (self.drift, self.performance):
            try:
                compute()
            except AuditStoreError:
                continue

    def _cached(self, name: str, compute: Callable[[str], dict[str, Any]]) -> dict[str, Any] | None:
        model = self.store.current
        if model is None:
            return None
        version = model.bundle.version
        with self._lock:
            hit = self._cache.get(name)
            if hit is None or hit[1] != version or time.monotonic() - hit[0] >= self.settings.drift_seconds:
                hit = self._cache[name] = (time.monotonic(), version, compute(version))
            return hit[2]

    def _compute_drift(self, version: str) -> dict[str, Any]:
        model = self.store.current
        assert model is not None
        s = self.settings
        report = drift_report(
            model.bundle.profile,
            version,
            self.audit.backend.recent(version, s.drift_window),
            s.drift_window,
            s.drift_min_records,
        )
        self.metrics.show_drift(report)
        return report.as_dict()

    def _compute_performance(self, version: str) -> dict[str, Any]:
        model = self.store.current
        assert model is not None
        report = performance_report(
            self.audit.backend.outcomes(),
            version,
            model.bundle.metadata.training_metrics,
            self.settings.performance_margin,
            self.settings.performance_min_outcomes,
            self._training_of,
        )
        self.metrics.show_performance(report)
        return report

    def _training_of(self, version: str) -> dict[str, float] | None:
        """Another version's own training figures, from its run in the registry; kept once read (a run's
        metrics never change). None while the registry cannot say."""
        if version not in self._training:
            s = self.settings
            try:
                self._training[version] = version_training_metrics(
                    s.mlflow_tracking_uri, self.store.name, version, s.tracker_timeout_seconds
                )
            except RegistryError:
                return None
        return self._training[version]

    def forget(self, name: str) -> None:
        """New outcomes: the next read recomputes."""
        with self._lock:
            self._cache.pop(name, None)
