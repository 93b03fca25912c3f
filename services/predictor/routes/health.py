"""Liveness (the process answers) and readiness (it can really predict, now)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from services.predictor.deps import ServicesDep, json_response

router = APIRouter(tags=["health"])


@router.get("/health/live")
async def live() -> Response:
    """200 while the process can answer, model or not."""
    return json_response({"status": "alive"})


@router.get("/health/ready", responses={503: {"description": "a named check failed"}})
async def ready(services: ServicesDep) -> Response:
    """200 only when a model is loaded, its canary reproduces in time and the audit log is writable."""
    report = services.readiness.report()
    return json_response(report, 200 if report["status"] == "ready" else 503)
