"""Validate request bodies with the shared schema: fast acceptance, pydantic's judgement, the 422.

Valid bodies are accepted by the decoder derived from the schema (`derived_decoder.py`); anything it
does not accept goes to pydantic, the authority, whose errors become a 422 naming field, index, rule.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from msgspec import Struct
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.common.customer import CustomerRecord
from services.predictor.http.derived_decoder import DerivedDecoder
from services.predictor.http.errors import ApiError, invalid_input

log = logging.getLogger(__name__)
Model = TypeVar("Model", bound=BaseModel)

MAX_BATCH = 10_000
# A validated customer: a frozen msgspec Struct with CustomerRecord's fields as attributes.
Row = Struct
# Labels for refused input by field; unknown extra fields share one label to bound cardinality.
FAILURE_FIELDS = ("body", "record", "customers", *CustomerRecord.model_fields)


class BatchRequest(BaseModel):
    """`{"customers": [record, ...]}` with 1..10,000 records."""

    model_config = ConfigDict(extra="forbid", strict=True)
    customers: Annotated[list[CustomerRecord], Field(min_length=1, max_length=MAX_BATCH)]


RECORD_DECODER = DerivedDecoder(CustomerRecord)
BATCH_DECODER = DerivedDecoder(BatchRequest)


def parse_record(body: bytes) -> Row:
    """One valid record as a row, or a 422 naming every problem."""
    row = RECORD_DECODER.decode(body)
    return row if row is not None else _as_rows([_validate(CustomerRecord, body)])[0]


def parse_batch(body: bytes) -> Sequence[Row]:
    """All records as rows, or a 422 naming each bad record's index and field."""
    batch = BATCH_DECODER.decode(body)
    if batch is not None:
        rows: list[Row] = batch.customers
        return rows
    return _as_rows(_validate(BatchRequest, body).customers)


def failure_fields(error: ApiError) -> list[str]:
    """The metric label of each problem in a 422 (unknown extra fields share `unknown_field`)."""
    known = set(FAILURE_FIELDS)
    fields = (entry.get("field", "body") for entry in error.detail)
    return [field if field in known else "unknown_field" for field in fields]


def _validate(model: type[Model], body: bytes) -> Model:
    """Pydantic, the authority: its errors become the 422."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise invalid(error) from None


def _as_rows(records: list[CustomerRecord]) -> list[Row]:
    """Records pydantic accepts but the fast path refused (the property tests find none): serve them."""
    log.warning("fast decoding refused a body pydantic accepts", extra={"records": len(records)})
    return [RECORD_DECODER.row_type(**dict(record)) for record in records]


def invalid(error: ValidationError) -> ApiError:
    """422 naming every offending field (and record index in a batch) and the rule it broke."""
    detail = [_describe(e) for e in error.errors(include_url=False)]
    fields = sorted({d["field"] for d in detail})
    return invalid_input(f"invalid input: {', '.join(fields)}", detail)


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
