"""Readiness that tells the truth: model loaded, canary reproduces in time, audit log writable.

To add a readiness check: a method returning a `CheckResult`, named in `CHECKS` (the metrics
pre-create one series per name), and a test that breaks the thing and sees the check fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from services.common.model_bundle import canary_problem
from services.predictor.audit.writer import AuditLog
from services.predictor.model.store import ModelStore
from services.predictor.settings import PredictorSettings
from services.predictor.telemetry.metrics import PredictorMetrics

CheckResult = dict[str, Any]  # {"ok": bool, "detail": str, ...}
CHECKS = ("model_loaded", "canary", "audit_log")


class Readiness:
    """Runs the named checks on their own path (not behind user requests); caches the verdict briefly."""

    def __init__(
        self, store: ModelStore, audit: AuditLog, metrics: PredictorMetrics, settings: PredictorSettings
    ) -> None:
        self.store, self.audit, self.metrics, self.settings = store, audit, metrics, settings
        self._cached: tuple[float, object, dict[str, Any]] | None = None
        checks = {"model_loaded": self._model_loaded, "canary": self._canary, "audit_log": self._audit_log}
        self._checks: dict[str, Callable[[], CheckResult]] = {name: checks[name] for name in CHECKS}

    def report(self) -> dict[str, Any]:
        """A "ready" verdict is reused for a few seconds for the same model; "not ready" never is."""
        now = time.monotonic()
        if (
            self._cached is not None
            and now - self._cached[0] < self.settings.ready_cache_seconds
            and self._cached[1] is self.store.current
        ):
            return self._cached[2]
        checks = {name: check() for name, check in self._checks.items()}
        for name, check in checks.items():
            self.metrics.readiness.labels(name).set(1 if check["ok"] else 0)
        failing = [name for name, check in checks.items() if not check["ok"]]
        report = {"status": "not_ready" if failing else "ready", "failing": failing, "checks": checks}
        self._cached = None if failing else (now, self.store.current, report)
        return report

    def _model_loaded(self) -> CheckResult:
        model = self.store.current
        if model is None:
            return {"ok": False, "detail": f"no model loaded: {self.store.last_error or 'loading'}"}
        return {"ok": True, "detail": f"{model.bundle.name} version {model.bundle.version}", "source": model.source}

    def _canary(self) -> CheckResult:
        model = self.store.current
        if model is None:
            return {"ok": False, "detail": "no model to run the canary on"}
        started = time.perf_counter()
        try:
            actual = model.probabilities(model.bundle.canary_columns)[0]
        except Exception as error:  # noqa: BLE001 - a model that raises is exactly what this check reports
            return {"ok": False, "detail": f"canary prediction failed: {type(error).__name__}: {error}"}
        elapsed = time.perf_counter() - started
        problem = canary_problem(model.bundle.canary_expected, actual)
        if problem is not None:
            return {"ok": False, "detail": problem}
        if elapsed > self.settings.canary_budget_seconds:
            return {
                "ok": False,
                "detail": f"canary took {elapsed:.3f} s, budget {self.settings.canary_budget_seconds} s",
            }
        return {"ok": True, "detail": f"probability {actual:.6f} in {elapsed * 1000:.2f} ms"}

    def _audit_log(self) -> CheckResult:
        """Ready while every answer can be recorded: in the database, or else in the spill (AuditBacklog then
        pages within minutes). Not ready once neither can take a record."""
        failure = self.audit.check_writable()
        spill = self.audit.spill
        result: CheckResult = {"ok": True, "detail": self.audit.description, "pending": self.audit.pending}
        if failure is not None:
            spill_failure = spill.check_writable()
            room = f"{spill.size_bytes()} of {spill.max_bytes} bytes used"
            if spill_failure is not None:
                spilling = f"and {spill_failure}"
            elif spill.has_room:
                spilling = f"answers are spilled to {spill.directory} ({room})"
            else:
                spilling = f"spill full ({room})"
            result["ok"] = self.audit.accepting
            result["detail"] = f"audit log {self.audit.description}: {failure}; {spilling}"
        if spill.records:
            result["spilled"] = spill.records
        return result
