"""Model card, hot reload (good candidate swapped, bad refused) and serving from the cache."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from mlflow.tracking import MlflowClient

from services.common.registry_names import APPROVAL_TAG
from services.tracker.config import load_config
from services.tracker.experiment import ExperimentOutcome, run_experiment
from services.tracker.registry import promote
from services.tracker.settings import TrackerSettings
from tests.conftest import BASELINE, Tracker
from tests.predictor.conftest import AppFactory, record, wait_ready
from tests.proxy import TcpProxy
from tests.support import free_port
from tests.tracker.test_experiments import _log_altered_model

pytestmark = [pytest.mark.slow, pytest.mark.second_lane]  # real predictors and a tracker: beside the rest


def test_model_card_names_version_run_data_metrics_params_and_code(
    client: TestClient, champion: ExperimentOutcome
) -> None:
    card = client.get("/model").json()
    assert (card["name"], card["version"], card["run_id"]) == ("churn-model", champion.version, champion.run_id)
    assert card["training_data_sha256"] == TrackerSettings().data_sha256
    assert card["training_metrics"]["test_roc_auc"] == champion.metrics["test_roc_auc"]
    assert card["params"]["C"] == "1.0"
    assert card["code_version"] and card["loaded_at"] and card["source"] == "registry"
    assert card["fast_path"] is True


@pytest.fixture
def own_model(tracker_settings: TrackerSettings, request: pytest.FixtureRequest) -> TrackerSettings:
    """A registered model only this test moves, so the session champion stays put."""
    return tracker_settings.model_copy(update={"registered_model_name": f"reload-{request.node.name}"[:60]})


def test_reload_swaps_in_a_good_candidate_and_refuses_a_bad_one(
    start_app: AppFactory, own_model: TrackerSettings
) -> None:
    name = own_model.registered_model_name
    first = run_experiment(load_config(BASELINE), own_model)
    promote(own_model, first.version, reason="first")
    client = start_app(model_uri=f"models:/{name}@champion", api_keys="k")
    auth = {"Authorization": "Bearer k"}
    assert client.post("/predict", json=record(), headers=auth).json()["model"]["version"] == first.version
    unchanged = client.post("/admin/reload", headers=auth)
    assert unchanged.status_code == 200 and unchanged.json()["outcome"] == "unchanged"

    second = run_experiment(load_config(BASELINE, ["model.params.C=0.7"]), own_model)
    promote(own_model, second.version, reason="better")
    swapped = client.post("/admin/reload", headers=auth)
    assert swapped.status_code == 200 and swapped.json()["outcome"] == "swapped"
    assert client.post("/predict", json=record(), headers=auth).json()["model"]["version"] == second.version

    # Someone moves the alias by hand to a version whose canary does not reproduce.
    bad = _log_altered_model(own_model, canary_shift=1e-3)
    registry = MlflowClient(own_model.mlflow_tracking_uri)
    registry.set_model_version_tag(name, bad, APPROVAL_TAG, "true")  # even an approved version must pass its checks
    registry.set_registered_model_alias(name, "champion", bad)
    refused = client.post("/admin/reload", headers=auth)
    assert refused.status_code == 409 and refused.json()["outcome"] == "refused"
    assert refused.json()["serving"]["version"] == second.version
    assert client.post("/predict", json=record(), headers=auth).json()["model"]["version"] == second.version
    card = client.get("/model", headers=auth).json()
    assert "canary" in card["last_error"] and card["version"] == second.version
    assert 'churnguard_model_reloads_total{outcome="refused"} 1.0' in client.get("/metrics").text
    assert client.get("/health/ready").status_code == 200


def test_periodic_alias_check_picks_up_a_new_champion(start_app: AppFactory, own_model: TrackerSettings) -> None:
    name = own_model.registered_model_name
    first = run_experiment(load_config(BASELINE), own_model)
    promote(own_model, first.version, reason="first")
    client = start_app(model_uri=f"models:/{name}@champion", poll_seconds=0.3)
    second = run_experiment(load_config(BASELINE, ["model.params.C=0.9"]), own_model)
    promote(own_model, second.version, reason="newer")
    for _ in range(100):
        if client.post("/predict", json=record()).json()["model"]["version"] == second.version:
            break
        time.sleep(0.1)
    assert client.post("/predict", json=record()).json()["model"]["version"] == second.version


def test_tracker_down_at_startup_serves_the_cached_champion(
    start_app: AppFactory, tracker: Tracker, champion: ExperimentOutcome, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = tmp_path_factory.mktemp("cached")
    first = start_app(directory=directory)
    assert first.get("/model").json()["source"] == "registry"
    dead_tracker = f"http://127.0.0.1:{free_port()}"
    second = start_app(directory=directory, mlflow_tracking_uri=dead_tracker)
    card = second.get("/model").json()
    assert card["source"] == "cache" and card["version"] == champion.version
    ready = second.get("/health/ready").json()
    assert ready["checks"]["model_loaded"]["source"] == "cache"
    assert second.post("/predict", json=record()).status_code == 200


def test_no_cache_and_no_tracker_recovers_by_itself_when_the_tracker_returns(
    start_app: AppFactory, tracker: Tracker
) -> None:
    proxy = TcpProxy(target_port=int(tracker.url.rsplit(":", 1)[1]), port=free_port())
    client = start_app(wait=False, mlflow_tracking_uri=proxy.url)
    assert client.get("/health/ready").status_code == 503
    assert client.post("/predict", json=record()).status_code == 503
    assert client.get("/health/live").status_code == 200
    proxy.open()
    try:
        assert wait_ready(client, timeout=30)["status"] == "ready"
        assert client.post("/predict", json=record()).status_code == 200
    finally:
        proxy.close()
