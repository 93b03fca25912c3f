"""create_app(settings): wire the predictor's services and routes; load the model in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI
from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp

from services.predictor.audit.backend import open_backend
from services.predictor.audit.spill import Spill
from services.predictor.audit.writer import AuditLog
from services.predictor.deps import Services
from services.predictor.health.model_health import ModelHealth
from services.predictor.health.readiness import CHECKS, Readiness
from services.predictor.http.auth import ApiKeyGuard
from services.predictor.http.body import BodyLimits
from services.predictor.http.errors import install_error_handlers
from services.predictor.http.hot_routes import HotRoutes, hot_routes
from services.predictor.http.request_context import RequestContextMiddleware, RouteLabels
from services.predictor.http.validation import FAILURE_FIELDS
from services.predictor.model.keeper import keep_model_fresh
from services.predictor.model.store import ModelStore, ReloadOutcome
from services.predictor.routes import health, model, ops, outcomes, predict, weekly_list_page
from services.predictor.scoring.predictions import PredictionService
from services.predictor.settings import PredictorSettings
from services.predictor.shadow.challenger import ChallengerStore
from services.predictor.shadow.evidence import ShadowEvidence
from services.predictor.shadow.lane import ShadowLane
from services.predictor.telemetry import metric_buffer
from services.predictor.telemetry.metrics import PredictorMetrics

log = logging.getLogger(__name__)


class PredictorAPI(FastAPI):
    """FastAPI with the request context (id, 413, metrics) and the scoring routes as its outermost
    layers: a prediction skips the error, telemetry and body-limit layers FastAPI puts first (each a
    call and a wrapped `send`), every other request passes through them as before."""

    outer_layers: Callable[[ASGIApp], ASGIApp] | None = None

    def build_middleware_stack(self) -> ASGIApp:
        inner = super().build_middleware_stack()
        return inner if self.outer_layers is None else self.outer_layers(inner)


def create_app(settings: PredictorSettings, registry: CollectorRegistry | None = None) -> FastAPI:
    """A fully wired app; nothing loads until the lifespan starts."""
    metrics = PredictorMetrics(
        registry or CollectorRegistry(), multiprocess=settings.prometheus_multiproc_dir is not None
    )
    store = ModelStore(settings, metrics)
    if settings.audit_db is not None and not settings.audit_url:
        log.warning("PREDICTOR_AUDIT_DB is deprecated: set PREDICTOR_AUDIT_URL=sqlite:///%s instead", settings.audit_db)
    audit = AuditLog(
        open_backend(settings.audit_location, settings.audit_power_safe, settings.audit_quota_bytes),
        flush_seconds=settings.audit_flush_seconds,
        durable=settings.audit_durable,
        max_pending=settings.audit_max_pending,
        retention_days=settings.audit_retention_days,
        spill=Spill(settings.audit_spill_location, settings.audit_spill_max_bytes, settings.audit_power_safe),
        commit_timeout=settings.audit_commit_timeout_seconds,
    )
    shadow = ShadowLane(ChallengerStore(settings, store.name), audit.backend, metrics, settings.shadow_queue)
    services = Services(
        settings=settings,
        metrics=metrics,
        store=store,
        audit=audit,
        predictions=PredictionService(store, audit, metrics, shadow),
        readiness=Readiness(store, audit, metrics, settings),
        health=ModelHealth(store, audit, metrics, settings),
        shadow=shadow,
        shadow_evidence=ShadowEvidence(shadow, store, audit.backend, metrics, settings),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        audit.open()
        unwatched = audit.backend.disk_unwatched()
        if unwatched:
            log.warning(unwatched)
        shadow.start()
        tasks = [asyncio.create_task(keep_model_fresh(store, shadow.challenger, settings), name="model-keeper")]
        if metrics.multiprocess:
            tasks.append(asyncio.create_task(metric_buffer.flush_periodically(), name="metric-flusher"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            shadow.stop()  # what the challenger has scored is stored while the log is still open
            audit.close()  # flush: no accepted prediction is lost on a clean shutdown
            if metrics.multiprocess:
                metric_buffer.flush()  # and no counted request

    app = PredictorAPI(
        title="churnguard predictor",
        version="1.0",
        description="Churn probabilities for the retention team, validated, traceable and observable.",
        lifespan=lifespan,
        # Metrics are Prometheus (/metrics); FastAPI's OpenTelemetry hooks would only cost ~13 us a
        # request checking for providers nobody configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.services = services
    app.state.guard = ApiKeyGuard(
        [key.get_secret_value() for key in settings.api_keys], [key.get_secret_value() for key in settings.admin_keys]
    )
    install_error_handlers(app)
    routers = [module.router for module in (predict, model, ops, outcomes, health, weekly_list_page)]
    for router in routers:
        app.include_router(router)  # no prefixes: each route's path is the one served
    routes = [route for router in routers for route in router.routes if isinstance(route, APIRoute)]
    metrics.pre_create(
        routes=[(route.path, method) for route in routes for method in sorted(route.methods or ())],
        failure_fields=(*FAILURE_FIELDS, "unknown_field"),
        reload_outcomes=[outcome.value for outcome in ReloadOutcome],
        readiness_checks=CHECKS,
    )
    app.outer_layers = lambda inner: RequestContextMiddleware(
        HotRoutes(inner, routes=hot_routes(predict.router)),
        metrics=metrics,
        body_limits=BodyLimits(settings.max_body_bytes, {"/weekly-list": settings.weekly_list_max_upload_bytes}),
        route_labels=RouteLabels((route.path, route.path_regex) for route in routes),
    )
    return app


def app_from_environment() -> FastAPI:
    """uvicorn factory for `churnguard serve` (each worker builds its own app from the environment)."""
    from services.common.logs import configure_logging

    settings = PredictorSettings()
    configure_logging(settings.log_level)
    return create_app(settings)
