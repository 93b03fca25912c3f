"""Every contract rule, accepted and rejected at its boundary, through the real app."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.common.customer import INTERNET_ADD_ONS
from tests.predictor.conftest import VALID_RECORD, record

pytestmark = pytest.mark.slow

NO_INTERNET = {"InternetService": "No", **dict.fromkeys(INTERNET_ADD_ONS, "No internet service")}
NEW_CUSTOMER = {"tenure": 0, "TotalCharges": None}

ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("customerID 1 char", {"customerID": "A"}),
    ("customerID 64 chars", {"customerID": "C" * 64}),
    ("customerID with space", {"customerID": "abc 123"}),
    ("gender Male", {"gender": "Male"}),
    ("SeniorCitizen 1", {"SeniorCitizen": 1}),
    ("tenure 0 with null TotalCharges", NEW_CUSTOMER),
    ("tenure 0 with TotalCharges 0", {"tenure": 0, "TotalCharges": 0}),
    ("tenure 1200", {"tenure": 1200}),
    ("MonthlyCharges just above 0", {"MonthlyCharges": 0.01}),
    ("MonthlyCharges 10000", {"MonthlyCharges": 10000}),
    ("MonthlyCharges integer", {"MonthlyCharges": 70}),
    ("TotalCharges 10,000,000", {"TotalCharges": 10_000_000}),
    ("phone service with multiple lines", {"PhoneService": "Yes", "MultipleLines": "Yes"}),
    ("no internet with every add-on no internet", NO_INTERNET),
    ("fiber optic", {"InternetService": "Fiber optic"}),
    ("two-year contract", {"Contract": "Two year"}),
    ("credit card", {"PaymentMethod": "Credit card (automatic)"}),
]

REJECTED: list[tuple[str, dict[str, Any], str, str]] = [
    ("customerID empty", {"customerID": ""}, "customerID", "string_too_short"),
    ("customerID 65 chars", {"customerID": "C" * 65}, "customerID", "string_too_long"),
    ("customerID control char", {"customerID": "ab\x00c"}, "customerID", "printable"),
    ("customerID newline", {"customerID": "ab\nc"}, "customerID", "printable"),
    ("customerID number", {"customerID": 7590}, "customerID", "string_type"),
    ("gender lower case", {"gender": "female"}, "gender", "literal_error"),
    ("SeniorCitizen 2", {"SeniorCitizen": 2}, "SeniorCitizen", "less_than_equal"),
    ("SeniorCitizen -1", {"SeniorCitizen": -1}, "SeniorCitizen", "greater_than_equal"),
    ("SeniorCitizen true", {"SeniorCitizen": True}, "SeniorCitizen", "int_type"),
    ("SeniorCitizen string", {"SeniorCitizen": "1"}, "SeniorCitizen", "int_type"),
    ("SeniorCitizen 0.5", {"SeniorCitizen": 0.5}, "SeniorCitizen", "int_type"),
    ("Partner maybe", {"Partner": "Maybe"}, "Partner", "literal_error"),
    ("Dependents bool", {"Dependents": True}, "Dependents", "literal_error"),
    ("PaperlessBilling yes", {"PaperlessBilling": "yes"}, "PaperlessBilling", "literal_error"),
    ("tenure -1", {"tenure": -1}, "tenure", "greater_than_equal"),
    ("tenure 1201", {"tenure": 1201}, "tenure", "less_than_equal"),
    ("tenure fractional", {"tenure": 12.5}, "tenure", "int_type"),
    ("tenure string", {"tenure": "12"}, "tenure", "int_type"),
    ("MultipleLines other", {"MultipleLines": "Two"}, "MultipleLines", "literal_error"),
    ("InternetService cable", {"InternetService": "Cable"}, "InternetService", "literal_error"),
    ("TechSupport maybe", {"TechSupport": "Maybe"}, "TechSupport", "literal_error"),
    ("Contract weekly", {"Contract": "Weekly"}, "Contract", "literal_error"),
    ("PaymentMethod cash", {"PaymentMethod": "Cash"}, "PaymentMethod", "literal_error"),
    ("MonthlyCharges 0", {"MonthlyCharges": 0}, "MonthlyCharges", "greater_than"),
    ("MonthlyCharges negative", {"MonthlyCharges": -5}, "MonthlyCharges", "greater_than"),
    ("MonthlyCharges over 10000", {"MonthlyCharges": 10000.01}, "MonthlyCharges", "less_than_equal"),
    ("MonthlyCharges string", {"MonthlyCharges": "70"}, "MonthlyCharges", "float_type"),
    ("MonthlyCharges null", {"MonthlyCharges": None}, "MonthlyCharges", "float_type"),
    ("TotalCharges negative", {"TotalCharges": -1}, "TotalCharges", "greater_than_equal"),
    ("TotalCharges over 10M", {"TotalCharges": 10_000_000.5}, "TotalCharges", "less_than_equal"),
    ("TotalCharges null with tenure", {"TotalCharges": None, "tenure": 5}, "TotalCharges", "total_charges_null"),
    ("no phone but lines", {"PhoneService": "No", "MultipleLines": "No"}, "PhoneService", "phone_service_mismatch"),
    ("phone but no phone lines", {"PhoneService": "Yes"}, "PhoneService", "phone_service_mismatch"),
    ("no internet but add-on", {**NO_INTERNET, "StreamingTV": "No"}, "InternetService", "internet_service_mismatch"),
    (
        "internet but add-on says none",
        {"OnlineBackup": "No internet service"},
        "InternetService",
        "internet_service_mismatch",
    ),
    ("unknown extra field", {"Churn": "Yes"}, "Churn", "extra_forbidden"),
]


def rules(response: Any) -> set[tuple[str, str]]:
    return {(d["field"], d["rule"]) for d in response.json()["detail"]}


@pytest.mark.parametrize(("case", "changes"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_values_inside_the_hard_rules_are_scored(client: TestClient, case: str, changes: dict[str, Any]) -> None:
    response = client.post("/predict", json=record(**changes))
    assert response.status_code == 200, response.text
    body = response.json()
    assert 0 <= body["churn_probability"] <= 1
    assert body["customerID"] == record(**changes)["customerID"]


@pytest.mark.parametrize(("case", "changes", "field", "rule"), REJECTED, ids=[c[0] for c in REJECTED])
def test_values_breaking_a_rule_get_422_naming_field_and_rule(
    client: TestClient, case: str, changes: dict[str, Any], field: str, rule: str
) -> None:
    response = client.post("/predict", json=record(**changes))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    assert (field, rule) in rules(response)
    assert response.json()["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize("missing", list(VALID_RECORD))
def test_every_field_is_required(client: TestClient, missing: str) -> None:
    body = {k: v for k, v in VALID_RECORD.items() if k != missing}
    response = client.post("/predict", json=body)
    assert response.status_code == 422
    assert (missing, "missing") in rules(response)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinity_are_rejected(client: TestClient, literal: str) -> None:
    import json

    text = json.dumps(VALID_RECORD).replace('"MonthlyCharges": 29.85', f'"MonthlyCharges": {literal}')
    response = client.post("/predict", content=text, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert ("MonthlyCharges", "finite_number") in rules(response)


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b"not json", "application/json", 422, "validation_error"),
        (b"", "application/json", 422, "validation_error"),
        (b"[1, 2]", "application/json", 422, "validation_error"),
        (b'{"customerID": "x"}', "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_malformed_bodies_get_a_json_4xx(
    client: TestClient, content: bytes, content_type: str, status: int, code: str
) -> None:
    response = client.post("/predict", content=content, headers={"content-type": content_type})
    assert response.status_code == status
    assert response.json()["error"] == code


def test_oversized_body_gets_413(client: TestClient) -> None:
    huge = b'{"customers": [' + b"1," * (9 * 1024 * 1024) + b"1]}"
    response = client.post("/predict/batch", content=huge, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"


def test_out_of_profile_values_are_scored_with_warnings_naming_the_fields(client: TestClient) -> None:
    response = client.post("/predict", json=record(tenure=500, MonthlyCharges=900.0, TotalCharges=450000.0))
    assert response.status_code == 200
    assert set(response.json()["warnings"]) == {"tenure", "MonthlyCharges", "TotalCharges"}
    inside = client.post("/predict", json=record()).json()
    assert inside["warnings"] == []


def test_a_large_batch_matches_single_answers_with_warnings_at_their_own_index(client: TestClient) -> None:
    # 100 records: scored by column (numpy), against the per-record loop behind /predict.
    customers = [
        record(customerID=f"C{i}", tenure=i % 72, TotalCharges=None if i % 72 == 0 else 29.85 * i) for i in range(100)
    ]
    customers[3] = record(customerID="FAR", tenure=500, TotalCharges=450000.0)
    customers[97] = record(customerID="DEAR", MonthlyCharges=900.0)
    batch = client.post("/predict/batch", json={"customers": customers}).json()["predictions"]
    singles = [client.post("/predict", json=customer).json() for customer in customers]
    assert [item["customerID"] for item in batch] == [customer["customerID"] for customer in customers]
    assert (
        max(abs(b["churn_probability"] - s["churn_probability"]) for b, s in zip(batch, singles, strict=True)) < 1e-12
    )
    assert {i: sorted(item["warnings"]) for i, item in enumerate(batch) if item["warnings"]} == {
        3: ["TotalCharges", "tenure"],
        97: ["MonthlyCharges"],
    }
    assert batch[97]["warning_details"][0]["value"] == 900.0


def test_prediction_carries_model_version_threshold_and_id(client: TestClient) -> None:
    body = client.post("/predict", json=record()).json()
    assert set(body) >= {"prediction_id", "customerID", "churn_probability", "churn", "threshold", "model", "warnings"}
    assert set(body["model"]) == {"name", "version", "run_id"}
    assert body["churn"] == (body["churn_probability"] >= body["threshold"])


def test_batch_scores_every_record_in_order(client: TestClient) -> None:
    customers = [record(customerID=f"C{i}", tenure=i + 1) for i in range(5)]
    response = client.post("/predict/batch", json={"customers": customers})
    assert response.status_code == 200
    body = response.json()
    assert [p["customerID"] for p in body["predictions"]] == [f"C{i}" for i in range(5)]
    assert body["model"] == body["predictions"][0]["model"]
    assert len({p["prediction_id"] for p in body["predictions"]}) == 5


def test_batch_with_invalid_records_is_rejected_whole_naming_each_index_and_field(client: TestClient) -> None:
    customers = [record(), record(tenure=-3), record(), record(gender="X", SeniorCitizen=True)]
    response = client.post("/predict/batch", json={"customers": customers})
    assert response.status_code == 422
    named = {(d["index"], d["field"]) for d in response.json()["detail"]}
    assert named == {(1, "tenure"), (3, "gender"), (3, "SeniorCitizen")}


@pytest.mark.parametrize(
    ("payload", "rule"),
    [
        ({"customers": []}, "too_short"),
        ({"customers": [VALID_RECORD] * 10_001}, "too_long"),
        ({}, "missing"),
        ({"customers": [VALID_RECORD], "extra": 1}, "extra_forbidden"),
        ({"customers": "all"}, "list_type"),
    ],
    ids=["empty", "over 10000", "no customers", "extra key", "not a list"],
)
def test_batch_shape_rules(client: TestClient, payload: dict[str, Any], rule: str) -> None:
    response = client.post("/predict/batch", json=payload)
    assert response.status_code == 422
    assert rule in {d["rule"] for d in response.json()["detail"]}


def test_batch_of_10000_is_accepted(client: TestClient) -> None:
    customers = [record(customerID=f"C{i}") for i in range(10_000)]
    response = client.post("/predict/batch", json={"customers": customers})
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 10_000


def test_unknown_routes_and_methods_answer_json(client: TestClient) -> None:
    assert client.get("/nope").json()["error"] == "not_found"
    response = client.get("/predict")
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"
