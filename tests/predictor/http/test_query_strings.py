"""No query string yields a 5xx: arbitrary text (unicode digits included) for every query and path parameter
of every route the app serves, with keys that pass, sees only 2xx or 4xx."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.predictor.app import create_app
from tests.conftest import ExperimentOutcome, Tracker
from tests.predictor.conftest import VALID_RECORD, make_settings, wait_ready

pytestmark = pytest.mark.slow
KEY, ADMIN = "query-key", "query-admin"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}
TRICKY = st.sampled_from(["²", "٣", "１", "-1", "1e3", "0x1", " 3", "3 ", "", "%", "\x00", "10" * 30, "NaN"])
TEXT = st.one_of(TRICKY, st.text(max_size=40))


@pytest.fixture(scope="module")
def keyed(
    tracker: Tracker, champion: ExperimentOutcome, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    options = make_settings(tracker.url, tmp_path_factory.mktemp("query"), api_keys=[KEY, ADMIN], admin_keys=[ADMIN])
    with TestClient(create_app(options), raise_server_exceptions=False) as client:
        assert wait_ready(client)["status"] == "ready"
        yield client


def routes(client: TestClient) -> list[tuple[str, str]]:
    app = client.app
    return sorted(
        (method, route.path)
        for route in app.routes  # type: ignore[attr-defined]
        if isinstance(route, APIRoute)
        for method in route.methods or ()
        if route.path != "/weekly-list" or method == "GET"  # the upload form: its query string is all it reads
    )


def test_reasons_written_in_a_unicode_digit_is_a_422_naming_the_parameter(keyed: TestClient) -> None:
    response = keyed.post("/predict?reasons=²", json=VALID_RECORD, headers=HEADERS)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "reasons"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=TEXT, name=st.one_of(st.just("reasons"), st.just("top"), st.text(min_size=1, max_size=10)), path=TEXT)
def test_no_query_or_path_text_yields_a_5xx(keyed: TestClient, value: str, name: str, path: str) -> None:
    query = f"{quote(name, safe='')}={quote(value, safe='')}"
    for method, template in routes(keyed):
        url = template
        for part in ("{prediction_id}", "{folder}", "{name}"):
            url = url.replace(part, quote(path, safe="") or "x")
        body = {"json": VALID_RECORD} if method == "POST" else {}
        response = keyed.request(method, f"{url}?{query}", headers=HEADERS, **body)  # type: ignore[arg-type]
        assert response.status_code < 500, (method, url, query, response.status_code, response.text[:300])
