"""Outcomes and realized performance, with the numbers checked: the test split's true outcomes give back
exactly the training test metrics; a model gone wrong is flagged below training; bad input is a clear 422."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from mlflow.tracking import MlflowClient

from services.predictor.audit.backend import open_backend
from services.predictor.audit.record import AuditRecord
from services.tracker.config import load_config
from services.tracker.experiment import ExperimentOutcome, run_experiment
from services.tracker.gate import TEST_CUSTOMERS_ARTIFACT
from services.tracker.settings import TrackerSettings
from tests.conftest import BASELINE, Tracker
from tests.predictor.conftest import AppFactory, record

pytestmark = pytest.mark.slow
HEALTH = {"drift_seconds": 0.01, "audit_durable": True}


def logged_test_split(tracker: Tracker, champion: ExperimentOutcome) -> tuple[list[dict[str, Any]], list[int]]:
    with tempfile.TemporaryDirectory() as scratch:
        path = MlflowClient(tracker.url).download_artifacts(champion.run_id, TEST_CUSTOMERS_ARTIFACT, scratch)
        logged = json.loads(Path(path).read_text(encoding="utf-8"))
    return logged["records"], logged["labels"]


def score(client: TestClient, customers: list[dict[str, Any]]) -> list[str]:
    answer = client.post("/predict/batch", json={"customers": customers})
    assert answer.status_code == 200, answer.text
    return [p["prediction_id"] for p in answer.json()["predictions"]]


def test_the_test_splits_outcomes_give_back_the_training_test_metrics(
    start_app: AppFactory, tracker: Tracker, champion: ExperimentOutcome
) -> None:
    client = start_app(**HEALTH)
    customers, labels = logged_test_split(tracker, champion)
    ids = score(client, customers)
    outcomes = [{"prediction_id": i, "churned": bool(y), "contacted": False} for i, y in zip(ids, labels, strict=True)]
    assert client.post("/outcomes", json={"outcomes": outcomes}).json() == {"recorded": len(ids)}
    report = client.get("/model/performance").json()
    entry = report["versions"][champion.version]
    realized, training = entry["not_contacted"], entry["training"]
    assert realized["outcomes"] == len(ids) == entry["all"]["outcomes"]
    for figure in ("roc_auc", "precision_at_threshold", "recall_at_threshold", "precision_at_top", "lift_at_top"):
        assert realized[figure] == pytest.approx(champion.metrics[f"test_{figure}"], abs=1e-9), figure
        assert training[figure] == pytest.approx(champion.metrics[f"test_{figure}"], abs=1e-12)
    assert report["below_training"] == []


def test_calls_are_kept_apart_and_a_model_gone_wrong_is_flagged(
    start_app: AppFactory, tracker: Tracker, champion: ExperimentOutcome
) -> None:
    client = start_app(performance_min_outcomes=200, **HEALTH)
    customers, labels = logged_test_split(tracker, champion)
    ids = score(client, customers[:600])
    # The world turned: the customers the model calls safe leave, the risky ones stay.
    outcomes = [
        {"prediction_id": i, "churned": not bool(y), "contacted": n % 3 == 0}
        for n, (i, y) in enumerate(zip(ids, labels[:600], strict=True))
    ]
    client.post("/outcomes", json={"outcomes": outcomes[:299]})
    assert client.get("/model/performance").json()["below_training"] == []  # 199 uncontacted: too few to say
    client.post("/outcomes", json={"outcomes": outcomes[299:]})
    report = client.get("/model/performance").json()
    entry = report["versions"][champion.version]
    assert entry["all"]["outcomes"] == 600 and entry["not_contacted"]["outcomes"] == 400
    assert set(report["below_training"]) == {"roc_auc", "precision_at_top"}
    metrics = client.get("/metrics").text
    assert 'churnguard_performance_below_training{figure="roc_auc"} 1.0' in metrics
    assert "churnguard_outcomes_not_contacted 400.0" in metrics


def test_unknown_ids_and_bad_bodies_are_a_422_naming_them(start_app: AppFactory) -> None:
    client = start_app(api_keys="scoring", admin_keys="admin", **HEALTH)
    admin, scoring = {"Authorization": "Bearer admin"}, {"Authorization": "Bearer scoring"}
    [known] = score_with(client, scoring)
    unknown = client.post(
        "/outcomes",
        json={"outcomes": [{"prediction_id": known, "churned": True}, {"prediction_id": "nope", "churned": False}]},
        headers=admin,
    )
    assert unknown.status_code == 422 and "nope" in unknown.json()["message"]
    assert unknown.json()["detail"][0]["index"] == 1 and unknown.json()["detail"][0]["rule"] == "unknown_prediction"
    assert client.get("/model/performance", headers=scoring).json()["versions"] == {}  # all or nothing
    body = {"outcomes": [{"prediction_id": known, "churned": True}]}
    assert client.post("/outcomes", json=body, headers=scoring).status_code == 403
    for bad in ({"outcomes": []}, {"outcomes": [{"prediction_id": known, "churned": "yes"}]}, {"rows": []}):
        response = client.post("/outcomes", json=bad, headers=admin)
        assert response.status_code == 422 and response.json()["error"] == "validation_error"
    assert client.post("/outcomes", json=body, headers=admin).json() == {"recorded": 1}


def score_with(client: TestClient, headers: dict[str, str]) -> list[str]:
    answer = client.post("/predict/batch", json={"customers": [record()]}, headers=headers)
    return [p["prediction_id"] for p in answer.json()["predictions"]]


def test_each_version_carries_its_own_training_figures(
    start_app: AppFactory,
    tracker: Tracker,
    champion: ExperimentOutcome,
    tracker_settings: TrackerSettings,
    tmp_path: Path,
) -> None:
    """Found by reading: only the served version had training figures; the others' were null."""
    other = run_experiment(load_config(BASELINE, ["model.params.C=0.3"]), tracker_settings)  # registered, not served
    client = start_app(**HEALTH)
    customers, labels = logged_test_split(tracker, champion)
    served = score(client, customers[:20])
    # Records of the other version, as a replica serving it would have written them to the shared log.
    backend = open_backend(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    backend.insert(
        [
            AuditRecord(
                f"other-{n}",
                "2026-12-01T00:00:00.000000+00:00",
                f"C-{n}",
                champion.model_name,
                other.version,
                other.run_id,
                "0" * 64,
                0.1 * (n % 10),
                n % 10 >= 5,
                None,
                0.5,
                None,
                None,
                None,
            )
            for n in range(20)
        ]
    )
    outcomes = [
        {"prediction_id": i, "churned": bool(y), "contacted": False} for i, y in zip(served, labels, strict=False)
    ]
    outcomes += [{"prediction_id": f"other-{n}", "churned": n % 3 == 0, "contacted": False} for n in range(20)]
    assert client.post("/outcomes", json={"outcomes": outcomes}).json() == {"recorded": 40}
    versions = client.get("/model/performance").json()["versions"]
    assert versions[champion.version]["training"]["roc_auc"] == pytest.approx(
        champion.metrics["test_roc_auc"], abs=1e-12
    )
    assert versions[other.version]["training"]["roc_auc"] == pytest.approx(other.metrics["test_roc_auc"], abs=1e-12)
    assert other.metrics["test_roc_auc"] != champion.metrics["test_roc_auc"]
