"""What is being served (and where it came from), audit look-ups, reload, and metrics."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from services.predictor.auth import ApiKeyDep
from services.predictor.deps import ServicesDep, json_response
from services.predictor.errors import ApiError

router = APIRouter(tags=["model"])

RELOAD_STATUS = {"swapped": 200, "unchanged": 200, "refused": 409, "failed": 503}


@router.get("/model", responses={401: {"description": "API key"}, 503: {"description": "no model loaded"}})
async def model_card(services: ServicesDep, _: ApiKeyDep) -> Response:
    """The served model: version, run, training data sha256, metrics, params, code version, load time."""
    model = services.store.current
    if model is None:
        raise ApiError(503, "no_model", f"no model loaded yet: {services.store.last_error or 'loading'}")
    metadata = model.bundle.metadata
    return json_response(
        {
            **model.reference,
            "model_uri": services.settings.model_uri,
            "source": model.source,
            "fast_path": model.scorer is not None,
            "threshold": model.threshold,
            "threshold_rule": metadata.get("threshold_rule"),
            "model_family": metadata.get("model_family"),
            "training_data_sha256": metadata.get("data_sha256"),
            "training_metrics": metadata.get("training_metrics", {}),
            "params": metadata.get("params", {}),
            "code_version": metadata.get("code_version"),
            "loaded_at": model.loaded_at.isoformat(),
            "load_seconds": round(model.load_seconds, 4),
            "last_reload": services.store.last_reload,
            "last_error": services.store.last_error,
        }
    )


@router.get(
    "/predictions/{prediction_id}", responses={401: {"description": "API key"}, 404: {"description": "unknown id"}}
)
async def prediction_record(prediction_id: str, services: ServicesDep, _: ApiKeyDep) -> Response:
    """The audit record of one prediction."""
    record = await run_in_threadpool(services.audit.get, prediction_id)
    if record is None:
        raise ApiError(404, "not_found", f"no prediction {prediction_id!r} in the audit log")
    return json_response(record)


@router.post(
    "/admin/reload", responses={409: {"description": "candidate refused"}, 503: {"description": "registry unreachable"}}
)
async def reload_model(services: ServicesDep, _: ApiKeyDep) -> Response:
    """Load the version MODEL_URI points at now; swap only if it passes its checks."""
    result = await run_in_threadpool(services.store.reload)
    model = services.store.current
    return json_response(
        {"outcome": result.outcome, "detail": result.detail, "serving": None if model is None else model.reference},
        RELOAD_STATUS[result.outcome],
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(services: ServicesDep) -> Response:
    """Prometheus text format."""
    services.metrics.audit_pending.set(services.audit.pending)
    return Response(services.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")
