"""Every prediction is traceable: looked up by id, and durable across SIGTERM and SIGKILL."""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import threading
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from services.predictor.auth import key_id
from tests.conftest import PredictorProcess
from tests.predictor.conftest import AppFactory, record

pytestmark = pytest.mark.slow


def test_prediction_record_can_be_looked_up_by_id(start_app: AppFactory) -> None:
    client = start_app(api_keys="secret-key")
    auth = {"Authorization": "Bearer secret-key"}
    sent = record(customerID="AUDIT-1")
    prediction = client.post("/predict", json=sent, headers=auth).json()
    stored = client.get(f"/predictions/{prediction['prediction_id']}", headers=auth)
    assert stored.status_code == 200
    body = stored.json()
    assert body["customer_id"] == "AUDIT-1"
    assert body["churn_probability"] == prediction["churn_probability"]
    assert body["model_version"] == prediction["model"]["version"] and body["run_id"] == prediction["model"]["run_id"]
    assert body["input_sha256"] == hashlib.sha256(orjson.dumps(sent, option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert body["api_key_id"] == key_id("secret-key") and "secret-key" not in stored.text


def test_unknown_prediction_id_is_a_json_404(client: TestClient) -> None:
    response = client.get("/predictions/does-not-exist")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def audit_ids(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("SELECT prediction_id FROM predictions")}


def test_sigterm_loses_no_accepted_prediction(predictor_process: PredictorProcess, tmp_path: Path) -> None:
    predictor_process.env["PREDICTOR_AUDIT_FLUSH_SECONDS"] = "5"  # nothing flushed before the signal
    predictor_process.start()
    batch = {"customers": [record(customerID=f"T{i}") for i in range(2000)]}
    answered = httpx.post(f"{predictor_process.url}/predict/batch", json=batch, timeout=30).json()
    # uvicorn re-raises the signal after a clean shutdown, so "terminated by SIGTERM" is the clean exit.
    assert predictor_process.stop() in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in (tmp_path / "predictor.log").read_text()
    served = {p["prediction_id"] for p in answered["predictions"]}
    assert served <= audit_ids(tmp_path / "audit.sqlite3")


def test_sigkill_during_batches_leaves_only_complete_records(
    predictor_process: PredictorProcess, tmp_path: Path
) -> None:
    predictor_process.env["PREDICTOR_AUDIT_FLUSH_SECONDS"] = "0.01"
    predictor_process.start()
    batch = {"customers": [record(customerID=f"K{i}") for i in range(5000)]}

    def hammer() -> None:
        with httpx.Client(timeout=30) as http:
            for _ in range(20):
                try:
                    http.post(f"{predictor_process.url}/predict/batch", json=batch)
                except httpx.HTTPError:
                    return

    worker = threading.Thread(target=hammer)
    worker.start()
    threading.Event().wait(1.5)
    predictor_process.kill()
    worker.join(30)
    with sqlite3.connect(tmp_path / "audit.sqlite3") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = connection.execute(
            "SELECT COUNT(*) FROM predictions WHERE prediction_id IS NULL OR input_sha256 IS NULL "
            "OR length(input_sha256) != 64 OR churn_probability IS NULL OR model_version IS NULL"
        ).fetchone()[0]
        written = connection.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]
    assert rows == 0 and written > 0
    predictor_process.start()  # restarts cleanly on the same file
    assert httpx.post(f"{predictor_process.url}/predict", json=record(), timeout=10).status_code == 200
