"""uvicorn's httptools protocol, with each response's head sent together with its first body chunk.

uvicorn writes the status line and headers as soon as the app sends `http.response.start`, then the
body: two socket writes and two TCP segments for every answer. For a prediction the second write cost
~6 us of the server's CPU and ~4 us of the client's, about a tenth of the whole exchange at c=8
(`bench/compare_workers.py`). The ASGI spec lets a server hold the head until the first body message;
this protocol does, so a small answer leaves in one write. A 100-continue, a HEAD answer (no body
written), a response cut short and a WebSocket upgrade still go out at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"  # uvicorn's interim answer, written before the response starts


class HeadHoldingTransport:
    """A connection's transport that holds the first write of each response (its head) until the next.

    Responses on one connection are written one after another (pipelined requests wait their turn), so
    one flag says whether the next write starts a response."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.held: bytes | None = None
        self.awaiting_head = True
        self.holding = True

    def write(self, data: bytes) -> None:
        if self.held is not None:
            data, self.held = self.held + data, None
        elif self.awaiting_head and self.holding and data != CONTINUE:
            self.awaiting_head, self.held = False, data
            return
        self.transport.write(data)

    def response_complete(self) -> None:
        """The response ended: write a head still held (HEAD sends no body), and wait for the next head."""
        self.release()
        self.awaiting_head = True

    def stop_holding(self) -> None:
        """The connection is no longer HTTP/1.1 responses (a WebSocket): every write goes out as it comes."""
        self.release()
        self.holding = False

    def release(self) -> None:
        if self.held is not None:
            data, self.held = self.held, None
            self.transport.write(data)

    def close(self) -> None:
        self.release()  # a response cut short: its head, then the close, as uvicorn alone would send
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)  # get_extra_info, pause_reading, set_protocol, ...


class HeadWithBodyProtocol(HttpToolsProtocol):
    """`churnguard serve`'s HTTP/1.1 protocol (uvicorn's `http=`): httptools, one write per small answer."""

    transport: HeadHoldingTransport  # type: ignore[assignment]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(HeadHoldingTransport(transport))  # type: ignore[arg-type]

    def on_response_complete(self) -> None:
        self.transport.response_complete()
        super().on_response_complete()

    def handle_websocket_upgrade(self) -> None:
        self.transport.stop_holding()
        super().handle_websocket_upgrade()
