"""Real collaborators for the watchdog: an aiosmtpd SMTP server, a webhook receiver, controllable targets."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from services.monitor.settings import MonitorSettings
from services.monitor.watchdog import Monitor
from tests.receivers import MailBox, ReopenableServer, Webhook, eventually


class FakeTarget(ReopenableServer):
    """A health endpoint the test makes healthy, 503, hanging, not JSON, flapping (every third request
    fails) or gone; and a /model endpoint whose registry block matches or not."""

    def __init__(self) -> None:
        self.mode = "healthy"
        self.fail_next = 0
        self.model_matches = True
        self.hits: list[str] = []
        self.authorizations: list[str | None] = []
        self.posts: list[tuple[str, str]] = []  # (path, body): what a heartbeat receiver got
        self.dribble = False  # send the head at once, then the body one byte a second
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                target.hits.append(self.path)
                target.authorizations.append(self.headers.get("Authorization"))
                if self.path == "/model":
                    self._send(200, json.dumps({"registry": {"matches": target.model_matches}}).encode())
                    return
                mode = target.mode
                if mode == "flap":
                    mode = "503" if len(target.hits) % 3 == 0 else "healthy"
                if target.fail_next > 0:
                    target.fail_next -= 1
                    mode = "503"
                if mode == "hang":
                    time.sleep(5)
                    return
                if mode == "dribble":
                    body = b'{"status": "ready", "padding": "' + b"x" * 40 + b'"}'
                    self.send_response(200)
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    for byte in body[:8]:  # long enough to pass any per-read timeout, far past a probe's
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(1)
                    return
                status, body = {
                    "healthy": (200, b'{"status": "ready"}'),
                    "503": (503, b'{"status": "not_ready", "failing": ["canary"]}'),
                    "html": (200, b"<html>maintenance</html>"),
                }[mode]
                self._send(status, body)

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                target.posts.append((self.path, body.decode()))
                self._send(200, b"OK")

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health/ready"

    def set(self, mode: str) -> None:
        """`gone` closes the listening socket (connection refused); any other mode reopens it if needed."""
        if mode == "gone":
            self.stop()
            return
        self.mode = mode
        if self._server is None:
            self.start()


@pytest.fixture
def target() -> Iterator[FakeTarget]:
    fake = FakeTarget()
    fake.start()
    yield fake
    fake.stop()


PUSH_TOKEN = "push-test-token"
PUSH = {"Authorization": f"Bearer {PUSH_TOKEN}"}  # what a job sends with its ping

FAST = {
    "monitor_interval_seconds": 0.5,
    "monitor_timeout_seconds": 0.5,
    "monitor_confirm_probes": 2,
    "monitor_confirm_interval_seconds": 0.2,
    "monitor_recovery_probes": 2,
    "monitor_port": 0,
    "alert_delivery_timeout_seconds": 2,
    "alert_retry_seconds": 0.5,
    "monitor_stuck_seconds": 1.0,
    "monitor_push_token": PUSH_TOKEN,
}


class RunningMonitor:
    def __init__(self, monitor: Monitor, thread: threading.Thread) -> None:
        self.monitor, self.thread = monitor, thread

    @property
    def url(self) -> str:
        assert self.monitor.server is not None
        return f"http://127.0.0.1:{self.monitor.server.server_address[1]}"

    def stop(self) -> None:
        self.monitor.stop()
        self.thread.join(5)
        assert not self.thread.is_alive()


MonitorFactory = Callable[..., RunningMonitor]


@pytest.fixture
def start_monitor(tmp_path: Path, mailbox: MailBox, webhook: Webhook, target: FakeTarget) -> Iterator[MonitorFactory]:
    """Run a Monitor in a thread with fast timings, both channels pointed at the real receivers."""
    running: list[RunningMonitor] = []

    def start(**overrides: Any) -> RunningMonitor:
        values: dict[str, Any] = {
            **FAST,
            "monitor_targets": [f"predictor={target.url}"],
            "monitor_state_dir": tmp_path / "monitor-state",
            "alert_smtp_host": "127.0.0.1",
            "alert_smtp_port": mailbox.port,
            "alert_email_to": ["oncall@example.com"],
            "alert_slack_webhook_url": webhook.url,
            **overrides,
        }
        injected = {key: values.pop(key) for key in ("probe_fn", "notifiers") if key in values}
        monitor = Monitor(MonitorSettings(**values), **injected)
        thread = threading.Thread(target=monitor.run, daemon=True)
        thread.start()
        handle = RunningMonitor(monitor, thread)
        running.append(handle)
        eventually(lambda: monitor.server is not None, 5)
        return handle

    yield start
    for handle in running:
        if handle.thread.is_alive():
            handle.stop()
