"""A PostgreSQL audit log stopped mid-load: never silent, never an answer that cannot be recorded,
nothing lost once it is back. Replicas sharing the log find each other's predictions."""

from __future__ import annotations

import time

import pytest

from tests.postgres import Postgres
from tests.predictor.conftest import AppFactory, record
from tests.receivers import eventually

pytestmark = pytest.mark.slow


def test_batched_predictions_wait_up_to_the_bound_then_503_and_nothing_is_lost(
    start_app: AppFactory, own_postgres: Postgres
) -> None:
    client = start_app(audit_url=own_postgres.url, audit_durable=False, audit_max_pending=50)
    before = client.post("/predict", json=record()).json()["prediction_id"]
    eventually(lambda: client.get(f"/predictions/{before}").json().get("replayable") is True, 10)
    time.sleep(0.3)  # committed, not just pending
    own_postgres.stop()
    answered, refused = [], []
    for _ in range(80):
        response = client.post("/predict", json=record())
        (answered if response.status_code == 200 else refused).append(response)
    assert len(answered) == 50, "the bound: records kept while the database is down"
    assert {r.status_code for r in refused} == {503}
    assert refused[0].json()["error"] == "audit_unavailable" and "the bound is 50" in refused[0].json()["message"]
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert "audit log postgresql://churnguard:***@" in ready.json()["checks"]["audit_log"]["detail"]
    lookup = client.get(f"/predictions/{before}")
    assert lookup.status_code == 503 and lookup.json()["error"] == "audit_unavailable"
    pending_id = answered[-1].json()["prediction_id"]
    assert client.get(f"/predictions/{pending_id}").status_code == 200  # still pending here: found here
    own_postgres.start()
    eventually(lambda: client.get("/health/ready").status_code == 200, 30)
    for response in answered:
        found = client.get(f"/predictions/{response.json()['prediction_id']}")
        assert found.status_code == 200 and found.json()["churn_probability"] == response.json()["churn_probability"]
    assert client.post("/predict", json=record()).status_code == 200


def test_durable_predictions_are_refused_while_the_database_is_down(
    start_app: AppFactory, own_postgres: Postgres
) -> None:
    client = start_app(audit_url=own_postgres.url, audit_durable=True, audit_commit_timeout_seconds=2)
    assert client.post("/predict", json=record()).status_code == 200
    own_postgres.stop()
    statuses = [client.post("/predict", json=record()).status_code for _ in range(5)]
    assert set(statuses) == {503}
    own_postgres.start()
    eventually(lambda: client.get("/health/ready").status_code == 200, 30)
    assert client.post("/predict", json=record()).status_code == 200


def test_replicas_sharing_a_log_find_every_prediction_by_id(start_app: AppFactory, postgres_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = start_app(audit_url=postgres_url, audit_durable=True, directory=tmp_path / "a")
    second = start_app(audit_url=postgres_url, audit_durable=True, directory=tmp_path / "b")
    made_by_first = first.post("/predict/batch", json={"customers": [record()] * 20}).json()["predictions"]
    made_by_second = second.post("/predict", json=record()).json()
    for prediction in [*made_by_first, made_by_second]:
        for replica in (first, second):
            found = replica.get(f"/predictions/{prediction['prediction_id']}")
            assert found.status_code == 200 and found.json()["input"]["customerID"] == prediction["customerID"]
