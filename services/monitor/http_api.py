"""The watchdog's own HTTP port.

GET  /          the status page (HTML)       GET /status   the same as JSON
GET  /health    200 only while the loop makes progress
GET  /metrics   Prometheus
POST /ping/{name}, /ping/{name}/fail         push checks (a job says it ran, or that it failed);
                                             MONITOR_PUSH_TOKEN (bearer or ?token=)
POST /maintenance/{name} {"minutes", "reason"}, DELETE /maintenance/{name}   MONITOR_ADMIN_TOKEN only
GET  /lists/latest  the latest archived weekly list           MONITOR_ADMIN_TOKEN only (customer data)
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from services.monitor.admin_auth import is_admin, is_bearer
from services.monitor.lists import MEDIA_TYPES
from services.monitor.maintenance import Maintenance
from services.monitor.status_page import render
from services.monitor.status_view import StatusView

MAX_BODY = 64 * 1024
NOTE_CHARS = 200


class MonitorApi(Protocol):
    """What the HTTP port needs from the watchdog."""

    def healthy(self) -> bool: ...
    def status(self) -> StatusView: ...
    def metrics_text(self) -> bytes: ...
    def ping(self, name: str, ok: bool, note: str) -> bool: ...
    def pause(self, name: str, minutes: float, reason: str) -> Maintenance | None: ...
    def resume(self, name: str) -> bool: ...
    def admin_token(self) -> SecretStr | None: ...
    def push_token(self) -> SecretStr | None: ...
    def latest_list(self) -> Path | None: ...


class PauseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes: float = Field(gt=0, le=7 * 24 * 60, description="at most a week")
    reason: str = Field(min_length=1, max_length=500)


def serve_http(host: str, port: int, api: MonitorApi) -> ThreadingHTTPServer:
    """Serve in a daemon thread; the caller shuts it down."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            if path == "/health":
                ok = api.healthy()
                body = {"status": "ok"} if ok else {"status": "stuck", "message": "probe loop made no progress"}
                self._json(200 if ok else 503, body)
            elif path == "/status":
                self._json(200, api.status().to_json())
            elif path in ("/", "/index.html"):
                self._answer(200, render(api.status()).encode(), "text/html; charset=utf-8")
            elif path == "/lists/latest":
                self._latest_list()
            elif path == "/metrics":
                self._answer(200, api.metrics_text(), "text/plain; version=0.0.4; charset=utf-8")
            elif path.startswith(("/ping/", "/maintenance/")):
                self._json(405, {"error": "method_not_allowed", "message": "use POST"}, allow="POST")
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:  # noqa: N802
            parts = self.path.split("?", 1)[0].strip("/").split("/")
            body = self._body()
            if body is None:
                return
            if parts[0] == "ping" and (len(parts) == 2 or (len(parts) == 3 and parts[2] == "fail")):
                if not self._pusher():
                    return
                ok = len(parts) == 2
                note = body.decode("utf-8", "replace").strip()[:NOTE_CHARS]
                if api.ping(parts[1], ok, note):
                    self._json(200, {"check": parts[1], "recorded": "ok" if ok else "fail"})
                else:
                    self._json(404, {"error": "unknown_check", "message": f"no push check named {parts[1]!r}"})
            elif parts[0] == "maintenance" and len(parts) == 2 and self._admin():
                self._pause(parts[1], body)
            elif parts[0] not in ("ping", "maintenance"):
                self._json(404, {"error": "not_found"})

        def do_DELETE(self) -> None:  # noqa: N802
            parts = self.path.split("?", 1)[0].strip("/").split("/")
            if parts[0] == "maintenance" and len(parts) == 2:
                if not self._admin():
                    return
                if api.resume(parts[1]):
                    self._json(200, {"target": parts[1], "maintenance": "ended"})
                else:
                    self._json(404, {"error": "not_paused", "message": f"{parts[1]!r} is not in maintenance"})
            else:
                self._json(404, {"error": "not_found"})

        def _pause(self, name: str, body: bytes) -> None:
            try:
                request = PauseRequest.model_validate_json(body or b"{}")
            except ValidationError as error:
                problems = [
                    {"field": ".".join(str(p) for p in e["loc"]) or "body", "rule": e["type"], "message": e["msg"]}
                    for e in error.errors()
                ]
                self._json(422, {"error": "validation_error", "detail": problems})
                return
            window = api.pause(name, request.minutes, request.reason)
            if window is None:
                self._json(404, {"error": "unknown_target", "message": f"no target or push check named {name!r}"})
            else:
                self._json(200, {"maintenance": window.to_json()})

        def _latest_list(self) -> None:
            # Basic first: a browser asks for the token (as the password) when the link is clicked.
            if not self._admin(challenge='Basic realm="churnguard weekly list", charset="UTF-8"'):
                return
            path = api.latest_list()
            if path is None:
                self._json(404, {"error": "no_list", "message": "no archived weekly list yet"})
                return
            extra = {"Content-Disposition": f'attachment; filename="churnguard-weekly-list-{path.name}"'}
            self._answer(200, path.read_bytes(), MEDIA_TYPES[path.suffix], extra)

        def _admin(self, challenge: str = 'Bearer realm="churnguard monitor"') -> bool:
            """Answers 401/403 itself when the caller is not an admin (bearer token or Basic password)."""
            token = api.admin_token()
            if token is None:
                self._json(403, {"error": "forbidden", "message": "MONITOR_ADMIN_TOKEN is not set: no one may do this"})
                return False
            if not is_admin(self.headers.get("Authorization"), token):
                self._json(
                    401,
                    {"error": "unauthorized", "message": "needs MONITOR_ADMIN_TOKEN (bearer token or Basic password)"},
                    authenticate=challenge,
                )
                return False
            return True

        def _pusher(self) -> bool:
            """A ping must carry MONITOR_PUSH_TOKEN (bearer or ?token=); answers 401 itself otherwise."""
            token = api.push_token()
            query = parse_qs(urlsplit(self.path).query).get("token", [""])[0]
            if token is not None and is_bearer(self.headers.get("Authorization"), query, token):
                return True
            message = (
                "MONITOR_PUSH_TOKEN is not set on the watchdog: every ping is refused"
                if token is None
                else "needs MONITOR_PUSH_TOKEN (Authorization: Bearer, or ?token=)"
            )
            self._json(
                401, {"error": "unauthorized", "message": message}, authenticate='Bearer realm="churnguard push"'
            )
            return False

        def _body(self) -> bytes | None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                self._json(413 if length > MAX_BODY else 400, {"error": "bad_body", "message": "body too large"})
                return None
            return self.rfile.read(length) if length else b""

        def _json(self, status: int, body: object, allow: str = "", authenticate: str = "") -> None:
            extra = {"Allow": allow, "WWW-Authenticate": authenticate}
            self._answer(status, json.dumps(body, indent=1).encode(), "application/json", extra)

        def _answer(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (extra or {}).items():
                if value:
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence per-request logs
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    # a short poll: SIGTERM waits for the serving loop to notice shutdown(), and a stop should take well under 1 s
    threading.Thread(target=server.serve_forever, args=(0.05,), name="monitor-http", daemon=True).start()
    return server
