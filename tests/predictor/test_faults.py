"""Faults of real operations: the tracker dies while serving; a corrupt or wrong model is pushed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from mlflow.tracking import MlflowClient

from services.common.registry_names import APPROVAL_TAG
from services.predictor.scoring.served_model import ServedModel
from services.tracker.config import load_config
from services.tracker.experiment import run_experiment
from services.tracker.registry import promote
from services.tracker.settings import TrackerSettings
from tests.conftest import BASELINE, Tracker
from tests.predictor.conftest import AppFactory, record
from tests.predictor.telemetry.test_metrics import sample
from tests.proxy import TcpProxy
from tests.support import free_port
from tests.tracker.test_experiments import _log_altered_model

pytestmark = pytest.mark.slow


def test_tracker_killed_while_serving_predictions_continue_and_reloads_fail_cleanly(
    start_app: AppFactory, tracker: Tracker
) -> None:
    proxy = TcpProxy(target_port=int(tracker.url.rsplit(":", 1)[1]), port=free_port())
    proxy.open()
    client = start_app(mlflow_tracking_uri=proxy.url, api_keys="k")
    auth = {"Authorization": "Bearer k"}
    proxy.close()  # the tracker is gone
    for _ in range(20):
        assert client.post("/predict", json=record(), headers=auth).status_code == 200
    assert client.get("/health/ready").status_code == 200
    reload = client.post("/admin/reload", headers=auth)
    assert reload.status_code == 503 and reload.json()["outcome"] == "failed", reload.text
    assert "cannot resolve" in client.get("/model", headers=auth).json()["last_error"]
    assert sample(client.get("/metrics").text, "churnguard_model_reloads_total", outcome="failed") >= 1
    assert client.post("/predict", json=record(), headers=auth).status_code == 200


@pytest.fixture
def own_model(tracker_settings: TrackerSettings, request: pytest.FixtureRequest) -> TrackerSettings:
    return tracker_settings.model_copy(update={"registered_model_name": f"fault-{request.node.name}"[:60]})


def _serving(start_app: AppFactory, settings: TrackerSettings) -> tuple[TestClient, str]:
    first = run_experiment(load_config(BASELINE), settings)
    promote(settings, first.version, reason="first")
    return start_app(model_uri=f"models:/{settings.registered_model_name}@champion"), first.version


def test_a_version_with_a_different_signature_is_refused_and_the_old_model_keeps_serving(
    start_app: AppFactory, own_model: TrackerSettings
) -> None:
    client, good = _serving(start_app, own_model)
    bad = _log_altered_model(own_model, drop_column="tenure")
    registry = MlflowClient(own_model.mlflow_tracking_uri)
    registry.set_model_version_tag(own_model.registered_model_name, bad, APPROVAL_TAG, "true")  # forged: checks hold
    registry.set_registered_model_alias(own_model.registered_model_name, "champion", bad)
    refused = client.post("/admin/reload")
    assert refused.status_code == 409 and "signature differs" in refused.json()["detail"]
    assert client.post("/predict", json=record()).json()["model"]["version"] == good
    assert "signature differs" in client.get("/model").json()["last_error"]


def test_a_version_whose_artifact_is_corrupt_is_refused(
    start_app: AppFactory, own_model: TrackerSettings, tracker: Tracker
) -> None:
    client, good = _serving(start_app, own_model)
    candidate = run_experiment(load_config(BASELINE, ["model.params.C=0.6"]), own_model)
    mlflow = MlflowClient(own_model.mlflow_tracking_uri)
    source = mlflow.get_model_version_download_uri(own_model.registered_model_name, candidate.version)
    # mlflow-artifacts:/<path> is served from the tracker's artifact root on disk: damage the weights.
    weights = next((tracker.data_dir / "artifacts" / source.split(":/", 1)[1].lstrip("/")).glob("model.skops"))
    weights.write_bytes(b"not a model")
    mlflow.set_model_version_tag(own_model.registered_model_name, candidate.version, APPROVAL_TAG, "true")
    mlflow.set_registered_model_alias(own_model.registered_model_name, "champion", candidate.version)
    refused = client.post("/admin/reload")
    assert refused.status_code == 409 and "artifacts unreadable" in refused.json()["detail"]
    assert client.post("/predict", json=record()).json()["model"]["version"] == good
    metrics = client.get("/metrics").text
    assert sample(metrics, "churnguard_model_reloads_total", outcome="refused") == 1


def test_a_bug_on_the_scoring_route_is_a_json_500_that_names_the_request(
    start_app: AppFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The scoring routes are served outside FastAPI's error layer: an unexpected error must still get
    the one error shape, counted under its route, with the traceback logged under the request id."""
    client = start_app()

    def broken(model: ServedModel, columns: object) -> list[float]:
        raise RuntimeError("a scorer bug")

    monkeypatch.setattr(ServedModel, "probabilities", broken)
    answer = client.post("/predict", json=record(), headers={"X-Request-ID": "bug-1"})
    assert answer.status_code == 500, answer.text
    assert answer.json()["error"] == "internal_error" and answer.json()["request_id"] == "bug-1"
    assert answer.headers["x-request-id"] == "bug-1"
    assert any(r.getMessage() == "unhandled error" and r.exc_info for r in caplog.records)
    metrics = client.get("/metrics").text
    assert sample(metrics, "churnguard_http_requests_total", route="/predict", method="POST", status="500") == 1
