"""Predictor fixtures: the real app (TestClient in a `with` block) serving the session's real champion."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.predictor.app import create_app
from services.predictor.settings import PredictorSettings
from services.tracker.experiment import ExperimentOutcome
from tests.conftest import Tracker

VALID_RECORD: dict[str, Any] = {
    "customerID": "7590-VHVEG",
    "gender": "Female",
    "SeniorCitizen": 0,
    "Partner": "Yes",
    "Dependents": "No",
    "tenure": 1,
    "PhoneService": "No",
    "MultipleLines": "No phone service",
    "InternetService": "DSL",
    "OnlineSecurity": "No",
    "OnlineBackup": "Yes",
    "DeviceProtection": "No",
    "TechSupport": "No",
    "StreamingTV": "No",
    "StreamingMovies": "No",
    "PaperlessBilling": "Yes",
    "Contract": "Month-to-month",
    "PaymentMethod": "Electronic check",
    "MonthlyCharges": 29.85,
    "TotalCharges": 29.85,
}


def record(**changes: Any) -> dict[str, Any]:
    return {**VALID_RECORD, **changes}


def wait_ready(client: TestClient, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/health/ready")
        if response.status_code == 200 or time.monotonic() > deadline:
            return dict(response.json())
        time.sleep(0.1)


def make_settings(tracker_url: str, directory: Path, **overrides: Any) -> PredictorSettings:
    values: dict[str, Any] = {
        "mlflow_tracking_uri": tracker_url,
        "cache_dir": directory / "cache",
        "audit_url": f"sqlite:///{directory / 'audit.sqlite3'}",
        "audit_spill_dir": directory / "audit-spill",  # never the repository's var/
        "ready_cache_seconds": 0,
        "retry_seconds": 0.2,
        "audit_flush_seconds": 0.05,
    }
    return PredictorSettings(**{**values, **overrides})


AppFactory = Callable[..., TestClient]


@pytest.fixture
def start_app(tracker: Tracker, champion: ExperimentOutcome, tmp_path: Path) -> Iterator[AppFactory]:
    """Start the real app with settings overrides; the lifespan runs; shut down after the test."""
    opened: list[TestClient] = []

    def start(wait: bool = True, directory: Path = tmp_path, **overrides: Any) -> TestClient:
        overrides.setdefault("mlflow_tracking_uri", tracker.url)
        settings = make_settings(
            directory=directory, **{"tracker_url": overrides.pop("mlflow_tracking_uri")}, **overrides
        )
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        if wait:
            assert wait_ready(client)["status"] == "ready"
        return client

    yield start
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def client(
    tracker: Tracker, champion: ExperimentOutcome, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """One ready app per module, for the many read-only contract checks."""
    settings = make_settings(tracker.url, tmp_path_factory.mktemp("predictor"))
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        assert wait_ready(test_client)["status"] == "ready"
        yield test_client
