"""OpenAPI for routes that read their own body (for speed) but must document it precisely (Schemathesis)."""

from __future__ import annotations

from typing import Any

from services.common.customer import CustomerRecord
from services.predictor.http.validation import MAX_BATCH

PREDICT_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid API key"},
    413: {"description": "body too large"},
    415: {"description": "not JSON"},
    422: {"description": "invalid record(s): each offending field, index and rule named"},
    503: {"description": "no model loaded, or the audit log cannot record predictions"},
}


def record_schema() -> dict[str, Any]:
    return CustomerRecord.model_json_schema()


def batch_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"customers": {"type": "array", "items": record_schema(), "minItems": 1, "maxItems": MAX_BATCH}},
        "required": ["customers"],
        "additionalProperties": False,
    }


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """openapi_extra for a route that reads its body itself."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
