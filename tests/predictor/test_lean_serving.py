"""A linear model serves without sklearn, scipy or pandas in the predictor's process.

A new version is downloaded and checked in a child process, which keeps the derived linear scorer
beside the cached model; the predictor serves that scorer after checking the canary on both of its
paths, from the registry and after a restart from the cache. What the process really loaded is read
from /proc/PID/maps (the shared libraries mapped), not from the predictor's own word.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from services.predictor.scoring.scorers.linear import SIDECAR_NAME
from tests.conftest import PredictorProcess
from tests.predictor.conftest import AppFactory
from tests.support import valid_customers

pytestmark = pytest.mark.slow

HEAVY = ("/sklearn/", "/scipy/", "/pandas/")


def test_a_linear_model_serves_without_sklearn_from_the_registry_and_the_cache(
    predictor_process: PredictorProcess,
) -> None:
    customers = valid_customers()[:50]
    predictor_process.start()
    first = _probabilities(predictor_process, customers)
    assert _heavy_libraries(predictor_process) == set()
    assert _model(predictor_process) == ("linear", True, "registry")
    assert json.loads(_sidecar(predictor_process).read_text())["format"] == 1
    predictor_process.stop()

    predictor_process.start()
    assert _heavy_libraries(predictor_process) == set()
    assert _model(predictor_process) == ("linear", True, "cache")
    assert _probabilities(predictor_process, customers) == first


def test_a_kept_scorer_that_misses_the_canary_is_derived_again(predictor_process: PredictorProcess) -> None:
    customers = valid_customers()[:50]
    predictor_process.start()
    first = _probabilities(predictor_process, customers)
    predictor_process.stop()
    sidecar = _sidecar(predictor_process)
    honest = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**honest, "intercept": honest["intercept"] + 0.25}))

    predictor_process.start()
    assert _heavy_libraries(predictor_process), "a wrong kept scorer must send the predictor back to the pipeline"
    assert _probabilities(predictor_process, customers) == first
    assert json.loads(sidecar.read_text()) == honest


def _model(predictor: PredictorProcess) -> tuple[str, bool, str]:
    model = httpx.get(f"{predictor.url}/model", timeout=5).json()
    return model["scorer"], model["fast_path"], model["source"]


def _sidecar(predictor: PredictorProcess) -> Path:
    found = list(Path(predictor.env["PREDICTOR_CACHE_DIR"]).rglob(SIDECAR_NAME))
    assert len(found) == 1, found
    return found[0]


def _probabilities(predictor: PredictorProcess, customers: list[dict[str, object]]) -> list[float]:
    response = httpx.post(f"{predictor.url}/predict/batch", json={"customers": customers}, timeout=10)
    assert response.status_code == 200, response.text
    return [p["churn_probability"] for p in response.json()["predictions"]]


def _heavy_libraries(predictor: PredictorProcess) -> set[str]:
    assert predictor.process is not None
    maps = Path(f"/proc/{predictor.process.pid}/maps").read_text()
    return {library for library in HEAVY if library in maps}


def test_a_version_whose_preparation_takes_too_long_is_refused_with_the_limit_used(start_app: AppFactory) -> None:
    """PREDICTOR_PREPARE_TIMEOUT_SECONDS bounds the child process; the refusal names the value in force."""
    client = start_app(wait=False, prepare_timeout_seconds=0.05)
    deadline = time.monotonic() + 30
    while "took longer" not in _model_error(client) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "preparing version" in _model_error(client) and "took longer than 0.05 s" in _model_error(client)
    assert client.get("/health/ready").status_code == 503


def _model_error(client: TestClient) -> str:
    """No model: /model answers 503 with the reason (the last load error)."""
    answer = client.get("/model")
    return str(answer.json().get("message")) if answer.status_code == 503 else ""
