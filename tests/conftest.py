"""Session-wide real collaborators: one MLflow tracking server and one trained, promoted baseline."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
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
from tests.postgres import Postgres
from tests.support import REPO_ROOT, free_port, start_cli, stop, wait_for_http  # noqa: E402
from tests.tools import message, needs_tool, verdict  # noqa: E402

BASELINE = REPO_ROOT / "experiments" / "baseline.yaml"
pytest_plugins = ["tests.receivers"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--missing-tools", action="store_true", help="list the tests whose Debian tools are missing")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_tool(*binaries): runs these Debian binaries (tests/tools.py)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(needs_tool("initdb"))
    if config.getoption("--missing-tools"):
        for item in items:
            found = verdict(item)
            if found:
                print(f"will {found[0]}: {item.nodeid} (needs {', '.join(found[1])})")


def pytest_runtest_setup(item: pytest.Item) -> None:
    found = verdict(item)
    if found is None:
        return
    if found[0] == "skip":
        pytest.skip(message(found[1]))
    pytest.fail(message(found[1]), pytrace=False)


@dataclass(frozen=True)
class Tracker:
    url: str
    data_dir: Path


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Postgres]:
    """One real PostgreSQL for the session; tests take a fresh database each (`postgres_url`)."""
    cluster = Postgres()
    cluster.start()
    yield cluster
    cluster.remove()


@pytest.fixture
def postgres_url(postgres_cluster: Postgres, request: pytest.FixtureRequest) -> str:
    return postgres_cluster.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def own_postgres() -> Iterator[Postgres]:
    """A cluster of its own, for a test that stops and starts the database."""
    cluster = Postgres()
    cluster.start()
    yield cluster
    cluster.remove()


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


@dataclass
class PredictorProcess:
    """`churnguard serve` as a real process; `restart()` keeps its port, cache and audit log."""

    url: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, wait_ready: bool = True) -> None:
        self.process = start_cli(["serve"], env=self.env, log_path=self.log_path)
        if wait_ready:
            wait_for_http(f"{self.url}/health/ready", timeout=60, process=self.process)

    def stop(self) -> int:
        assert self.process is not None
        return stop(self.process)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


def new_predictor_process(tracker_url: str, directory: Path) -> PredictorProcess:
    """A predictor on a free port with its cache, audit log and log file under `directory`."""
    port = free_port()
    env = {
        "MLFLOW_TRACKING_URI": tracker_url,
        "PREDICTOR_PORT": str(port),
        "PREDICTOR_CACHE_DIR": str(directory / "cache"),
        "PREDICTOR_AUDIT_URL": f"sqlite:///{directory / 'audit.sqlite3'}",
        "PREDICTOR_AUDIT_SPILL_DIR": str(directory / "audit-spill"),  # never the repository's var/
        "PREDICTOR_READY_CACHE_SECONDS": "0",
        "PREDICTOR_RETRY_SECONDS": "0.5",
    }
    return PredictorProcess(f"http://127.0.0.1:{port}", port, env, directory / "predictor.log")


@pytest.fixture
def predictor_process(tracker: Tracker, champion: ExperimentOutcome, tmp_path: Path) -> Iterator[PredictorProcess]:
    """A real predictor on a free port, serving the session champion (started by the test)."""
    handle = new_predictor_process(tracker.url, tmp_path)
    yield handle
    if handle.process is not None and handle.process.poll() is None:
        handle.stop()
