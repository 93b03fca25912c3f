"""Read and validate request bodies with the shared schema; turn pydantic errors into field + rule lists."""

from __future__ import annotations

import logging
from typing import Annotated, Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import ClientDisconnect

from services.common.customer import CustomerRecord
from services.predictor.errors import ApiError
from services.predictor.fast_decoding import FastDecoder

log = logging.getLogger(__name__)
Model = TypeVar("Model", bound=BaseModel)

MAX_BATCH = 10_000


class BatchRequest(BaseModel):
    """`{"customers": [record, ...]}` with 1..10,000 records."""

    model_config = ConfigDict(extra="forbid", strict=True)
    customers: Annotated[list[CustomerRecord], Field(min_length=1, max_length=MAX_BATCH)]


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def read_json_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing non-JSON (415) and anything over `limit` bytes (413) without reading it all."""
    headers = request.headers
    if not _is_json(headers.get("content-type", "")):
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "body_too_large", f"request body over the {limit}-byte limit")
    # ASGI messages read directly: Request.stream() adds an async generator step per chunk.
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "body_too_large", f"request body over the {limit}-byte limit")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


RECORD_DECODER = FastDecoder(CustomerRecord)
BATCH_DECODER = FastDecoder(BatchRequest)


def parse_record(body: bytes) -> Any:
    """One valid record as a row (fields as attributes), or a 422 naming every problem."""
    row = RECORD_DECODER.decode(body)
    return row if row is not None else _as_rows([_validate(CustomerRecord, body)])[0]


def parse_batch(body: bytes) -> list[Any]:
    """All records as rows, or a 422 naming each bad record's index and field."""
    batch = BATCH_DECODER.decode(body)
    if batch is not None:
        rows: list[Any] = batch.customers
        return rows
    return _as_rows(_validate(BatchRequest, body).customers)


def _validate(model: type[Model], body: bytes) -> Model:
    """Pydantic, the authority: its errors become the 422."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise invalid(error) from None


def _as_rows(records: list[CustomerRecord]) -> list[Any]:
    """Records pydantic accepts but the fast path refused (the property tests find none): serve them."""
    log.warning("fast decoding refused a body pydantic accepts", extra={"records": len(records)})
    return [RECORD_DECODER.row_type(**dict(record)) for record in records]


def invalid(error: ValidationError) -> ApiError:
    """422 naming every offending field (and record index in a batch) and the rule it broke."""
    detail = [_describe(e) for e in error.errors(include_url=False)]
    fields = sorted({d["field"] for d in detail})
    return ApiError(422, "validation_error", f"invalid input: {', '.join(fields)}", detail)


def _describe(error: Any) -> dict[str, Any]:
    loc = list(error["loc"])
    entry: dict[str, Any] = {"loc": loc, "rule": error["type"], "msg": error["msg"]}
    if loc[:1] == ["customers"] and len(loc) >= 2 and isinstance(loc[1], int):
        entry["index"] = loc[1]
        loc = loc[2:]
    context_fields = (error.get("ctx") or {}).get("fields")
    if context_fields:
        entry["field"], entry["fields"] = context_fields[0], list(context_fields)
    elif loc:
        entry["field"] = str(loc[-1])
    else:
        entry["field"] = "record" if "index" in entry else "body"
    value = error.get("input")
    if (
        error["type"] != "missing"
        and isinstance(value, str | int | float | bool)
        and entry["field"] not in ("body", "record")
    ):
        entry["input"] = value[:100] if isinstance(value, str) else value
    return entry


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
    """openapi_extra for a route that reads its body itself (for speed) but documents it precisely."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
