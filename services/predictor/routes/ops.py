"""For operators: audit look-ups, reload, and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from services.predictor.deps import ServicesDep, json_response
from services.predictor.http.auth import AdminKeyDep
from services.predictor.http.errors import ApiError

router = APIRouter(tags=["ops"])


@router.get(
    "/predictions/{prediction_id}",
    responses={
        401: {"description": "API key"},
        403: {"description": "a scoring key where an admin key is needed"},
        404: {"description": "unknown id"},
        503: {"description": "the audit log cannot be read now"},
    },
)
async def prediction_record(prediction_id: str, services: ServicesDep, _: AdminKeyDep) -> Response:
    """The audit record of one prediction: the validated input, the model version, the answer."""
    record = await run_in_threadpool(services.audit.get, prediction_id)
    if record is None:
        raise ApiError(404, "not_found", f"no prediction {prediction_id!r} in the audit log")
    return json_response(record)


@router.post(
    "/admin/reload", responses={409: {"description": "candidate refused"}, 503: {"description": "registry unreachable"}}
)
async def reload_model(services: ServicesDep, _: AdminKeyDep) -> Response:
    """Load the version MODEL_URI points at now; swap only if it passes its checks."""
    result = await run_in_threadpool(services.store.reload)
    challenger_state = await run_in_threadpool(services.shadow.challenger.reload)
    model, challenger = services.store.current, services.shadow.challenger.current
    return json_response(
        {
            "outcome": result.outcome.value,
            "detail": result.detail,
            "serving": None if model is None else model.reference,
            "challenger": None if challenger is None else challenger.reference,
            "challenger_error": challenger_state.error,
        },
        result.outcome.http_status,
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(services: ServicesDep) -> Response:
    """Prometheus text format."""
    services.metrics.show_audit(services.audit)
    await run_in_threadpool(services.health.refresh_quietly)
    await run_in_threadpool(services.shadow_evidence.refresh_quietly)
    return Response(services.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")
