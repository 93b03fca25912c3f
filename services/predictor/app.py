"""create_app(settings): wire the predictor's services and routes; load the model in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.predictor.audit import AuditLog
from services.predictor.auth import ApiKeyGuard
from services.predictor.deps import Services
from services.predictor.errors import install_error_handlers
from services.predictor.metrics import PredictorMetrics
from services.predictor.middleware import RequestContextMiddleware
from services.predictor.model_store import ModelStore
from services.predictor.readiness import Readiness
from services.predictor.routes import health, model, predict
from services.predictor.scoring import PredictionService
from services.predictor.settings import PredictorSettings

log = logging.getLogger(__name__)


def create_app(settings: PredictorSettings, registry: CollectorRegistry | None = None) -> FastAPI:
    """A fully wired app; nothing loads until the lifespan starts."""
    metrics = PredictorMetrics(
        registry or CollectorRegistry(), multiprocess=settings.prometheus_multiproc_dir is not None
    )
    store = ModelStore(settings, metrics)
    audit = AuditLog(settings.audit_db, settings.audit_flush_seconds)
    services = Services(
        settings=settings,
        metrics=metrics,
        store=store,
        audit=audit,
        predictions=PredictionService(store, audit, metrics),
        readiness=Readiness(store, audit, metrics, settings),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        audit.open()
        keeper = asyncio.create_task(keep_model_fresh(store, settings), name="model-keeper")
        try:
            yield
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            audit.close()  # flush: no accepted prediction is lost on a clean shutdown

    app = FastAPI(
        title="churnguard predictor",
        version="1.0",
        description="Churn probabilities for the retention team, validated, traceable and observable.",
        lifespan=lifespan,
        # Metrics are Prometheus (/metrics); FastAPI's OpenTelemetry hooks would only cost ~13 us a
        # request checking for providers nobody configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.services = services
    app.state.guard = ApiKeyGuard([key.get_secret_value() for key in settings.api_keys])
    install_error_handlers(app)
    for module in (predict, model, health):
        app.include_router(module.router)
    app.add_middleware(
        RequestContextMiddleware,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        hot_routes={"/predict": predict.predict, "/predict/batch": predict.predict_batch},
    )
    return app


async def keep_model_fresh(store: ModelStore, settings: PredictorSettings) -> None:
    """First load, then: retry while there is no model; poll the alias when configured. Never dies."""
    # The MLflow client otherwise retries a dead tracker for minutes; fail fast and retry here instead.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(settings.tracker_timeout_seconds))
    delay = 0.0
    while True:
        await asyncio.sleep(delay)
        try:
            if store.current is None:
                await asyncio.to_thread(store.load_initial)
                if store.current is not None:
                    # Move the long-lived heap (sklearn, pandas, the model) out of the collector's
                    # reach: full collections would otherwise rescan it under load (p99 spikes).
                    gc.freeze()
            elif settings.poll_seconds > 0:
                await asyncio.to_thread(store.reload)
        except Exception:  # noqa: BLE001 - a dead keeper would silently stop retries and polling
            log.exception("model keeper iteration failed; retrying")
        delay = settings.retry_seconds if store.current is None or settings.poll_seconds <= 0 else settings.poll_seconds


def app_from_environment() -> FastAPI:
    """uvicorn factory for `churnguard serve` (each worker builds its own app from the environment)."""
    from services.common.logs import configure_logging

    settings = PredictorSettings()
    configure_logging(settings.log_level)
    return create_app(settings)
