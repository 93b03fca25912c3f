"""The serving protocol sends a response's head with its first body chunk, and breaks nothing else.

A real uvicorn server on a real socket; the client is a raw socket, so what arrives is what was sent.
The server side counts the writes that reach the transport."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from services.predictor.http.protocol import HeadWithBodyProtocol
from tests.support import free_port

SMALL = b'{"churn_probability": 0.5}'
writes: list[bytes] = []


class CountingTransport:
    """The real transport, recording each write that reaches it."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def write(self, data: bytes) -> None:
        writes.append(bytes(data))
        self.transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class CountingProtocol(HeadWithBodyProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CountingTransport(transport))  # type: ignore[arg-type]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":  # accepted, then kept open until the client leaves
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        return
    path = scope["path"]
    if path == "/echo":  # reads the body: a client that sent Expect: 100-continue must be told to go on
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})
        return
    if path == "/stream":  # two chunks 0.3 s apart: the first must not wait for the second
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        await asyncio.sleep(0.3)
        await send({"type": "http.response.body", "body": b"second"})
        return
    if path == "/cut":  # starts, then fails: the head still goes out before the connection closes
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
        raise RuntimeError("failed after the response started")
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(SMALL))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": SMALL})


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    chosen = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=chosen, http=CountingProtocol, lifespan="off", log_level="critical"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.01)
    yield chosen
    server.should_exit = True
    thread.join(10)


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def read_response(sock: socket.socket, buffer: bytearray) -> tuple[bytes, bytes]:
    """One response with a content-length, from what `buffer` holds and the socket: (head, body)."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-head: {bytes(buffer)!r}"
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    buffer[:] = rest
    while len(buffer) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        buffer += chunk
    body = bytes(buffer[:length])
    del buffer[:length]
    return head, body


def test_a_small_answer_leaves_in_one_write(port: int) -> None:
    writes.clear()
    with connect(port) as sock:
        sock.sendall(b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
        head, body = read_response(sock, bytearray())
    assert head.startswith(b"HTTP/1.1 200 OK") and body == SMALL
    assert len(writes) == 1, writes
    assert writes[0].startswith(b"HTTP/1.1 200 OK") and writes[0].endswith(SMALL)


def test_keep_alive_and_pipelined_requests_each_get_their_answer(port: int) -> None:
    writes.clear()
    with connect(port) as sock:
        buffer = bytearray()
        for _ in range(3):  # one after another on one connection
            sock.sendall(b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(sock, buffer)[1] == SMALL
        sock.sendall(b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n" * 2)  # two in one packet
        answers = [read_response(sock, buffer) for _ in range(2)]
    assert [body for _, body in answers] == [SMALL, SMALL]
    assert len(writes) == 5


def test_a_head_request_gets_its_head_although_no_body_is_written(port: int) -> None:
    """The held head goes out when the response completes; the connection stays usable."""
    with connect(port) as sock:
        sock.sendall(b"HEAD /small HTTP/1.1\r\nHost: x\r\n\r\n")
        buffer = bytearray()
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            assert chunk, "no head for HEAD"
            buffer += chunk
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK") and b"content-length: 26" in head.lower() and rest == b""
        sock.sendall(b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock, bytearray())[1] == SMALL


def test_a_streamed_answer_sends_its_first_chunk_without_waiting_for_the_next(port: int) -> None:
    writes.clear()
    with connect(port) as sock:
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.monotonic()
        received = b""
        while b"first" not in received:
            received += sock.recv(65536)
        first_after = time.monotonic() - started
        while not received.endswith(b"0\r\n\r\n"):
            received += sock.recv(65536)
    assert received.startswith(b"HTTP/1.1 200 OK") and b"second" in received
    assert first_after < 0.25, f"the first chunk waited {first_after:.2f} s for the second"
    assert writes[0].startswith(b"HTTP/1.1 200 OK") and b"first" in writes[0]  # head and first chunk together


def test_expect_100_continue_is_answered_before_the_body_is_sent(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        interim = sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 Continue"), interim
        sock.sendall(b"hello")
        head, body = read_response(sock, bytearray(interim.partition(b"\r\n\r\n")[2]))
    assert head.startswith(b"HTTP/1.1 200 OK") and body == b"hello"


def test_a_response_cut_short_still_sends_its_head_then_closes(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(b"GET /cut HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200 OK") and received.endswith(b"\r\n\r\n")


def test_a_websocket_handshake_is_answered_at_once(port: int) -> None:
    """The handshake's answer must not wait in a held head: no HTTP response follows to release it."""
    with connect(port) as sock:
        sock.sendall(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 101"), answer
