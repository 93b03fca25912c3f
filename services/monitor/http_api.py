"""The watchdog's own HTTP port: /health (200 only while the loop makes progress), /status, /metrics."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def serve_http(
    host: str,
    port: int,
    healthy: Callable[[], bool],
    metrics: Callable[[], bytes],
    status: Callable[[], dict[str, Any]],
) -> ThreadingHTTPServer:
    """Serve in a daemon thread; the caller shuts it down."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path == "/health":
                ok = healthy()
                body = b'{"status": "ok"}' if ok else b'{"status": "stuck", "message": "probe loop made no progress"}'
                self._answer(200 if ok else 503, body, "application/json")
            elif self.path == "/status":
                self._answer(200, json.dumps(status(), indent=1).encode(), "application/json")
            elif self.path == "/metrics":
                self._answer(200, metrics(), "text/plain; version=0.0.4; charset=utf-8")
            else:
                self._answer(404, b'{"error": "not_found"}', "application/json")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence per-request logs
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="monitor-http", daemon=True).start()
    return server
