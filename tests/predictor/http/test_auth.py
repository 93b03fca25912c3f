"""Bearer API keys guard scoring, the model card and audit look-ups; health and metrics stay open."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.predictor.conftest import AppFactory, record

pytestmark = pytest.mark.slow

KEYS = "first-key-123,second-key-456"


@pytest.fixture
def guarded(start_app: AppFactory) -> TestClient:
    return start_app(api_keys=KEYS)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "first-key-123"},
        {"Authorization": "Basic Zm9vOmJhcg=="},
    ],
    ids=["no header", "wrong key", "no scheme", "basic auth"],
)
def test_protected_routes_answer_401_without_a_valid_key(guarded: TestClient, headers: dict[str, str]) -> None:
    for method, path, body in [
        ("POST", "/predict", record()),
        ("POST", "/predict/batch", {"customers": [record()]}),
        ("GET", "/model", None),
        ("GET", "/predictions/abc", None),
        ("POST", "/admin/reload", None),
    ]:
        response = guarded.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (path, response.text)
        assert response.json()["error"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("key", KEYS.split(","))
def test_each_configured_key_is_accepted(guarded: TestClient, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    assert guarded.post("/predict", json=record(), headers=headers).status_code == 200
    assert guarded.get("/model", headers=headers).status_code == 200


def test_health_and_metrics_stay_open(guarded: TestClient) -> None:
    assert guarded.get("/health/live").status_code == 200
    assert guarded.get("/health/ready").status_code == 200
    assert guarded.get("/metrics").status_code == 200


def test_invalid_input_with_valid_key_is_still_422_not_401(guarded: TestClient) -> None:
    response = guarded.post("/predict", json=record(tenure=-1), headers={"Authorization": "Bearer first-key-123"})
    assert response.status_code == 422


def test_open_when_no_keys_are_configured(client: TestClient) -> None:
    assert client.post("/predict", json=record()).status_code == 200
