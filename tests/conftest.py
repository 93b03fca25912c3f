"""Session-wide real collaborators: one MLflow tracking server and one trained, promoted baseline."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

from services.tracker.config import load_config  # noqa: E402
from services.tracker.experiment import ExperimentOutcome, run_experiment  # noqa: E402
from services.tracker.registry import promote  # noqa: E402
from services.tracker.settings import TrackerSettings  # noqa: E402
from tests.support import REPO_ROOT, free_port, start_cli, stop, wait_for_http  # noqa: E402

BASELINE = REPO_ROOT / "experiments" / "baseline.yaml"


@dataclass(frozen=True)
class Tracker:
    url: str
    data_dir: Path


@pytest.fixture(scope="session")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracker]:
    """A real `mlflow server` (via `churnguard tracker`) on a free port, for the whole session."""
    data_dir = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    process = start_cli(
        ["tracker", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)],
        env={},
        log_path=data_dir / "tracker.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", timeout=90, process=process)
        yield Tracker(url=url, data_dir=data_dir)
    finally:
        stop(process)


@pytest.fixture(scope="session")
def tracker_settings(tracker: Tracker, tmp_path_factory: pytest.TempPathFactory) -> TrackerSettings:
    return TrackerSettings(mlflow_tracking_uri=tracker.url, data_cache_dir=tmp_path_factory.mktemp("data-cache"))


@pytest.fixture(scope="session")
def champion(tracker_settings: TrackerSettings) -> ExperimentOutcome:
    """The baseline, trained once and promoted: what the predictor serves in tests."""
    outcome = run_experiment(load_config(BASELINE), tracker_settings, BASELINE)
    promote(tracker_settings, outcome.version, reason="test session baseline")
    return outcome
