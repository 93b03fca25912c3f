"""Readiness tells the truth: each named check is broken on purpose and must turn /health/ready to 503."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest

from services.predictor.scoring.scorers.linear import LinearScorer
from tests.conftest import Tracker
from tests.predictor.conftest import AppFactory, record, wait_ready
from tests.proxy import TcpProxy
from tests.support import free_port

pytestmark = pytest.mark.slow


def test_ready_reports_every_check_passing(start_app: AppFactory) -> None:
    client = start_app()
    body = client.get("/health/ready").json()
    assert body["status"] == "ready" and body["failing"] == []
    assert set(body["checks"]) == {"model_loaded", "canary", "audit_log"}
    assert all(check["ok"] for check in body["checks"].values())


def test_ready_is_503_when_no_model_can_be_loaded_but_live_stays_200(start_app: AppFactory) -> None:
    client = start_app(wait=False, mlflow_tracking_uri=f"http://127.0.0.1:{free_port()}")
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert "model_loaded" in ready.json()["failing"] and "canary" in ready.json()["failing"]
    assert client.get("/health/live").status_code == 200
    predict = client.post("/predict", json=record())
    assert predict.status_code == 503 and predict.json()["error"] == "no_model"
    assert client.post("/predict/batch", json={"customers": [record()]}).status_code == 503
    assert client.get("/model").status_code == 503


def test_ready_is_503_when_the_canary_no_longer_reproduces(start_app: AppFactory) -> None:
    client = start_app()
    store = client.app.state.services.store  # type: ignore[attr-defined]
    model = store.current
    assert isinstance(model.scorer, LinearScorer)
    # Silently corrupt the served weights, as a bad deploy or memory fault would.
    store.current = replace(model, scorer=replace(model.scorer, intercept=model.scorer.intercept + 0.01))
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["failing"] == ["canary"]
    assert "canary gave" in ready.json()["checks"]["canary"]["detail"]


def test_ready_is_503_when_the_canary_is_over_its_time_budget(start_app: AppFactory) -> None:
    client = start_app(wait=False, canary_budget_seconds=0)
    deadline = time.monotonic() + 60  # the model loads first (slower on a busy machine); then only the canary fails
    while "model_loaded" in (body := wait_ready(client, timeout=1))["failing"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert body["failing"] == ["canary"]
    assert "budget" in body["checks"]["canary"]["detail"]


@pytest.mark.parametrize("durable", [True, False])
def test_ready_while_answers_spill_and_503_with_predictions_refused_once_nothing_can_record_them(
    start_app: AppFactory, tmp_path: Path, durable: bool
) -> None:
    """The database file lost: answers go on into the spill, and readiness says so. The spill lost too:
    not ready, and predictions refused (at once when durable; batched, once the writer finds out)."""
    client = start_app(directory=tmp_path, audit_durable=durable)
    assert client.post("/predict", json=record()).status_code == 200
    time.sleep(0.2)  # committed
    audit_db = tmp_path / "audit.sqlite3"
    for leftover in tmp_path.glob("audit.sqlite3*"):
        leftover.unlink()
    audit_db.mkdir()  # the path now cannot be opened as a database: as good as a lost disk
    ready = client.get("/health/ready")
    assert ready.status_code == 200, ready.json()
    detail = ready.json()["checks"]["audit_log"]["detail"]
    assert detail.startswith("audit log sqlite:///") and f"answers are spilled to {tmp_path / 'audit-spill'}" in detail
    spilled = [client.post("/predict", json=record()) for _ in range(3)]
    assert [response.status_code for response in spilled] == [200] * 3
    shutil.rmtree(tmp_path / "audit-spill")
    (tmp_path / "audit-spill").write_text("not a directory")  # and the spill's disk is lost as well
    ready = client.get("/health/ready")
    assert ready.status_code == 503 and ready.json()["failing"] == ["audit_log"]
    assert "audit spill" in ready.json()["checks"]["audit_log"]["detail"]
    statuses = [client.post("/predict", json=record()).status_code for _ in range(5)]
    assert statuses == [503] * 5
    refused = client.post("/predict", json=record())
    assert refused.status_code == 503 and refused.json()["error"] == "audit_unavailable"
    shutil.rmtree(audit_db)  # the disk comes back: the service recovers by itself
    (tmp_path / "audit-spill").unlink()
    assert wait_ready(client, timeout=10)["status"] == "ready"
    assert client.post("/predict", json=record()).status_code == 200


def test_ready_turns_200_as_soon_as_the_model_loads_not_after_a_cached_failure(
    start_app: AppFactory, tracker: Tracker
) -> None:
    proxy = TcpProxy(target_port=int(tracker.url.rsplit(":", 1)[1]), port=free_port())
    client = start_app(wait=False, mlflow_tracking_uri=proxy.url, ready_cache_seconds=60)
    assert client.get("/health/ready").status_code == 503
    proxy.open()
    try:
        assert wait_ready(client, timeout=30)["status"] == "ready"
    finally:
        proxy.close()
