"""Models registered by earlier code keep loading and serving (kept as a fixture, saved before the house)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from services.predictor.app import create_app
from tests.predictor.conftest import VALID_RECORD, make_settings, wait_ready
from tests.support import free_port

LEGACY_MODEL = Path(__file__).resolve().parents[1] / "fixtures" / "model-registered-before-the-house"


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
