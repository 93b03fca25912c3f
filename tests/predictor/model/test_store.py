"""Models registered by earlier code keep loading and serving (kept as a fixture, saved before the house)."""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from services.predictor.app import create_app
from services.predictor.model.store import ModelStore
from services.predictor.telemetry.metrics import PredictorMetrics
from services.tracker.experiment import ExperimentOutcome
from tests.conftest import Tracker
from tests.predictor.conftest import VALID_RECORD, make_settings, wait_ready
from tests.support import free_port

LEGACY_MODEL = Path(__file__).resolve().parents[2] / "fixtures" / "model-registered-before-the-house"


def test_a_model_registered_before_typed_metadata_still_serves(tmp_path: Path) -> None:
    """The fixture's metadata has no drift bins and no score profile: it must validate, load and score."""
    cache = tmp_path / "cache" / "churn-model"
    shutil.copytree(LEGACY_MODEL, cache / "7" / "model")
    pointer = {"name": "churn-model", "version": "7", "run_id": "legacy-run", "path": "model"}
    (cache / "current.json").write_text(json.dumps(pointer), encoding="utf-8")
    dead_tracker = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(dead_tracker, tmp_path, tracker_timeout_seconds=1)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert wait_ready(client)["status"] == "ready"
        card = client.get("/model").json()
        assert (card["version"], card["source"], card["fast_path"]) == ("7", "cache", True)
        answer = client.post("/predict", json=VALID_RECORD)
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"]["version"] == "7"
        assert 0.0 < answer.json()["churn_probability"] < 1.0


def test_a_cache_made_for_another_model_uri_is_never_served(tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "churn-model"
    shutil.copytree(LEGACY_MODEL, cache / "7" / "model")
    pointer = {
        "name": "churn-model",
        "version": "7",
        "run_id": "r",
        "path": "model",
        "model_uri": "models:/churn-model/7",
    }
    (cache / "current.json").write_text(json.dumps(pointer), encoding="utf-8")
    dead_tracker = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(dead_tracker, tmp_path, tracker_timeout_seconds=1)  # MODEL_URI: @champion
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        ready = wait_ready(client, timeout=3)
        assert ready["status"] == "not_ready" and "model_loaded" in ready["failing"]
        assert client.post("/predict", json=VALID_RECORD).status_code == 503


def test_the_cache_serves_with_reachable_false_while_the_registry_is_down(tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "churn-model"
    shutil.copytree(LEGACY_MODEL, cache / "7" / "model")
    pointer = {"name": "churn-model", "version": "7", "run_id": "r", "path": "model"}
    (cache / "current.json").write_text(json.dumps(pointer), encoding="utf-8")
    settings = make_settings(f"http://127.0.0.1:{free_port()}", tmp_path, tracker_timeout_seconds=1)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert wait_ready(client)["status"] == "ready"
        deadline = time.monotonic() + 30
        while (registry := client.get("/model").json()["registry"])["checked_at"] is None:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert registry["reachable"] is False and registry["uri"] == "models:/churn-model@champion"
        assert "cannot resolve" in registry["detail"]
        assert "churnguard_registry_reachable 0.0" in client.get("/metrics").text


def test_workers_sharing_an_empty_cache_all_serve_the_champion(
    tracker: Tracker, champion: ExperimentOutcome, tmp_path: Path
) -> None:
    """The workers of one server start together on one cache. Unserialized, each downloaded the version
    and all but the first failed to move their copy into place ("Directory not empty"): no model."""
    settings = make_settings(tracker.url, tmp_path)
    stores = [ModelStore(settings, PredictorMetrics(CollectorRegistry())) for _ in range(3)]
    with ThreadPoolExecutor(len(stores)) as pool:
        loaded = list(pool.map(ModelStore.load_initial, stores))
    assert loaded == [True] * len(stores), [store.last_error for store in stores]
    served = {(store.current.bundle.version, store.current.bundle.run_id) for store in stores if store.current}
    assert served == {(champion.version, champion.run_id)}
    # One download: the others found it in the cache (a second one would have replaced the folder in use).
    assert sorted(store.current.source for store in stores if store.current) == ["cache", "cache", "registry"]
    assert not list((tmp_path / "cache" / "churn-model").glob(".staging-*"))
