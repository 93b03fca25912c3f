"""Drift, with the numbers checked: the training rows themselves give PSI near 0, a shifted week (tenure 1 to
3, month-to-month) gives tenure PSI well above 0.2; every replica sharing the log reports the same."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.common.model_metadata import NumericProfile, TrainingProfile
from services.predictor.health.drift import categorical_psi, drift_report, numeric_psi, psi
from tests.predictor.conftest import AppFactory, record
from tests.support import shifted_week, valid_customers

pytestmark = pytest.mark.slow
DRIFT = {"drift_window": 5000, "drift_min_records": 500, "drift_seconds": 0.01, "audit_durable": True}


def send(client: TestClient, customers: list[dict[str, Any]]) -> None:
    for start in range(0, len(customers), 2000):
        assert client.post("/predict/batch", json={"customers": customers[start : start + 2000]}).status_code == 200


def test_psi_is_zero_for_the_same_distribution_and_grows_with_the_shift() -> None:
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0
    assert psi([0.5, 0.5], [0.9, 0.1]) > 0.2
    profile = NumericProfile(min=0, max=10, bin_edges=[5.0], bin_fractions=[0.5, 0.5])
    assert numeric_psi(profile, [1, 2, 7, 8]) == 0 and numeric_psi(profile, []) is None
    assert numeric_psi(profile, [5.0, 6.0]) == pytest.approx(psi([0.5, 0.5], [0, 1]))  # an edge goes right
    assert categorical_psi({"a": 0.5, "b": 0.5}, ["a", "b", "c", "c"]) > 0.2  # unseen categories count


def test_the_training_rows_drift_near_zero_and_a_shifted_week_drifts(start_app: AppFactory, tmp_path: Path) -> None:
    customers = valid_customers()
    client = start_app(directory=tmp_path / "plain", **DRIFT)
    send(client, customers)
    report = client.get("/model/drift").json()
    assert report["records"] == 5000 and report["status"] == "ok"
    assert max(report["features"].values()) < 0.05, report["features"]
    assert report["score"] is not None and report["score"] < 0.05

    shifted = shifted_week(customers[:1000], "S")
    week = start_app(directory=tmp_path / "shifted", **DRIFT)
    send(week, shifted)
    drifted = week.get("/model/drift").json()
    assert drifted["features"]["tenure"] > 0.2 and drifted["features"]["Contract"] > 0.2
    assert drifted["score"] > 0.1
    metrics = week.get("/metrics").text
    assert 'churnguard_feature_drift_psi{feature="tenure"}' in metrics and "churnguard_score_drift_psi" in metrics


def test_below_the_minimum_drift_is_null_not_zero(start_app: AppFactory) -> None:
    client = start_app(**DRIFT)
    send(client, [record(customerID=f"F-{i}") for i in range(100)])
    report = client.get("/model/drift").json()
    assert report["records"] == 100 and report["status"].startswith("not enough records")
    assert set(report["features"].values()) == {None} and report["score"] is None
    gauge = [line for line in client.get("/metrics").text.splitlines() if line.startswith("churnguard_score_drift")]
    assert gauge and math.isnan(float(gauge[0].split()[-1]))


def test_replicas_sharing_the_log_report_the_same_window(
    start_app: AppFactory, postgres_url: str, tmp_path: Path
) -> None:
    first = start_app(directory=tmp_path / "a", audit_url=postgres_url, **DRIFT)
    second = start_app(directory=tmp_path / "b", audit_url=postgres_url, **DRIFT)
    customers = valid_customers()
    send(first, customers[:400])
    send(second, [{**c, "tenure": 2, "TotalCharges": c["MonthlyCharges"] * 2} for c in customers[400:700]])
    one, other = first.get("/model/drift").json(), second.get("/model/drift").json()
    assert one["records"] == other["records"] == 700
    assert one["features"] == other["features"] and one["score"] == other["score"]


# Training profiles as models saved by earlier releases parse them (their metadata JSON, as written then).
BEFORE_DRIFT_BINS = {"rows": 5000, "numeric": {"tenure": {"min": 0, "max": 72}, "SeniorCitizen": {"min": 0, "max": 1}}}
BINS_WITHOUT_SHARES = {
    "rows": 5000,
    "numeric": {
        "tenure": {"min": 0, "max": 72, "bin_edges": [6.0, 20.0, 40.0, 60.0]},
        "SeniorCitizen": {"min": 0, "max": 1, "bin_edges": [1.0]},
    },
    "score": {"min": 0.0, "max": 1.0, "bin_edges": [0.2, 0.5]},
}


@pytest.mark.parametrize("layout", [BEFORE_DRIFT_BINS, BINS_WITHOUT_SHARES], ids=["before-bins", "bins-no-shares"])
def test_a_model_without_a_drift_profile_reports_null_with_a_reason_never_a_number(layout: dict[str, Any]) -> None:
    """Found by reading: such models reported PSI 0.0 (no bins) or assumed equal shares, so SeniorCitizen at
    its own 84/16 training split read about 3.3: a permanent false FeatureDrift."""
    profile = TrainingProfile.model_validate(layout)
    seniors_as_in_training = [(json.dumps({"tenure": 30, "SeniorCitizen": int(i % 100 < 16)}), 0.3) for i in range(600)]
    report = drift_report(profile, "1", seniors_as_in_training, 5000, 500).as_dict()
    assert report["features"] == {"tenure": None, "SeniorCitizen": None}
    assert (
        report["reasons"]["SeniorCitizen"]
        == "this model version carries no drift profile for SeniorCitizen: retrain it"
    )
    assert report["score"] is None and "score" in report["reasons"]


def test_a_model_with_its_drift_profile_reports_numbers_and_no_reason() -> None:
    profile = TrainingProfile(
        rows=100, numeric={"SeniorCitizen": NumericProfile(min=0, max=1, bin_edges=[1.0], bin_fractions=[0.84, 0.16])}
    )
    as_in_training = [(json.dumps({"SeniorCitizen": int(i % 100 < 16)}), 0.3) for i in range(600)]
    report = drift_report(profile, "1", as_in_training, 5000, 500).as_dict()
    assert report["features"]["SeniorCitizen"] < 0.01 and "SeniorCitizen" not in report["reasons"]
