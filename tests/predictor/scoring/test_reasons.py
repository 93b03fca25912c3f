"""Reasons: exact for the linear model (baseline + contributions = logit on every customer), in plain words,
asked for with ?reasons=N; a model-agnostic method with its baseline stated for other models."""

from __future__ import annotations

import csv
import math

import orjson
import pytest
from fastapi.testclient import TestClient

from services.common.customer import parse_csv_row
from services.common.paths import SHARED_DATA_FILE
from services.predictor.http.validation import parse_record
from services.predictor.scoring.predictions import columns_of
from services.predictor.scoring.reasons import LinearExplainer, OcclusionExplainer, in_words
from services.predictor.scoring.scorers.pipeline import PipelineScorer
from services.predictor.scoring.served_model import ServedModel
from tests.predictor.conftest import record


def served(client: TestClient) -> ServedModel:
    model = client.app.state.services.store.current  # type: ignore[attr-defined]
    assert model is not None
    return model


def all_customers() -> list[dict[str, object]]:
    with SHARED_DATA_FILE.open(encoding="utf-8") as handle:
        return [parse_csv_row(row) for row in csv.DictReader(handle)]


def test_contributions_plus_the_baseline_reproduce_the_logit_of_every_customer(client: TestClient) -> None:
    """The whole data set (the test split included): exact to 1e-9 for each of 7,000 customers."""
    model = served(client)
    assert isinstance(model.explainer, LinearExplainer)
    rows = [parse_record(orjson.dumps(customer)) for customer in all_customers()]
    columns = columns_of(rows)
    contributions = model.explainer.contributions(columns)
    probabilities = model.probabilities(columns)
    assert set(contributions) == set(columns) - {"customerID"}
    for i, probability in enumerate(probabilities):
        total = model.explainer.baseline + sum(values[i] for values in contributions.values())
        assert total == pytest.approx(math.log(probability / (1 - probability)), abs=1e-9)


def test_reasons_are_the_factors_raising_the_risk_most_in_plain_words(client: TestClient) -> None:
    risky = record(
        Contract="Month-to-month",
        InternetService="Fiber optic",
        TechSupport="No",
        tenure=2,
        MonthlyCharges=95.0,
        TotalCharges=190.0,
        OnlineSecurity="No",
    )
    answer = client.post("/predict?reasons=3", json=risky).json()
    reasons = answer["reasons"]
    assert len(reasons) == 3
    contributions = [r["contribution"] for r in reasons]
    assert contributions == sorted(contributions, reverse=True) and min(contributions) > 0
    texts = {r["text"] for r in reasons}
    assert texts & {"month-to-month contract", "fiber optic internet", "first months as a customer (2 months)"}
    batch = client.post("/predict/batch?reasons=1", json={"customers": [risky, record(Contract="Two year")]}).json()
    assert [len(p["reasons"]) for p in batch["predictions"]] == [1, 1]
    assert "reasons" not in client.post("/predict", json=risky).json()


def test_a_safe_customer_may_have_fewer_reasons_than_asked(client: TestClient) -> None:
    safe = record(
        Contract="Two year",
        tenure=70,
        InternetService="No",
        OnlineSecurity="No internet service",
        OnlineBackup="No internet service",
        DeviceProtection="No internet service",
        TechSupport="No internet service",
        StreamingTV="No internet service",
        StreamingMovies="No internet service",
        PaymentMethod="Credit card (automatic)",
        MonthlyCharges=20.0,
        TotalCharges=1400.0,
    )
    reasons = client.post("/predict?reasons=10", json=safe).json()["reasons"]
    assert len(reasons) < 10 and all(r["contribution"] > 0 for r in reasons)


@pytest.mark.parametrize("value", ["abc", "11", "-1", "1.5"])
def test_a_bad_reasons_parameter_is_a_422_naming_it(client: TestClient, value: str) -> None:
    response = client.post(f"/predict?reasons={value}", json=record())
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "reasons"


def test_other_models_get_occlusion_against_a_stated_typical_customer(client: TestClient) -> None:
    model = served(client)
    explainer = OcclusionExplainer.of(PipelineScorer(model.bundle), model.bundle.profile, model.bundle.canary_columns)
    columns = columns_of([parse_record(orjson.dumps(record(tenure=2)))])
    contributions = explainer.contributions(columns)
    assert contributions["tenure"][0] > 0  # two months is riskier than the typical customer's tenure
    assert "typical customer" in explainer.method and math.isfinite(explainer.baseline)


def test_phrases() -> None:
    assert in_words("Contract", "Month-to-month") == "month-to-month contract"
    assert in_words("TechSupport", "No") == "no tech support"
    assert in_words("tenure", 3) == "first months as a customer (3 months)"
    assert in_words("MonthlyCharges", 99.5) == "monthly charges of $99.50"
