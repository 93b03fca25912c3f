"""Request bodies: one limit per route, decided here, counted on the bytes actually received (chunked or not),
and JSON only where JSON is expected (415)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive

from services.predictor.http.errors import ApiError


@dataclass(frozen=True)
class BodyLimits:
    """The one place a route's body limit is decided: `default`, or the route's own (a file upload)."""

    default: int
    by_path: Mapping[str, int] = field(default_factory=dict)

    def __call__(self, path: str) -> int:
        return self.by_path.get(path, self.default)


def too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", f"request body over the {limit}-byte limit")


def declared_length(headers: list[tuple[bytes, bytes]] | tuple[tuple[bytes, bytes], ...]) -> int:
    """Content-Length from raw ASGI headers (0 when absent or not an ASCII number)."""
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0  # bytes.isdigit is ASCII only
    return 0


class CountedReceive:
    """`receive` counting the body's bytes: past the limit the app is told the client went away, so it
    stops reading (no more memory, nothing spooled) and the caller answers 413 instead of the app."""

    __slots__ = ("receive", "limit", "received", "exceeded")

    def __init__(self, receive: Receive, limit: int) -> None:
        self.receive, self.limit, self.received, self.exceeded = receive, limit, 0, False

    async def __call__(self) -> Message:
        if self.exceeded:
            return {"type": "http.disconnect"}
        message = await self.receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.exceeded = True
                return {"type": "http.disconnect"}
        return message


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def read_json_body(request: Request) -> bytes:
    """The raw body, refusing non-JSON (415). Its size is bounded by the request context (CountedReceive)."""
    if not _is_json(request.headers.get("content-type", "")):
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    # ASGI messages read directly: Request.stream() adds an async generator step per chunk.
    chunks: list[bytes] = []
    more = True
    while more:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
