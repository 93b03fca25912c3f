"""What happened to scored customers, and what that says about the model: POST /outcomes records it,
GET /model/performance compares it with the training figures per model version."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from services.predictor.deps import ServicesDep, json_response
from services.predictor.http.auth import AdminKeyDep, ApiKeyDep
from services.predictor.http.errors import ApiError, invalid_input

router = APIRouter(tags=["model health"])
SHOWN_UNKNOWN = 100


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prediction_id: str = Field(min_length=1, max_length=64)
    churned: StrictBool
    contacted: StrictBool | None = Field(None, description="did the retention team call (a call changes the outcome)")


class OutcomesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcomes: list[OutcomeIn] = Field(min_length=1, max_length=10_000)


@router.post(
    "/outcomes",
    responses={
        401: {"description": "API key"},
        403: {"description": "a scoring key where an admin key is needed"},
        422: {"description": "invalid body, or prediction ids not in the audit log (named)"},
        503: {"description": "the audit log cannot be written now"},
    },
)
async def record_outcomes(body: OutcomesIn, services: ServicesDep, _: AdminKeyDep) -> Response:
    """Record what happened to 1..10,000 scored customers; all or nothing."""
    ids = [outcome.prediction_id for outcome in body.outcomes]
    # AuditStoreError: the one 503 of http/errors.py
    await run_in_threadpool(services.audit.flush)  # predictions answered a moment ago are known too
    known = await run_in_threadpool(services.audit.backend.known, ids)
    unknown = [(index, pid) for index, pid in enumerate(ids) if pid not in known]
    if unknown:
        detail = [
            {
                "loc": ["body", "outcomes", index, "prediction_id"],
                "field": "prediction_id",
                "index": index,
                "rule": "unknown_prediction",
                "msg": "no such prediction in the audit log",
                "input": pid,
            }
            for index, pid in unknown[:SHOWN_UNKNOWN]
        ]
        names = ", ".join(pid for _, pid in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise invalid_input(f"{len(unknown)} unknown prediction ids: {names}", detail)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rows = [(o.prediction_id, o.churned, o.contacted, now) for o in body.outcomes]
    await run_in_threadpool(services.audit.backend.record_outcomes, rows)
    services.health.forget("performance")
    services.shadow_evidence.forget()
    return json_response({"recorded": len(rows)})


@router.get(
    "/model/performance",
    responses={401: {"description": "API key"}, 503: {"description": "no model, or the audit log cannot be read"}},
)
async def model_performance(services: ServicesDep, _: ApiKeyDep) -> Response:
    """Per model version: outcomes counted and realized figures, for all and for the uncontacted, beside the
    serving version's training test figures; `below_training` names any that fell past the margin."""
    report = await run_in_threadpool(services.health.performance)
    if report is None:
        raise ApiError(503, "no_model", f"no model loaded yet: {services.store.last_error or 'loading'}")
    return json_response(report)
