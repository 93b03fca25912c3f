"""For the data team and ops: what is being served and where it came from."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from services.predictor.audit.backend import AuditBackend, AuditStoreError
from services.predictor.deps import Services, ServicesDep, json_response
from services.predictor.http.auth import ApiKeyDep
from services.predictor.http.errors import ApiError

router = APIRouter(tags=["model"])


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
            "fast_path": model.fast_path,
            "scorer": model.scorer.name,
            "threshold": model.threshold,
            "threshold_rule": metadata.threshold_rule,
            "model_family": metadata.model_family,
            "training_data_sha256": metadata.data_sha256,
            "training_metrics": metadata.training_metrics,
            "params": metadata.params,
            "code_version": metadata.code_version,
            "loaded_at": model.loaded_at.isoformat(),
            "load_seconds": round(model.load_seconds, 4),
            "last_reload": services.store.last_reload,
            "last_error": services.store.last_error,
            "registry": services.store.registry.as_dict(),
            "audit_disk": _audit_disk(services.audit.backend),
            "challenger": _challenger(services),
        }
    )


@router.get(
    "/model/drift",
    responses={
        401: {"description": "API key"},
        503: {"description": "no model loaded, or the audit log cannot be read"},
    },
)
async def model_drift(services: ServicesDep, _: ApiKeyDep) -> Response:
    """PSI of the last PREDICTOR_DRIFT_WINDOW scored records of the served version, per feature and for the
    score, against its training profile; null below PREDICTOR_DRIFT_MIN_RECORDS."""
    report = await run_in_threadpool(services.health.drift)
    if report is None:
        raise ApiError(503, "no_model", f"no model loaded yet: {services.store.last_error or 'loading'}")
    return json_response(report)


@router.get(
    "/model/shadow",
    responses={401: {"description": "API key"}, 503: {"description": "the audit log cannot be read"}},
)
async def model_shadow(services: ServicesDep, _: ApiKeyDep) -> Response:
    """The challenger (`churnguard shadow`) against the champion on the same answered customers: how many
    are paired and dropped, how far their scores and call lists differ, and once outcomes are in, both
    models' realized ROC-AUC and top-10% precision with paired bootstrap intervals and a verdict."""
    try:
        report = await run_in_threadpool(services.shadow_evidence.report)
    except AuditStoreError as error:
        raise ApiError(503, "audit_unavailable", f"the shadow comparison cannot be read: {error}") from error
    return json_response(report)


def _challenger(services: Services) -> dict[str, str] | None:
    """The version the shadow lane scores with, if any."""
    challenger = services.shadow.challenger.current
    return None if challenger is None else challenger.reference


def _audit_disk(backend: AuditBackend) -> dict[str, object]:
    """Whether AuditDiskFilling can fire for this log, and if not, why."""
    reason = backend.disk_unwatched()
    return {"watched": reason is None, "reason": reason}
