"""A PostgreSQL audit log stopped mid-load: never silent, never an answer that cannot be recorded,
nothing lost once it is back. Replicas sharing the log find each other's predictions."""

from __future__ import annotations

import math
from pathlib import Path

import psycopg
import pytest

from tests.postgres import Postgres
from tests.predictor.conftest import AppFactory, record
from tests.receivers import eventually

pytestmark = pytest.mark.slow


def stored_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT prediction_id, count(*) FROM predictions GROUP BY prediction_id")
        return {str(prediction_id): int(count) for prediction_id, count in rows}


@pytest.mark.parametrize("durable", [True, False])
def test_while_postgres_is_down_answers_are_spilled_to_the_bound_then_503_and_each_reaches_it_once(
    start_app: AppFactory, own_postgres: Postgres, tmp_path: Path, durable: bool
) -> None:
    """Durable (the default) or batched: the spill takes what the database cannot, bounded in bytes; past
    the bound, 503; ready while answers can be recorded; spilled ids are found; once back, each id once."""
    client = start_app(
        audit_url=own_postgres.url, audit_durable=durable, audit_spill_max_bytes=40_000, directory=tmp_path
    )
    before = client.post("/predict", json=record()).json()["prediction_id"]
    eventually(lambda: before in stored_counts(own_postgres.url), 10)
    own_postgres.stop()
    answered, refused = [], []
    for _ in range(80):
        response = client.post("/predict", json=record())
        (answered if response.status_code == 200 else refused).append(response)
        if len(answered) == 5:
            ready = client.get("/health/ready").json()  # spilling: every answer is still recorded
            assert ready["status"] == "ready" and "answers are spilled to" in ready["checks"]["audit_log"]["detail"]
    assert 20 <= len(answered) < 80 and {r.status_code for r in refused} == {503}, "the spill's bound in bytes"
    assert refused[-1].json()["error"] == "audit_unavailable"
    assert "PREDICTOR_AUDIT_SPILL_MAX_BYTES" in refused[-1].json()["message"]
    ready = client.get("/health/ready")
    assert ready.status_code == 503 and "spill full" in ready.json()["checks"]["audit_log"]["detail"]
    assert "postgresql://churnguard:***@" in ready.json()["checks"]["audit_log"]["detail"]
    assert list((tmp_path / "audit-spill").glob("*.spill")), "on disk, where PREDICTOR_AUDIT_SPILL_DIR says"
    lookup = client.get(f"/predictions/{before}")
    assert lookup.status_code == 503 and lookup.json()["error"] == "audit_unavailable"
    spilled = answered[0].json()
    found = client.get(f"/predictions/{spilled['prediction_id']}").json()
    assert found["churn_probability"] == spilled["churn_probability"], "a spilled id is found, never a 404"
    own_postgres.start()
    eventually(lambda: client.get("/health/ready").status_code == 200, 30)
    ids = [response.json()["prediction_id"] for response in answered]
    eventually(lambda: set(ids) <= set(stored_counts(own_postgres.url)), 15)
    counts = stored_counts(own_postgres.url)
    assert all(counts[prediction_id] == 1 for prediction_id in ids)
    assert not list((tmp_path / "audit-spill").glob("*.spill")), "written back, then removed"
    for response in answered[:3]:
        found = client.get(f"/predictions/{response.json()['prediction_id']}")
        assert found.status_code == 200 and found.json()["churn_probability"] == response.json()["churn_probability"]
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


def gauge(client, name: str) -> float:  # type: ignore[no-untyped-def]
    [line] = [line for line in client.get("/metrics").text.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])


def test_a_postgres_audit_database_is_watched_against_its_quota_and_says_so_when_it_cannot_be(  # type: ignore[no-untyped-def]
    start_app: AppFactory, postgres_url: str, tmp_path
) -> None:
    """Found by reading: AuditDiskFilling could not fire on PostgreSQL (no disk of its own to measure).
    With PREDICTOR_AUDIT_QUOTA_BYTES the database's size is measured against it; without, /model says the
    disk is not watched rather than show nothing."""
    with psycopg.connect(postgres_url) as connection:
        size = int(connection.execute("SELECT pg_database_size(current_database())").fetchone()[0])  # type: ignore[index]
    quota = int(size * 1.1)  # 91% full: the rule's "80% full" fires on this
    watched = start_app(audit_url=postgres_url, audit_quota_bytes=quota, directory=tmp_path / "a")
    assert watched.post("/predict/batch", json={"customers": [record()] * 50}).status_code == 200
    assert gauge(watched, "churnguard_audit_disk_size_bytes") == quota
    free = gauge(watched, "churnguard_audit_disk_free_bytes")
    assert 0 <= free / quota < 0.2, "what AuditDiskFilling's first clause reads"
    assert watched.get("/model").json()["audit_disk"] == {"watched": True, "reason": None}

    unwatched = start_app(audit_url=postgres_url, directory=tmp_path / "b")
    assert math.isnan(gauge(unwatched, "churnguard_audit_disk_free_bytes")), "no number is invented"
    disk = unwatched.get("/model").json()["audit_disk"]
    assert disk["watched"] is False and "PREDICTOR_AUDIT_QUOTA_BYTES is not set" in disk["reason"]
