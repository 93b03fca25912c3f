"""Property-based: records valid by construction are scored; each invalid one gets a 422 naming its field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.customer import INTERNET_ADD_ONS, allowed_categories

pytestmark = pytest.mark.slow
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def valid_records(draw: st.DrawFn) -> dict[str, Any]:
    phone = draw(st.sampled_from(["Yes", "No"]))
    internet = draw(st.sampled_from(allowed_categories("InternetService")))
    tenure = draw(st.integers(0, 1200))
    record: dict[str, Any] = {
        "customerID": draw(st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=64)),
        "gender": draw(st.sampled_from(["Female", "Male"])),
        "SeniorCitizen": draw(st.sampled_from([0, 1])),
        "Partner": draw(st.sampled_from(["Yes", "No"])),
        "Dependents": draw(st.sampled_from(["Yes", "No"])),
        "tenure": tenure,
        "PhoneService": phone,
        "MultipleLines": "No phone service" if phone == "No" else draw(st.sampled_from(["Yes", "No"])),
        "InternetService": internet,
        "PaperlessBilling": draw(st.sampled_from(["Yes", "No"])),
        "Contract": draw(st.sampled_from(allowed_categories("Contract"))),
        "PaymentMethod": draw(st.sampled_from(allowed_categories("PaymentMethod"))),
        "MonthlyCharges": draw(st.floats(min_value=0.01, max_value=10_000)),
        "TotalCharges": (draw(st.none() | st.floats(0, 10_000_000)) if tenure == 0 else draw(st.floats(0, 10_000_000))),
    }
    for name in INTERNET_ADD_ONS:
        record[name] = "No internet service" if internet == "No" else draw(st.sampled_from(["Yes", "No"]))
    return record


# Each mutation breaks exactly one rule and names the field the 422 must name.
MUTATIONS: list[tuple[str, Any, str]] = [
    ("tenure", -1, "tenure"),
    ("tenure", 1201, "tenure"),
    ("tenure", 3.5, "tenure"),
    ("SeniorCitizen", True, "SeniorCitizen"),
    ("SeniorCitizen", "0", "SeniorCitizen"),
    ("MonthlyCharges", 0, "MonthlyCharges"),
    ("MonthlyCharges", 10_000.5, "MonthlyCharges"),
    ("MonthlyCharges", "cheap", "MonthlyCharges"),
    ("TotalCharges", -0.01, "TotalCharges"),
    ("gender", "F", "gender"),
    ("Contract", "Monthly", "Contract"),
    ("customerID", "", "customerID"),
    ("customerID", "x" * 65, "customerID"),
    ("unexpected", 1, "unexpected"),
]


@st.composite
def invalid_records(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    record = draw(valid_records())
    field, value, named = draw(st.sampled_from(MUTATIONS))
    return {**record, field: value}, named


@PROPERTY_SETTINGS
@given(record=valid_records())
def test_every_valid_record_is_scored(client: TestClient, record: dict[str, Any]) -> None:
    response = client.post("/predict", json=record)
    assert response.status_code == 200, response.text
    assert 0.0 <= response.json()["churn_probability"] <= 1.0


@PROPERTY_SETTINGS
@given(case=invalid_records())
def test_every_invalid_record_gets_422_naming_the_field(client: TestClient, case: tuple[dict[str, Any], str]) -> None:
    record, field = case
    response = client.post("/predict", json=record)
    assert response.status_code == 422, response.text
    assert field in {d["field"] for d in response.json()["detail"]}


@PROPERTY_SETTINGS
@given(
    records=st.lists(st.one_of(valid_records().map(lambda r: (r, None)), invalid_records()), min_size=1, max_size=20)
)
def test_batches_are_all_or_nothing_with_indexes(
    client: TestClient, records: list[tuple[dict[str, Any], str | None]]
) -> None:
    response = client.post("/predict/batch", json={"customers": [r for r, _ in records]})
    bad = {(i, field) for i, (_, field) in enumerate(records) if field is not None}
    if not bad:
        assert response.status_code == 200 and len(response.json()["predictions"]) == len(records)
    else:
        assert response.status_code == 422
        named = {(d.get("index"), d["field"]) for d in response.json()["detail"]}
        assert bad <= named


@PROPERTY_SETTINGS
@given(
    body=st.binary(max_size=300)
    | st.recursive(
        st.none() | st.booleans() | st.floats() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    ).map(lambda v: json.dumps(v).encode())
)
def test_arbitrary_bodies_never_cause_a_server_error(client: TestClient, body: bytes) -> None:
    for path in ("/predict", "/predict/batch"):
        response = client.post(path, content=body, headers={"content-type": "application/json"})
        assert response.status_code < 500, response.text
        assert response.headers["content-type"] == "application/json"
