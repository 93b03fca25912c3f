"""Schemathesis against the predictor's own OpenAPI document, on a live server: no input yields a 5xx."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.tracker.experiment import ExperimentOutcome
from tests.conftest import Tracker, new_predictor_process
from tests.support import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live_predictor(
    tracker: Tracker, champion: ExperimentOutcome, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    handle = new_predictor_process(tracker.url, tmp_path_factory.mktemp("fuzzed"))
    handle.start()
    yield handle.url
    handle.stop()


def test_no_generated_request_gets_a_server_error(live_predictor: str, tmp_path: Path) -> None:
    """The schemathesis CLI (bounded examples, fixed seed) with only the not-a-server-error check."""
    result = subprocess.run(
        [
            str(REPO_ROOT / ".venv" / "bin" / "schemathesis"),
            "run",
            f"{live_predictor}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "40",
            "--seed",
            "7",
            "--report",
            "junit",
            "--report-junit-path",
            str(tmp_path / "junit.xml"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    report = (tmp_path / "junit.xml").read_text()
    assert "/predict/batch" in report and "/predict" in report  # the scoring routes were exercised


def test_openapi_document_is_precise(live_predictor: str) -> None:
    import httpx

    document = httpx.get(f"{live_predictor}/openapi.json", timeout=5).json()
    record = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert record["additionalProperties"] is False
    assert record["properties"]["Contract"]["enum"] == ["Month-to-month", "One year", "Two year"]
    assert record["properties"]["tenure"]["maximum"] == 1200
    batch = document["paths"]["/predict/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert batch["properties"]["customers"]["maxItems"] == 10_000
