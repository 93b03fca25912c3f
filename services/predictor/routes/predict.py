"""Scoring routes: one customer, or a batch of up to 10,000 (all-or-nothing validation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.predictor.auth import authenticate
from services.predictor.deps import Services, get_services_now, json_response
from services.predictor.errors import ApiError
from services.predictor.request_body import (
    batch_schema,
    json_body,
    parse_batch,
    parse_record,
    read_json_body,
    record_schema,
)
from services.predictor.scoring import count_validation_failures

router = APIRouter(tags=["predictions"])
T = TypeVar("T")

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid API key"},
    413: {"description": "body too large"},
    415: {"description": "not JSON"},
    422: {"description": "invalid record(s): each offending field, index and rule named"},
    503: {"description": "no model loaded, or the audit log cannot record predictions"},
}


async def _read_valid(request: Request, parse: Callable[[bytes], T]) -> tuple[Services, str | None, T]:
    """Auth, model present, body read and validated (failures counted by field): the common front."""
    services, api_key_id = get_services_now(request), authenticate(request)
    services.predictions.serving_model()
    body = await read_json_body(request, services.settings.max_body_bytes)
    try:
        return services, api_key_id, parse(body)
    except ApiError as error:
        count_validation_failures(services.metrics, error)
        raise


@router.post("/predict", openapi_extra=json_body(record_schema()), responses=ERRORS)
async def predict(request: Request) -> Response:
    """Score one customer; the answer names the model version that produced it."""
    # Hot path: no dependency injection (FastAPI's resolver costs ~20 us per request here).
    services, api_key_id, record = await _read_valid(request, parse_record)
    items, _ = await services.predictions.score([record], api_key_id)
    return json_response(items[0])


@router.post("/predict/batch", openapi_extra=json_body(batch_schema()), responses=ERRORS)
async def predict_batch(request: Request) -> Response:
    """Score 1..10,000 customers; any invalid record rejects the whole batch with every problem named."""
    services, api_key_id, records = await _read_valid(request, parse_batch)
    items, model = await services.predictions.score(records, api_key_id)
    return json_response({"predictions": items, "model": model.reference})
