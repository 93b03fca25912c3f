"""Schemathesis against the predictor's own OpenAPI document, on a live server: no input yields a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from services.tracker.experiment import ExperimentOutcome
from tests.conftest import Tracker, new_predictor_process

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live_predictor(
    tracker: Tracker, champion: ExperimentOutcome, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    handle = new_predictor_process(tracker.url, tmp_path_factory.mktemp("fuzzed"))
    handle.start()
    yield handle.url
    handle.stop()


@pytest.fixture(scope="module")
def api_schema(live_predictor: str) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_url(f"{live_predictor}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error])


def test_openapi_document_is_precise(live_predictor: str) -> None:
    import httpx

    document = httpx.get(f"{live_predictor}/openapi.json", timeout=5).json()
    record = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert record["additionalProperties"] is False
    assert record["properties"]["Contract"]["enum"] == ["Month-to-month", "One year", "Two year"]
    assert record["properties"]["tenure"]["maximum"] == 1200
    batch = document["paths"]["/predict/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert batch["properties"]["customers"]["maxItems"] == 10_000
