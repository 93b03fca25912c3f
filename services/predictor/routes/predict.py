"""Scoring routes for the retention team: one customer, or a batch of up to 10,000 (all-or-nothing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.predictor.deps import Services, get_services_now, json_response
from services.predictor.http.auth import authenticate
from services.predictor.http.body import read_json_body
from services.predictor.http.errors import ApiError, invalid_input, request_id_of
from services.predictor.http.openapi import PREDICT_ERRORS, batch_schema, json_body, record_schema
from services.predictor.http.validation import failure_fields, parse_batch, parse_record
from services.predictor.scoring.reasons import MAX_REASONS

router = APIRouter(tags=["predictions"])
T = TypeVar("T")


async def _read_valid(request: Request, parse: Callable[[bytes], T]) -> tuple[Services, str | None, T]:
    """Auth, model present, body read and validated (failures counted by field): the common front."""
    services, api_key_id = get_services_now(request), authenticate(request)
    services.predictions.serving_model()
    body = await read_json_body(request)
    try:
        return services, api_key_id, parse(body)
    except ApiError as error:
        services.metrics.count_validation_failures(failure_fields(error))
        raise


def reasons_wanted(request: Request) -> int:
    """`?reasons=N` (0..10): each answer gains the N factors raising that customer's risk most."""
    if not request.scope["query_string"]:
        return 0  # the usual request: parsing an empty query string costs ~2 us
    raw = request.query_params.get("reasons")
    if raw is None:
        return 0
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_REASONS:  # '²'.isdigit() is true
        rule = {"loc": ["query", "reasons"], "field": "reasons", "rule": "range", "input": raw}
        message = f"reasons must be a whole number from 0 to {MAX_REASONS}"
        raise invalid_input(f"invalid input: {message}", [{**rule, "msg": message}])
    return int(raw)


REASONS_PARAMETER = {
    "parameters": [
        {
            "name": "reasons",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_REASONS, "default": 0},
            "description": "each answer gains up to this many `reasons`: the factors raising the risk most",
        }
    ]
}


@router.post("/predict", openapi_extra={**json_body(record_schema()), **REASONS_PARAMETER}, responses=PREDICT_ERRORS)
async def predict(request: Request) -> Response:
    """Score one customer; the answer names the model version that produced it."""
    # Hot path: no dependency injection (FastAPI's resolver costs ~20 us per request here).
    reasons = reasons_wanted(request)
    services, api_key_id, row = await _read_valid(request, parse_record)
    answers, _ = await services.predictions.predict([row], api_key_id, request_id_of(request), reasons)
    return json_response(answers[0])


@router.post(
    "/predict/batch", openapi_extra={**json_body(batch_schema()), **REASONS_PARAMETER}, responses=PREDICT_ERRORS
)
async def predict_batch(request: Request) -> Response:
    """Score 1..10,000 customers; any invalid record rejects the whole batch with every problem named."""
    reasons = reasons_wanted(request)
    services, api_key_id, rows = await _read_valid(request, parse_batch)
    answers, model = await services.predictions.predict(rows, api_key_id, request_id_of(request), reasons)
    return json_response({"predictions": answers, "model": model.reference})
