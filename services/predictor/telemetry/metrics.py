"""Every predictor metric, on a registry passed in (multi-process aware through PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from services.predictor.telemetry import metric_buffer

if TYPE_CHECKING:
    from services.predictor.audit.writer import AuditLog
    from services.predictor.health.drift import DriftReport

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class PredictorMetrics:
    """Owns the metric objects; label values are pre-initialised so dashboards see zeros, not gaps."""

    def __init__(self, registry: CollectorRegistry, multiprocess: bool = False) -> None:
        self.registry = registry
        self.multiprocess = multiprocess
        if multiprocess:
            metric_buffer.install()  # before the first metric: each takes its value class when created
        self._predictions_by_version: dict[str, Any] = {}
        self.requests = Counter(
            "churnguard_http_requests_total",
            "HTTP requests answered.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "churnguard_http_request_duration_seconds",
            "Time to answer a request.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.predictions = Counter(
            "churnguard_predictions_total", "Customers scored.", ["model_version"], registry=registry
        )
        self.probability = Histogram(
            "churnguard_churn_probability",
            "Churn probabilities served.",
            buckets=tuple(i / 10 for i in range(1, 11)),
            registry=registry,
        )
        self.validation_failures = Counter(
            "churnguard_validation_failures_total", "Rejected input, by field.", ["field"], registry=registry
        )
        self.out_of_profile = Counter(
            "churnguard_out_of_profile_warnings_total",
            "Accepted values outside the training data profile, by field.",
            ["field"],
            registry=registry,
        )
        self.model_info = Gauge(
            "churnguard_model_info",
            "The served model (value 1).",
            ["name", "version", "run_id"],
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.model_load_seconds = Gauge(
            "churnguard_model_load_seconds",
            "Time the last successful model load took.",
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.reloads = Counter(
            "churnguard_model_reloads_total", "Model reload attempts, by outcome.", ["outcome"], registry=registry
        )
        self.readiness = Gauge(
            "churnguard_readiness_check",
            "1 when the named readiness check passed at its last run.",
            ["check"],
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.model_matches_registry = Gauge(
            "churnguard_model_matches_registry",
            "1 when the served version is the one MODEL_URI designates now.",
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.registry_reachable = Gauge(
            "churnguard_registry_reachable",
            "1 when the registry answered the last check.",
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.audit_pending = Gauge(
            "churnguard_audit_pending_records",
            "Audit records waiting to be written.",
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.audit_oldest_pending = Gauge(
            "churnguard_audit_oldest_pending_seconds",
            "How long the oldest answered record not yet in the audit database has waited (0 when none).",
            registry=registry,
            multiprocess_mode="livemax",
        )
        # Every worker sees the same log and disk: one series, the live workers' max.
        self.audit_bytes = Gauge(
            "churnguard_audit_log_bytes",
            "Size of the audit log (SQLite file and WAL, or the PostgreSQL table).",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.audit_disk_free = Gauge(
            "churnguard_audit_disk_free_bytes",
            "Space the audit log may still use: its SQLite file system, or PostgreSQL's quota; NaN: not watched.",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.audit_disk_size = Gauge(
            "churnguard_audit_disk_size_bytes",
            "Size of that file system, or PREDICTOR_AUDIT_QUOTA_BYTES on PostgreSQL; NaN: not watched.",
            registry=registry,
            multiprocess_mode="livemax",
        )
        # The same window for every worker (it is read from the shared audit log): one series each.
        self.feature_drift = Gauge(
            "churnguard_feature_drift_psi",
            "Population stability index of the recent records against the training profile (NaN: too few).",
            ["feature"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.score_drift = Gauge(
            "churnguard_score_drift_psi",
            "Population stability index of the recent scores against the training scores (NaN: too few).",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.realized = Gauge(
            "churnguard_realized_performance",
            "The serving version's realized figure from outcomes of uncontacted customers (NaN: unknown).",
            ["figure"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.training_figure = Gauge(
            "churnguard_training_performance",
            "The serving version's figure on its training test split.",
            ["figure"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.below_training = Gauge(
            "churnguard_performance_below_training",
            "1 when a realized figure fell below training by PREDICTOR_PERFORMANCE_MARGIN with enough outcomes.",
            ["figure"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.outcomes = Gauge(
            "churnguard_outcomes_not_contacted",
            "Outcomes of uncontacted customers recorded for the serving version.",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self._model_labels: tuple[str, str, str] | None = None

        self.shadow_predictions = Counter(
            "churnguard_shadow_predictions_total",
            "Answered records the challenger scored too (stored beside the answer).",
            registry=registry,
        )
        self.shadow_dropped = Counter(
            "churnguard_shadow_dropped_total",
            "Answered records the challenger did not score, by why (queue full, challenger error, audit down).",
            ["reason"],
            registry=registry,
        )
        # Read from the shared audit log: the same for every worker.
        self.shadow_top_overlap = Gauge(
            "churnguard_shadow_top_overlap",
            "Share of the champion's top 10% the challenger also puts in its top 10% (NaN: no challenger or pairs).",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.shadow_top_overlap.set(math.nan)  # nothing compared yet: never an invented 0

    def show_performance(self, report: dict[str, Any]) -> None:
        entry = report["versions"].get(report["serving_version"] or "")
        now = entry["not_contacted"] if entry else {}
        then = (entry or {}).get("training") or {}
        self.outcomes.set(now.get("outcomes", 0))
        for figure in ("roc_auc", "precision_at_top"):
            self.realized.labels(figure).set(math.nan if now.get(figure) is None else now[figure])
            self.training_figure.labels(figure).set(math.nan if then.get(figure) is None else then[figure])
            self.below_training.labels(figure).set(1 if figure in report["below_training"] else 0)

    def show_drift(self, report: DriftReport) -> None:
        for feature, value in report.features.items():
            self.feature_drift.labels(feature).set(math.nan if value is None else value)
        self.score_drift.set(math.nan if report.score is None else report.score)

    def show_audit(self, audit: AuditLog) -> None:
        """Read at scrape time: cheap (a stat and a statvfs, or one size query)."""
        self.audit_pending.set(audit.pending)
        self.audit_oldest_pending.set(audit.oldest_pending_seconds())
        size = audit.backend.size_bytes()
        if size is not None:
            self.audit_bytes.set(size)
        free, total = audit.backend.disk_usage() or (math.nan, math.nan)  # never an invented 0
        self.audit_disk_free.set(free)
        self.audit_disk_size.set(total)

    def pre_create(
        self,
        routes: Iterable[tuple[str, str]],
        failure_fields: Iterable[str],
        reload_outcomes: Iterable[str],
        readiness_checks: Iterable[str],
    ) -> None:
        """Series that exist before anything happens, from what the app really has (routes, checks)."""
        for route, method in routes:
            self.latency.labels(route, method)
        for field in failure_fields:
            self.validation_failures.labels(field)
        for outcome in reload_outcomes:
            self.reloads.labels(outcome)
        for check in readiness_checks:
            self.readiness.labels(check).set(0)

    def count_validation_failures(self, fields: Iterable[str]) -> None:
        for field in fields:
            self.validation_failures.labels(field).inc()

    def set_model(self, name: str, version: str, run_id: str, load_seconds: float) -> None:
        if self._model_labels is not None:
            # Multi-process gauges live in files that clear() cannot reach (prometheus/client_python#916):
            # mark the replaced model 0, which the exposition drops, then forget it in this process.
            self.model_info.labels(*self._model_labels).set(0)
        self.model_info.clear()
        self._model_labels = (name, version, run_id)
        self.model_info.labels(name, version, run_id).set(1)
        self.model_load_seconds.set(load_seconds)
        self.predictions.labels(version)

    def count_predictions(self, version: str, count: int) -> None:
        child = self._predictions_by_version.get(version)
        if child is None:  # labels() takes a lock and builds a key: once per version, not per request
            child = self._predictions_by_version[version] = self.predictions.labels(version)
        child.inc(count)

    def observe_probabilities(self, values: list[float]) -> None:
        """Histogram update for a whole batch: one increment per bucket instead of one lock per value.

        prometheus-client has no bulk observe; its per-value lock costs ~6 us, more than scoring a
        customer, so for batches we bin locally and add counts to the same series.
        """
        child = self.probability
        buckets = getattr(child, "_buckets", None)
        if buckets is None or len(values) < 32:
            for value in values:
                child.observe(value)
            return
        counts = [0] * len(buckets)
        for value in values:
            counts[bisect.bisect_left(child._upper_bounds, value)] += 1
        for bucket, count in zip(buckets, counts, strict=True):
            if count:
                bucket.inc(count)
        child._sum.inc(sum(values))

    def exposition(self) -> bytes:
        """Text format for /metrics: all workers' values when multi-process, else this registry."""
        if self.multiprocess:
            metric_buffer.flush()  # this worker's counts are current; the others' at most a second behind
            merged = CollectorRegistry()
            merged.register(_WithoutReplacedModels(MultiProcessCollector(None)))
            return generate_latest(merged)
        return generate_latest(self.registry)


class _WithoutReplacedModels:
    """The workers' merged metrics minus `churnguard_model_info` series of models no longer served (0)."""

    def __init__(self, collector: MultiProcessCollector) -> None:
        self.collector = collector

    def collect(self) -> Iterator[Metric]:
        for metric in self.collector.collect():
            if metric.name == "churnguard_model_info":
                metric.samples = [sample for sample in metric.samples if sample.value != 0]
            yield metric
