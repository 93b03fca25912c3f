"""Request bodies: JSON only (415) and never over the size limit (413), checked before reading it all."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

from services.predictor.errors import ApiError


def check_body_size(size: int, limit: int) -> None:
    """The one body-size rule, for a declared Content-Length and for the bytes actually received."""
    if size > limit:
        raise ApiError(413, "body_too_large", f"request body over the {limit}-byte limit")


def declared_length(headers: list[tuple[bytes, bytes]] | tuple[tuple[bytes, bytes], ...]) -> int:
    """Content-Length from raw ASGI headers (0 when absent or not a number)."""
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def read_json_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing non-JSON (415) and anything over `limit` bytes (413) without reading it all."""
    headers = request.headers
    if not _is_json(headers.get("content-type", "")):
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit():
        check_body_size(int(declared), limit)
    # ASGI messages read directly: Request.stream() adds an async generator step per chunk.
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        check_body_size(size, limit)
        chunks.append(chunk)
        more = message.get("more_body", False)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
