"""Every route's body limit counts the bytes received: a 300 MB chunked body (no Content-Length) to each route
that takes a body is refused with 413 long before it is all read, on a real `churnguard serve`, and the
worker's memory and disk stay bounded."""

from __future__ import annotations

import asyncio
import select
import socket
import time
from pathlib import Path

import pytest

from services.predictor.http.body import CountedReceive
from tests.conftest import PredictorProcess

pytestmark = pytest.mark.slow

HOSTILE_BYTES = 300 * 2**20
CHUNK = 2**20
RSS_BOUND = 160 * 2**20
BOUNDARY = "churnguard-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
FILE_PART = (
    f"--{BOUNDARY}\r\n"
    'Content-Disposition: form-data; name="export"; filename="customers.csv"\r\n'
    "Content-Type: text/csv\r\n\r\n"
    "customerID,gender\r\n"
).encode()


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak) in bytes."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {name: int(fields[name].split()[0]) * 1024 for name in ("VmRSS", "VmHWM")}


def send_chunked(port: int, path: str, content_type: str, first: bytes = b"") -> tuple[int, int]:
    """Stream a chunked body until the server answers (or HOSTILE_BYTES are sent): (status, bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    sent, filler = 0, b"x" * CHUNK
    try:
        body = first + filler[len(first) :]
        while sent < HOSTILE_BYTES and not select.select([sock], [], [], 0)[0]:
            sock.sendall(f"{len(body):x}\r\n".encode() + body + b"\r\n")
            sent += len(body)
            body = filler
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass  # the server stopped reading: its answer is waiting
    head = b""
    deadline = time.monotonic() + 10
    while b"\r\n" not in head and time.monotonic() < deadline:
        part = sock.recv(4096)
        if not part:
            break
        head += part
    sock.close()
    return int(head.split(b" ", 2)[1]), sent


@pytest.mark.parametrize(
    ("path", "content_type", "first", "limit_setting"),
    [
        ("/predict", "application/json", b'{"customerID": "', "PREDICTOR_MAX_BODY_BYTES"),
        ("/predict/batch", "application/json", b'{"customers": [', "PREDICTOR_MAX_BODY_BYTES"),
        ("/outcomes", "application/json", b'{"outcomes": [', "PREDICTOR_MAX_BODY_BYTES"),
        ("/weekly-list", MULTIPART, FILE_PART, "PREDICTOR_WEEKLY_LIST_MAX_UPLOAD_BYTES"),
    ],
)
def test_a_300_mb_chunked_body_is_refused_with_413_before_it_is_all_read(
    predictor_process: PredictorProcess, tmp_path: Path, path: str, content_type: str, first: bytes, limit_setting: str
) -> None:
    limit = 8 * 2**20
    predictor_process.env[limit_setting] = str(limit)
    predictor_process.start()
    assert predictor_process.process is not None
    pid = predictor_process.process.pid
    before = memory(pid)["VmRSS"]
    status, sent = send_chunked(predictor_process.port, path, content_type, first)
    peak = memory(pid)["VmHWM"]
    assert status == 413
    assert sent < HOSTILE_BYTES // 2, f"{sent / 2**20:.0f} MB sent before the answer: the body was read on"
    assert peak - before <= RSS_BOUND, f"RSS rose {(peak - before) / 2**20:.0f} MB"


def test_the_app_receives_at_most_the_limit_plus_one_read() -> None:
    """What the app can hold or spool is bounded by what CountedReceive lets through."""
    messages = [{"type": "http.request", "body": b"x" * 400, "more_body": True} for _ in range(10)]

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    async def drain() -> tuple[int, list[str]]:
        counted = CountedReceive(receive, limit=1000)  # type: ignore[arg-type]
        seen, kinds = 0, []
        for _ in range(5):
            message = await counted()
            kinds.append(message["type"])
            seen += len(message.get("body", b""))
        return seen, kinds

    seen, kinds = asyncio.run(drain())
    assert seen == 800 and kinds == [
        "http.request",
        "http.request",
        "http.disconnect",
        "http.disconnect",
        "http.disconnect",
    ]
    assert len(messages) == 7  # the third read passed the limit; nothing more was read from the client
