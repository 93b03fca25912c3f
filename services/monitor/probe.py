"""One HTTP probe of a health endpoint, with the failure reason kept in words."""

from __future__ import annotations

import json
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from services.monitor.conditions import Answer, failures
from services.monitor.state import ProbeResult, Target

HEALTHY_STATUSES = {"ready", "ok", "healthy", "up", "pass", "alive", "success"}  # success: Prometheus API


@dataclass
class Progress:
    """How far a probe in flight has got: the verdict of one cut off at its deadline names it."""

    phase: str = "no connection (name resolution or connect)"
    body_bytes: int = 0

    def trace(self, event: str, info: dict[str, object]) -> None:
        """httpcore's trace hook: where the exchange is."""
        if event == "connection.connect_tcp.complete":
            self.phase = "connected, no answer yet"
        elif event.endswith("receive_response_headers.started"):
            self.phase = "request sent, no response headers yet"

    def __str__(self) -> str:
        if self.phase == "reading the body":
            return f"{self.body_bytes} bytes of the body received"
        return self.phase


def incomplete(timeout: float, progress: Progress, seconds: float, at: datetime) -> ProbeResult:
    return ProbeResult(False, f"no complete answer within {timeout:g} s: {progress}", seconds, at)


def probe(client: httpx.Client, target: Target, timeout: float, progress: Progress | None = None) -> ProbeResult:
    """One GET, bounded as a whole by `timeout` (httpx's own timeouts are per phase: a body sent one byte a
    second never trips them). The target's conditions decide when it has any; otherwise `judge`."""
    progress = progress or Progress()
    at = datetime.now(UTC)
    headers = {"Authorization": f"Bearer {target.bearer_key}"} if target.bearer_key else None
    started = time.perf_counter()
    deadline = started + timeout
    try:
        trace = {"trace": progress.trace}
        with client.stream("GET", target.url, timeout=timeout, headers=headers, extensions=trace) as streamed:
            progress.phase = "reading the body"
            connection = _connection_facts(streamed)
            body = bytearray()
            for chunk in streamed.iter_raw():
                body += chunk
                progress.body_bytes = len(body)
                if time.perf_counter() > deadline:
                    return incomplete(timeout, progress, time.perf_counter() - started, at)
            response = httpx.Response(streamed.status_code, headers=streamed.headers, content=bytes(body))
    except httpx.TimeoutException:
        return incomplete(timeout, progress, time.perf_counter() - started, at)
    except httpx.TransportError as error:
        seconds = time.perf_counter() - started
        if target.conditions and not failures(target.conditions, Answer(0, "", seconds * 1000, connected=False)):
            return ProbeResult(True, "ok", seconds, at)  # conditions that expect no connection (`[CONNECTED] == false`)
        return ProbeResult(False, transport_reason(error), seconds, at)
    except httpx.DecodingError as error:
        return ProbeResult(False, f"undecodable body: {error}"[:200], time.perf_counter() - started, at)
    seconds = time.perf_counter() - started
    if seconds > timeout:
        return incomplete(timeout, progress, seconds, at)
    verdict = judge_conditions(target, response, seconds, *connection) if target.conditions else judge(response)
    return ProbeResult(*verdict, seconds, at)


def _connection_facts(response: httpx.Response) -> tuple[str, float]:
    """The server's IP address and the seconds until its (verified) certificate expires, 0 without TLS."""
    stream = response.extensions.get("network_stream")
    if stream is None:
        return "", 0.0
    address = stream.get_extra_info("server_addr")
    ssl_object = stream.get_extra_info("ssl_object")
    certificate = ssl_object.getpeercert() if hasattr(ssl_object, "getpeercert") else None  # _ssl._SSLSocket
    expires = ssl.cert_time_to_seconds(str(certificate["notAfter"])) if certificate else None
    return (str(address[0]) if address else ""), (0.0 if expires is None else expires - time.time())


def judge_conditions(
    target: Target, response: httpx.Response, seconds: float, ip: str = "", certificate_seconds: float = 0.0
) -> tuple[bool, str]:
    """Every condition must hold. The reason names each broken one with the values found, as Gatus shows
    them (`[STATUS] (500) == 200`); a broken condition on the content ([BODY], the certificate, the address)
    is prefixed with what the target means."""
    answer = Answer(response.status_code, response.text, seconds * 1000, True, ip, certificate_seconds)
    found = [(condition, condition.failure(answer)) for condition in target.conditions]  # each judged once
    broken = [(condition, message) for condition, message in found if message is not None]
    if not broken:
        return True, "ok"
    reason = "; ".join(message for _, message in broken)
    if target.meaning and any(condition.on_content for condition, _ in broken):
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
