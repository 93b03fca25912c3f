"""One HTTP probe of a health endpoint, with the failure reason kept in words."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime

import httpx

from services.monitor.conditions import Answer
from services.monitor.state import ProbeResult, Target

HEALTHY_STATUSES = {"ready", "ok", "healthy", "up", "pass", "alive", "success"}  # success: Prometheus API


def probe(client: httpx.Client, target: Target, timeout: float) -> ProbeResult:
    """The target's conditions decide when it has any; otherwise the default judgement (`judge`)."""
    at = datetime.now(UTC)
    headers = {"Authorization": f"Bearer {target.bearer_key}"} if target.bearer_key else None
    started = time.perf_counter()
    try:
        response = client.get(target.url, timeout=timeout, headers=headers)
    except httpx.TimeoutException:
        return ProbeResult(False, f"timeout after {timeout:g} s", time.perf_counter() - started, at)
    except httpx.TransportError as error:
        return ProbeResult(False, transport_reason(error), time.perf_counter() - started, at)
    seconds = time.perf_counter() - started
    verdict = judge_conditions(target, response, seconds) if target.conditions else judge(response)
    return ProbeResult(*verdict, seconds, at)


def judge_conditions(target: Target, response: httpx.Response, seconds: float) -> tuple[bool, str]:
    """Every condition must hold. The reason names each broken one and what was found; a broken [BODY]
    condition is prefixed with what the target says it means."""
    body = _json_or_none(response.text.strip())
    answer = Answer(response.status_code, body, seconds * 1000)
    broken = [c for c in target.conditions if c.failure(answer) is not None]
    if not broken:
        return True, "ok"
    reason = "; ".join(str(c.failure(answer)) for c in broken)
    if target.meaning and any(c.on_body for c in broken):
        reason = f"{target.meaning}: {reason}"
    return False, reason


def _json_or_none(text: str) -> object:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def judge(response: httpx.Response) -> tuple[bool, str]:
    """200 with a body that says ready (JSON `status`, MLflow's plain `OK`, or a registry read that names a
    model version) passes; anything else fails."""
    text = response.text.strip()
    body = _json_or_none(text)
    if response.status_code != 200:
        return False, f"HTTP {response.status_code}: {summarise(body, text)}"
    if body is None:
        return (True, "ok") if text == "OK" else (False, "body is not JSON")
    if isinstance(body, dict) and isinstance(body.get("model_version"), dict) and body["model_version"].get("version"):
        # MLflow's alias read: the tracker's database answered a real query (its /health says OK regardless).
        return True, "ok"
    status = str(body.get("status", "")).lower() if isinstance(body, dict) else ""
    if status not in HEALTHY_STATUSES:
        return False, f"not ready: {summarise(body, text)}"
    return True, "ok"


def summarise(body: object, text: str) -> str:
    """The most telling part of an unhealthy answer: failing checks, a message, or the first words."""
    if isinstance(body, dict):
        failing = body.get("failing")
        if isinstance(failing, list) and failing:
            return ", ".join(str(f) for f in failing) + " failing"
        for key in ("message", "error", "status", "detail"):
            if body.get(key):
                return str(body[key]).strip().splitlines()[0][:200]  # one line: it ends up in a subject
    return (text[:120] or "empty body").replace("\n", " ")


def transport_reason(error: httpx.TransportError) -> str:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
        if isinstance(cause, socket.gaierror):
            return "DNS failure"
        cause = cause.__cause__ or cause.__context__
    message = str(error).lower()
    for needle, reason in (
        ("connection refused", "connection refused"),
        ("name or service not known", "DNS failure"),
        ("temporary failure in name resolution", "DNS failure"),
        ("nodename nor servname", "DNS failure"),
        ("reset", "connection reset"),
        ("disconnected", "server closed the connection"),
    ):
        if needle in message:
            return reason
    return f"{type(error).__name__}: {error}"[:200]
