"""`churnguard replay`: a recorded prediction re-scored with its recorded model version, from SQLite and
PostgreSQL; an altered record or one from before inputs were kept is never "reproduced"."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Tracker
from tests.predictor.conftest import AppFactory, record
from tests.support import REPO_ROOT

pytestmark = pytest.mark.slow


def replay(prediction_id: str, audit_url: str, tracker: Tracker) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracker.url}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "replay", prediction_id, "--audit-url", audit_url],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_prediction_is_reproduced_and_an_altered_one_is_not(
    start_app: AppFactory, tracker: Tracker, tmp_path: Path
) -> None:
    path = tmp_path / "audit.sqlite3"
    client = start_app(audit_url=f"sqlite:///{path}", audit_durable=True)
    answer = client.post("/predict", json=record(tenure=70, Contract="Two year")).json()
    done = replay(answer["prediction_id"], f"sqlite:///{path}", tracker)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"replayed probability: {answer['churn_probability']!r}" in done.stdout
    assert "reproduced: difference 0.0e+00" in done.stdout
    assert f"version {answer['model']['version']}" in done.stdout

    with sqlite3.connect(path) as connection:
        connection.execute(
            "UPDATE predictions SET churn_probability = churn_probability + 1e-9 WHERE prediction_id = ?",
            (answer["prediction_id"],),
        )
    altered = replay(answer["prediction_id"], f"sqlite:///{path}", tracker)
    assert altered.returncode == 1 and "NOT reproduced" in altered.stdout

    with sqlite3.connect(path) as connection:
        connection.execute(
            "UPDATE predictions SET input_json = replace(input_json, '\"tenure\":70', '\"tenure\":71')",
        )
    tampered = replay(answer["prediction_id"], f"sqlite:///{path}", tracker)
    assert tampered.returncode == 1 and "does not match its recorded sha256" in tampered.stdout

    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE predictions SET input_json = NULL")
    old = replay(answer["prediction_id"], f"sqlite:///{path}", tracker)
    assert old.returncode == 1 and "cannot be replayed" in old.stdout

    unknown = replay("no-such-id", f"sqlite:///{path}", tracker)
    assert unknown.returncode == 1 and "no prediction 'no-such-id'" in unknown.stdout


def test_replay_reads_a_postgresql_log(start_app: AppFactory, tracker: Tracker, postgres_url: str) -> None:
    client = start_app(audit_url=postgres_url, audit_durable=True)
    answer = client.post("/predict/batch", json={"customers": [record(), record(tenure=3)]}).json()
    done = replay(answer["predictions"][1]["prediction_id"], postgres_url, tracker)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reproduced" in done.stdout
