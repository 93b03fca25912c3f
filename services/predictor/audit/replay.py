"""`churnguard replay PREDICTION_ID`: prove a prediction by scoring its recorded input again with its
recorded model version, through the same serving path; reproduced means within 1e-12.

It reads the audit log directly (PREDICTOR_AUDIT_URL), so it works while the predictor is down.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256

from services.predictor.audit.backend import AuditStoreError, open_backend
from services.predictor.audit.record import NOT_REPLAYABLE, as_response
from services.predictor.http.validation import parse_record
from services.predictor.model.registered_model import load_version
from services.predictor.scoring.predictions import columns_of
from services.predictor.settings import PredictorSettings

TOLERANCE = 1e-12


@dataclass(frozen=True)
class Replay:
    lines: list[str]
    reproduced: bool


def replay(prediction_id: str, settings: PredictorSettings) -> Replay:
    try:
        row = open_backend(settings.audit_location).fetch(prediction_id)
    except AuditStoreError as error:
        return Replay([f"cannot read the audit log: {error}"], False)
    if row is None:
        return Replay([f"no prediction {prediction_id!r} in the audit log"], False)
    record = as_response(row)
    model = record["model"]
    lines = [
        f"prediction {prediction_id}: customer {record['customer_id']}, {record['created_at']}",
        f"model: {model['name']} version {model['version']} (run {model['run_id']})",
        f"recorded probability: {record['churn_probability']!r}",
    ]
    if not record["replayable"]:
        return Replay([*lines, f"not replayable: {NOT_REPLAYABLE}"], False)
    raw_input = str(row["input_json"]).encode()
    if sha256(raw_input).hexdigest() != record["input_sha256"]:
        return Replay([*lines, "the recorded input does not match its recorded sha256: the record was altered"], False)
    served = load_version(settings.mlflow_tracking_uri, model["name"], model["version"], model["run_id"])
    probability = served.probabilities(columns_of([parse_record(raw_input)]))[0]
    difference = abs(probability - float(record["churn_probability"]))
    reproduced = difference <= TOLERANCE
    verdict = "reproduced" if reproduced else f"NOT reproduced (tolerance {TOLERANCE:g})"
    return Replay(
        [
            *lines,
            f"replayed probability: {probability!r}",
            "input sha256 matches the record",
            f"{verdict}: difference {difference:.1e}",
        ],
        reproduced,
    )
