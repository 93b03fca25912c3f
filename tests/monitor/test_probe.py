"""Probe verdicts in words, for answers and transport failures the fake targets cannot produce."""

from __future__ import annotations

import socket

import httpx
import pytest

from services.monitor.probe import judge, transport_reason


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
