"""Backup and restore, drilled: a running tracker, its champion and the logs are backed up; the tracker is
lost; the restore brings it back and a fresh predictor serves the restored champion. A damaged backup is
refused before anything is written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest

from services.tracker.config import load_config
from services.tracker.experiment import run_experiment
from services.tracker.registry import promote
from services.tracker.settings import TrackerSettings
from tests.conftest import BASELINE, new_predictor_process
from tests.postgres import Postgres
from tests.support import REPO_ROOT, free_port, start_cli, stop, wait_for_http

pytestmark = [pytest.mark.slow, pytest.mark.second_lane]  # beside the rest in make test


def churnguard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600
    )


def start_tracker(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    process = start_cli(
        ["tracker", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)],
        env={},
        log_path=data_dir.parent / f"{data_dir.name}.log",
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/health", timeout=90, process=process)
    return process, url


def test_a_lost_tracker_is_restored_and_serves_its_champion_again(tmp_path: Path, postgres_cluster: Postgres) -> None:
    tracker, url = start_tracker(tmp_path / "tracker")
    try:
        settings = TrackerSettings(mlflow_tracking_uri=url, data_cache_dir=tmp_path / "data-cache")
        outcome = run_experiment(load_config(BASELINE), settings, BASELINE)
        promote(settings, outcome.version, "restore drill")
        audit_url = postgres_cluster.create_database("backup_drill")
        with psycopg.connect(audit_url, autocommit=True) as connection:
            connection.execute("CREATE TABLE predictions (prediction_id TEXT PRIMARY KEY)")
            connection.execute("INSERT INTO predictions VALUES ('kept-through-the-restore')")
        (tmp_path / "lists").mkdir()
        (tmp_path / "lists" / "2026-W48.csv").write_text("rank,customerID\n1,C1\n")
        done = churnguard(
            "backup",
            "--to",
            str(tmp_path / "backup"),
            "--tracker-dir",
            str(tmp_path / "tracker"),
            "--audit-url",
            audit_url,
            "--lists-dir",
            str(tmp_path / "lists"),
        )  # while the tracker serves
        assert done.returncode == 0, done.stderr
    finally:
        stop(tracker)

    damaged = tmp_path / "damaged"
    subprocess.run(["cp", "-r", str(tmp_path / "backup"), str(damaged)], check=True)
    (damaged / "tracker" / "mlflow.db").write_bytes(b"not a database")
    refused = churnguard("restore", "--from", str(damaged), "--tracker-dir", str(tmp_path / "elsewhere"))
    assert refused.returncode == 1 and "damaged" in refused.stderr and not (tmp_path / "elsewhere").exists()

    restored_audit = postgres_cluster.create_database("restored_audit")
    done = churnguard(
        "restore",
        "--from",
        str(tmp_path / "backup"),
        "--tracker-dir",
        str(tmp_path / "restored"),
        "--audit-url",
        restored_audit,
        "--lists-dir",
        str(tmp_path / "restored-lists"),
    )
    assert done.returncode == 0, done.stderr
    with psycopg.connect(restored_audit) as connection:
        assert connection.execute("SELECT prediction_id FROM predictions").fetchall() == [("kept-through-the-restore",)]
    assert (tmp_path / "restored-lists" / "2026-W48.csv").is_file()
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert "tracker/mlflow.db" in manifest["files"] and "audit/audit.sql" in manifest["files"]

    tracker, url = start_tracker(tmp_path / "restored")
    (tmp_path / "fresh-predictor").mkdir()
    predictor = new_predictor_process(url, tmp_path / "fresh-predictor")  # no cache: only the tracker
    predictor.start()
    try:
        served = httpx.get(f"{predictor.url}/model", timeout=10).json()
        assert served["version"] == outcome.version and served["run_id"] == outcome.run_id
        assert httpx.get(f"{predictor.url}/health/ready", timeout=10).status_code == 200
    finally:
        predictor.stop()
        stop(tracker)


def test_the_tracker_runs_on_postgresql(tmp_path: Path, postgres_cluster: Postgres) -> None:
    """The scale-out path: MLflow's store in PostgreSQL, a real run and registration through it."""
    database = postgres_cluster.create_database("mlflow_store").replace("postgresql://", "postgresql+psycopg://")
    port = free_port()
    process = start_cli(
        ["tracker", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(tmp_path / "artifacts-only")],
        env={"CHURNGUARD_TRACKER_BACKEND_STORE_URI": database},
        log_path=tmp_path / "tracker.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", timeout=120, process=process)
        settings = TrackerSettings(mlflow_tracking_uri=url, data_cache_dir=tmp_path / "data-cache")
        outcome = run_experiment(load_config(BASELINE), settings, BASELINE)
    finally:
        stop(process)
    assert not (tmp_path / "artifacts-only" / "mlflow.db").exists()
    with psycopg.connect(database.replace("postgresql+psycopg://", "postgresql://")) as connection:
        versions = connection.execute("SELECT version FROM model_versions WHERE name = 'churn-model'").fetchall()
    assert (int(outcome.version),) in versions
