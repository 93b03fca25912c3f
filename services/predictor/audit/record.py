"""One audit record: what was asked (the validated input), what answered (the model version), what it said.

Shared by the audit writer, both storage backends and `churnguard replay`.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from msgspec import Struct
from msgspec.json import Encoder

_SORTED_JSON = Encoder(order="sorted")
NOT_REPLAYABLE = "recorded before inputs were kept (hash only): it cannot be replayed"

COLUMN_NAMES = (
    "prediction_id",
    "created_at",
    "customer_id",
    "model_name",
    "model_version",
    "run_id",
    "input_sha256",
    "churn_probability",
    "churn",
    "api_key_id",
    "threshold",
    "warnings",
    "request_id",
    "input_json",
)
COLUMNS = ", ".join(COLUMN_NAMES)
# The challenger's score beside the champion's answer, and what happened to the customer (null: not yet known),
# in prediction id order (the same order in every process: the bootstrap and tie-breaks repeat).
SHADOW_PAIRS = (
    "SELECT p.churn_probability, s.probability, o.churned FROM shadow_scores s "
    "JOIN predictions p ON p.prediction_id = s.prediction_id "
    "LEFT JOIN outcomes o ON o.prediction_id = s.prediction_id "
    "WHERE s.challenger_version = %s ORDER BY s.prediction_id"
)
# Added after the first release; a log made then gains them (NULL in its old rows).
ADDED_COLUMNS = {"threshold": "REAL", "warnings": "TEXT", "request_id": "TEXT", "input_json": "TEXT"}


class AuditRecord(NamedTuple):
    """One row, in COLUMN_NAMES order; a tuple already, so writing 10,000 costs no conversion."""

    prediction_id: str
    created_at: str  # ISO 8601, UTC, microseconds: sorts as it reads (retention compares it as text)
    customer_id: str
    model_name: str
    model_version: str
    run_id: str
    input_sha256: str
    churn_probability: float
    churn: bool
    api_key_id: str | None
    threshold: float | None
    warnings: str | None  # JSON list of field names
    request_id: str | None
    input_json: str | None  # the validated record, compact JSON with sorted keys (the bytes hashed)


def canonical_input(row: Struct) -> bytes:
    """The validated record as compact JSON with sorted keys: stored, and hashed into input_sha256."""
    return _SORTED_JSON.encode(row)


def as_response(row: dict[str, Any]) -> dict[str, Any]:
    """What GET /predictions/{id} answers: the record, with its input decoded and the model named together.

    The flat names of the first release (model_version, customer_id, ...) stay for existing readers."""
    raw_input = row.get("input_json")
    warnings = row.get("warnings")
    answer = {key: value for key, value in row.items() if key not in ("input_json", "warnings")}
    answer["churn"] = bool(row["churn"])
    answer["model"] = {"name": row["model_name"], "version": row["model_version"], "run_id": row["run_id"]}
    answer["warnings"] = [] if warnings is None else json.loads(warnings)
    answer["input"] = None if raw_input is None else json.loads(raw_input)
    answer["replayable"] = raw_input is not None
    if raw_input is None:
        answer["replay_note"] = NOT_REPLAYABLE
    return answer
