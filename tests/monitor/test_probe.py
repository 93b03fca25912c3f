"""Probe verdicts in words, for answers and transport failures the fake targets cannot produce."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import httpx
import pytest

from services.monitor.conditions import Condition
from services.monitor.probe import judge, probe, transport_reason
from services.monitor.state import Target
from services.tracker.experiment import ExperimentOutcome
from tests.conftest import Tracker
from tests.support import free_port, start_cli, stop, wait_for_http

CHAMPION_READ = "api/2.0/mlflow/registered-models/alias?name=churn-model&alias=champion"  # as deployed


def _caused_by(cause: BaseException) -> httpx.ConnectError:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise httpx.ConnectError("connect failed") from inner
    except httpx.ConnectError as error:
        return error


@pytest.mark.parametrize(
    ("cause", "reason"),
    [
        (socket.gaierror(-2, "Name or service not known"), "DNS failure"),
        (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
        (ConnectionResetError(104, "Connection reset by peer"), "connection reset"),
    ],
)
def test_transport_failures_are_named(cause: BaseException, reason: str) -> None:
    assert transport_reason(_caused_by(cause)) == reason


@pytest.mark.parametrize(
    ("status", "body", "verdict"),
    [
        (200, '{"status": "ready"}', (True, "ok")),
        (200, "OK", (True, "ok")),
        (200, '{"status": "not_ready"}', (False, "not ready: not_ready")),
        (200, "<html>", (False, "body is not JSON")),
        (500, '{"message": "boom"}', (False, "HTTP 500: boom")),
        (503, "", (False, "HTTP 503: empty body")),
    ],
)
def test_answers_are_judged(status: int, body: str, verdict: tuple[bool, str]) -> None:
    assert judge(httpx.Response(status, text=body)) == verdict


def test_a_registry_read_that_names_a_version_passes_and_one_that_does_not_fails() -> None:
    ok = judge(httpx.Response(200, text='{"model_version": {"name": "churn-model", "version": "3"}}'))
    missing = judge(httpx.Response(404, text='{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no alias"}'))
    assert ok == (True, "ok")
    assert missing == (False, "HTTP 404: no alias")


@pytest.mark.slow
def test_a_tracker_whose_database_is_corrupt_is_down_though_its_health_says_ok(
    tmp_path: Path, tracker: Tracker, champion: ExperimentOutcome
) -> None:
    """Own tracker on a copy of the session's registry (it has a champion); then the copy is destroyed."""
    data_dir = tmp_path / "mlflow"
    data_dir.mkdir()
    with sqlite3.connect(tracker.data_dir / "mlflow.db") as source, sqlite3.connect(data_dir / "mlflow.db") as copy:
        source.backup(copy)
    port = free_port()
    process = start_cli(
        ["tracker", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)], {}, tmp_path / "t.log"
    )
    url = f"http://127.0.0.1:{port}"
    target = Target("tracker", f"{url}/{CHAMPION_READ}")
    try:
        wait_for_http(f"{url}/health", timeout=90, process=process)
        with httpx.Client() as client:
            healthy = probe(client, target, 10)
            assert healthy.ok, healthy.reason
            (data_dir / "mlflow.db").write_bytes(b"this is not a database" * 1000)
            assert httpx.get(f"{url}/health").text == "OK"  # what the old check looked at
            broken = probe(client, target, 10)
        assert not broken.ok and broken.reason == "HTTP 400: (sqlite3.DatabaseError) file is not a database"
    finally:
        stop(process)


@pytest.mark.parametrize(
    ("conditions", "verdict"),
    [
        (("[CONNECTED] == false",), (True, "ok")),  # Gatus judges an unreachable target too
        (("[CONNECTED] == true",), (False, "connection refused")),
        (("[CONNECTED] == false", "[STATUS] == 200"), (False, "connection refused")),
    ],
)
def test_a_target_nobody_answers_is_judged_by_its_conditions_with_connected_false(
    conditions: tuple[str, ...], verdict: tuple[bool, str]
) -> None:
    target = Target("closed-port", f"http://127.0.0.1:{free_port()}/", tuple(Condition.parse(c) for c in conditions))
    with httpx.Client() as client:
        result = probe(client, target, 2)
    assert (result.ok, result.reason) == verdict
