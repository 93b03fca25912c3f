"""`churnguard tracker`: a real MLflow tracking server (SQLite store, or PostgreSQL with
CHURNGUARD_TRACKER_BACKEND_STORE_URI; artifacts on disk, served)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from services.tracker.settings import TrackerSettings


def server_command(settings: TrackerSettings, host: str, port: int, data_dir: Path) -> list[str]:
    """The `mlflow server` command line for these settings (one worker: 2-core machines)."""
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        settings.tracker_backend_store_uri or f"sqlite:///{data_dir.resolve() / 'mlflow.db'}",
        "--artifacts-destination",
        str((data_dir / "artifacts").resolve()),
        "--serve-artifacts",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
        "--allowed-hosts",
        settings.tracker_allowed_hosts,
    ]


# MLflow 3 starts a job runner and a Huey consumer per queue by default (~2.2 GB and 8 processes on
# this machine); churnguard submits no MLflow jobs. MLflow reads its own variable, so it is set here, once,
# for every way the tracker starts (make up, compose, Kubernetes, the tests).
SERVER_ENVIRONMENT = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def run_tracker(settings: TrackerSettings, host: str | None, port: int | None, data_dir: Path | None) -> None:
    """Replace this process with the MLflow server, so signals reach it directly."""
    directory = data_dir or settings.tracker_data_dir
    directory.mkdir(parents=True, exist_ok=True)
    command = server_command(settings, host or settings.tracker_host, port or settings.tracker_port, directory)
    os.execve(command[0], command, {**os.environ, **SERVER_ENVIRONMENT})
