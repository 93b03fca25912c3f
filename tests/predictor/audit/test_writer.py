"""Every prediction is traceable: looked up by id, and durable across SIGTERM and SIGKILL."""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient

from services.predictor.http.auth import key_id
from tests.conftest import PredictorProcess
from tests.postgres import Postgres
from tests.predictor.conftest import AppFactory, record
from tests.receivers import eventually

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
    assert body["input"] == sent and body["model"] == prediction["model"] and body["replayable"] is True
    assert (body["threshold"], body["churn"]) == (prediction["threshold"], prediction["churn"])
    assert body["request_id"] and body["created_at"] and body["warnings"] == prediction["warnings"]


def test_admin_routes_take_an_admin_key_and_refuse_a_scoring_key(start_app: AppFactory) -> None:
    client = start_app(api_keys="scoring-key", admin_keys="admin-key")
    scoring, admin = {"Authorization": "Bearer scoring-key"}, {"Authorization": "Bearer admin-key"}
    prediction = client.post("/predict", json=record(), headers=scoring).json()
    lookup = f"/predictions/{prediction['prediction_id']}"
    refused = client.get(lookup, headers=scoring)
    assert refused.status_code == 403 and "admin key" in refused.json()["message"]
    assert client.post("/admin/reload", headers=scoring).status_code == 403
    assert client.get(lookup).status_code == 401
    assert client.get(lookup, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get(lookup, headers=admin).status_code == 200
    assert client.post("/admin/reload", headers=admin).status_code == 200
    assert client.post("/predict", json=record(), headers=admin).status_code == 200  # an admin may score


def test_without_admin_keys_the_scoring_keys_reach_admin_routes(start_app: AppFactory) -> None:
    client = start_app(api_keys="only-key")
    auth = {"Authorization": "Bearer only-key"}
    prediction = client.post("/predict", json=record(), headers=auth).json()
    assert client.get(f"/predictions/{prediction['prediction_id']}", headers=auth).status_code == 200
    assert client.post("/admin/reload", headers=auth).status_code == 200


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


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_under_load_loses_no_answered_prediction(
    predictor_process: PredictorProcess, tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    """The default settings (durable): 8 clients, SIGKILL after 3 s; every id a client got back is in the log."""
    if backend == "postgresql":
        predictor_process.env["PREDICTOR_AUDIT_URL"] = request.getfixturevalue("postgres_url")
    predictor_process.start()
    with load(predictor_process.url, clients=8) as answered:
        threading.Event().wait(3)
        predictor_process.kill()
    assert len(answered) > 300
    stored = audit_ids(tmp_path / "audit.sqlite3") if backend == "sqlite" else pg_ids(request)
    missing = set(answered) - stored
    assert not missing, f"{len(missing)} of {len(answered)} answered predictions are not in the audit log"


@contextmanager
def load(url: str, clients: int) -> Iterator[list[str]]:
    """`clients` threads posting single records until the block ends; yields the ids answered 200."""
    answered: list[str] = []
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(timeout=10) as http:
            while not stop.is_set():
                try:
                    response = http.post(f"{url}/predict", json=record())
                except httpx.HTTPError:
                    return
                if response.status_code == 200:
                    answered.append(response.json()["prediction_id"])

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield answered
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)


def test_postgres_stopped_under_load_then_sigkill_restart_and_recovery_lose_no_answered_id(
    predictor_process: PredictorProcess, own_postgres: Postgres, tmp_path: Path
) -> None:
    """The default settings on PostgreSQL: the database stops under 8 clients, answers go on (spilled), the
    predictor is SIGKILLed, restarted while the database is still down, then the database comes back: every
    answered id is in PostgreSQL, once."""
    predictor_process.env["PREDICTOR_AUDIT_URL"] = own_postgres.url
    predictor_process.start()
    with load(predictor_process.url, clients=8) as answered:
        threading.Event().wait(1)
        own_postgres.stop()
        during_outage = len(answered)
        threading.Event().wait(2)
        predictor_process.kill()
    assert len(answered) - during_outage > 100, "answers went on while the database was down"
    assert list((tmp_path / "audit-spill").glob("*.spill")), "what the kill interrupted waits on disk"
    predictor_process.start()  # the database still down: ready, spilling
    own_postgres.start()
    with psycopg.connect(own_postgres.url) as connection:
        counts: dict[str, int] = {}

        def all_written() -> bool:
            rows = connection.execute("SELECT prediction_id, count(*) FROM predictions GROUP BY 1").fetchall()
            counts.update({str(prediction_id): int(count) for prediction_id, count in rows})
            return set(answered) <= set(counts)

        eventually(all_written, 30)
    assert all(counts[prediction_id] == 1 for prediction_id in answered)
    predictor_process.stop()


def pg_ids(request: pytest.FixtureRequest) -> set[str]:
    with psycopg.connect(request.getfixturevalue("postgres_url")) as connection:
        return {row[0] for row in connection.execute("SELECT prediction_id FROM predictions")}


def test_the_old_setting_name_still_places_the_log(predictor_process: PredictorProcess, tmp_path: Path) -> None:
    del predictor_process.env["PREDICTOR_AUDIT_URL"]
    predictor_process.env["PREDICTOR_AUDIT_DB"] = str(tmp_path / "legacy.sqlite3")
    predictor_process.start()
    answer = httpx.post(f"{predictor_process.url}/predict", json=record(), timeout=10).json()
    eventually(lambda: answer["prediction_id"] in audit_ids(tmp_path / "legacy.sqlite3"), 10)
    assert "PREDICTOR_AUDIT_DB is deprecated" in (tmp_path / "predictor.log").read_text()


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
