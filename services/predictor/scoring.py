"""Score validated customers with the current model, audit every prediction, count what happened."""

from __future__ import annotations

from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

from orjson import OPT_SORT_KEYS as SORT_KEYS
from orjson import dumps
from starlette.concurrency import run_in_threadpool

from services.common.customer import ID_FIELD, CustomerRecord
from services.common.ids import new_ids
from services.predictor.audit import AuditLog, AuditRecord
from services.predictor.errors import ApiError
from services.predictor.metrics import PredictorMetrics
from services.predictor.model_store import ModelStore
from services.predictor.served_model import ServedModel

NO_WARNINGS: tuple[()] = ()  # shared: most records have none, and orjson writes a tuple as []


class PredictionService:
    """The one place that turns records into traceable predictions."""

    def __init__(self, store: ModelStore, audit: AuditLog, metrics: PredictorMetrics) -> None:
        self.store, self.audit, self.metrics = store, audit, metrics

    def serving_model(self) -> ServedModel:
        """The model this request will use from start to finish; 503 when none or when unauditable."""
        model = self.store.current
        if model is None:
            raise ApiError(503, "no_model", f"no model loaded yet: {self.store.last_error or 'loading'}")
        if not self.audit.healthy:
            # Traceability is the contract: no prediction that cannot be audited.
            raise ApiError(503, "audit_unavailable", f"predictions refused: {self.audit.last_error}")
        return model

    async def score(
        self, records: list[CustomerRecord], api_key_id: str | None
    ) -> tuple[list[dict[str, Any]], ServedModel]:
        model = self.serving_model()
        values = [record.__dict__ for record in records]  # pydantic keeps validated fields in __dict__
        if model.scorer is not None:
            probabilities = model.probabilities(values)
        else:
            probabilities = await run_in_threadpool(model.probabilities, values)
        return self._finish(model, values, probabilities, api_key_id), model

    def _finish(
        self, model: ServedModel, values: list[dict[str, Any]], probabilities: list[float], api_key_id: str | None
    ) -> list[dict[str, Any]]:
        reference, threshold = model.reference, model.threshold
        name, version, run_id = reference["name"], reference["version"], reference["run_id"]
        created_at = datetime.now(UTC).isoformat(timespec="microseconds")
        items: list[dict[str, Any]] = []
        audit_records: list[AuditRecord] = []
        warn = model.profile_warnings
        out_of_profile = self.metrics.out_of_profile
        for record, probability, prediction_id in zip(values, probabilities, new_ids(len(values)), strict=True):
            churn = probability >= threshold
            warnings = warn(record)
            for warning in warnings:
                out_of_profile.labels(warning.field).inc()
            customer_id = record[ID_FIELD]
            items.append(
                {
                    "prediction_id": prediction_id,
                    "customerID": customer_id,
                    "churn_probability": probability,
                    "churn": churn,
                    "threshold": threshold,
                    "model": reference,
                    "warnings": [w.field for w in warnings] if warnings else NO_WARNINGS,
                    "warning_details": [w.as_dict() for w in warnings] if warnings else NO_WARNINGS,
                }
            )
            digest = sha256(dumps(record, option=SORT_KEYS)).hexdigest()
            audit_records.append(
                AuditRecord(
                    prediction_id,
                    created_at,
                    customer_id,
                    name,
                    version,
                    run_id,
                    digest,
                    probability,
                    churn,
                    api_key_id,
                )
            )
        self.audit.submit(audit_records)
        self.metrics.observe_probabilities(probabilities)
        self.metrics.predictions.labels(version).inc(len(items))
        return items


def count_validation_failures(metrics: PredictorMetrics, error: ApiError) -> None:
    """Validation failures by field (unknown extra fields share one label to bound cardinality)."""
    known = set(CustomerRecord.model_fields) | {"body", "record", "customers"}
    for entry in error.detail:
        field = entry.get("field", "body")
        metrics.validation_failures.labels(field if field in known else "unknown_field").inc()
