"""Turn validated customers into traceable answers: score, attach warnings, submit the audit, count."""

from __future__ import annotations

import asyncio
import time
from asyncio import Future
from collections.abc import Sequence
from typing import Any

from msgspec.structs import astuple
from starlette.concurrency import run_in_threadpool

from services.common.customer import ID_FIELD, CustomerRecord
from services.common.frame import Columns
from services.common.ids import new_ids
from services.predictor.audit.writer import AuditBatch, AuditLog
from services.predictor.http.errors import ApiError
from services.predictor.http.validation import Row
from services.predictor.model.store import ModelStore
from services.predictor.scoring.served_model import ServedModel
from services.predictor.shadow.lane import ShadowLane
from services.predictor.telemetry.metrics import PredictorMetrics

NO_WARNINGS: tuple[()] = ()  # shared: most records have none, and orjson writes a tuple as []
FIELD_NAMES = tuple(CustomerRecord.model_fields)  # the order of the rows' fields
Answer = dict[str, Any]


def columns_of(rows: Sequence[Row]) -> Columns:
    """Validated rows as columns, the form every scorer takes."""
    return dict(zip(FIELD_NAMES, zip(*map(astuple, rows), strict=True), strict=True))


class PredictionService:
    """The one place that turns records into traceable predictions."""

    def __init__(
        self,
        store: ModelStore,
        audit: AuditLog,
        metrics: PredictorMetrics,
        shadow: ShadowLane,
    ) -> None:
        self.store, self.audit, self.metrics, self.shadow = store, audit, metrics, shadow

    def serving_model(self) -> ServedModel:
        """The model this request will use from start to finish; 503 when none, or when the audit log can
        write the record neither to the database nor to its spill."""
        model = self.store.current
        if model is None:
            raise ApiError(503, "no_model", f"no model loaded yet: {self.store.last_error or 'loading'}")
        if not self.audit.accepting:
            # Traceability is the contract: no prediction that cannot be audited.
            raise ApiError(503, "audit_unavailable", f"predictions refused: {self.audit.why_refused()}")
        return model

    async def predict(
        self, rows: Sequence[Row], api_key_id: str | None, request_id: str | None = None, reasons: int = 0
    ) -> tuple[list[Answer], ServedModel]:
        """Rows are validated records (see validation.py), scored by column; in durable mode the answers
        return only once their audit records are committed."""
        model = self.serving_model()
        columns = columns_of(rows)
        if model.scorer.inline:
            probabilities = model.probabilities(columns)
        else:
            probabilities = await run_in_threadpool(model.probabilities, columns)
        committed = asyncio.get_running_loop().create_future() if self.audit.durable else None
        answers = self._answers(model, rows, columns, probabilities, api_key_id, request_id, committed)
        if reasons:
            if model.scorer.inline:
                explained = model.reasons(columns, reasons)
            else:
                explained = await run_in_threadpool(model.reasons, columns, reasons)
            for item, why in zip(answers, explained, strict=True):
                item["reasons"] = why
        if committed is not None:
            try:
                await committed  # the audit log times it out after commit_timeout (a timer only when handed over)
            except TimeoutError as error:
                raise ApiError(
                    503,
                    "audit_unavailable",
                    f"the audit record was not committed within {self.audit.commit_timeout:g} s: "
                    f"{self.audit.last_error or 'database slow'}; nothing was answered",
                ) from error
        return answers, model

    def _answers(
        self,
        model: ServedModel,
        rows: Sequence[Row],
        columns: Columns,
        probabilities: list[float],
        api_key_id: str | None,
        request_id: str | None,
        committed: Future[None] | None,
    ) -> list[Answer]:
        reference, threshold = model.reference, model.threshold
        prediction_ids = new_ids(len(probabilities))
        items = [
            {
                "prediction_id": prediction_id,
                "customerID": customer_id,
                "churn_probability": probability,
                "churn": probability >= threshold,
                "threshold": threshold,
                "model": reference,
                "warnings": NO_WARNINGS,
                "warning_details": NO_WARNINGS,
            }
            for prediction_id, customer_id, probability in zip(
                prediction_ids, columns[ID_FIELD], probabilities, strict=True
            )
        ]
        flagged: dict[int, list[str]] = {}
        for index, warnings in model.profile_warnings(columns).items():
            items[index]["warnings"] = flagged[index] = [warning.field for warning in warnings]
            items[index]["warning_details"] = [warning.as_dict() for warning in warnings]
            for warning in warnings:
                self.metrics.out_of_profile.labels(warning.field).inc()
        batch = AuditBatch(
            time.time(),
            reference["name"],
            reference["version"],
            reference["run_id"],
            api_key_id,
            threshold,
            prediction_ids,
            probabilities,
            rows,
            flagged,
            request_id,
            committed,
        )
        self.audit.submit(batch)  # AuditBacklog: the request path answers 503 (http/errors.py)
        self.shadow.offer(prediction_ids, columns)  # the challenger's turn comes later, on its own thread
        self.metrics.observe_probabilities(probabilities)
        self.metrics.count_predictions(reference["version"], len(items))
        return items
