"""Real alert receivers shared by the monitor tests and the drills: aiosmtpd SMTP and a webhook receiver."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.support import free_port


class MailBox:
    """An aiosmtpd server keeping every message; stop() and start() on the same port.

    `refuse_logins=True`: it demands AUTH and refuses every password, as a server would after a
    credential rotation. `refuse_recipients`: addresses it answers 550 at RCPT (a mailbox that left the company),
    accepting the others.
    """

    def __init__(self, refuse_logins: bool = False, refuse_recipients: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.messages: list[Message] = []
        self.refuse_logins = refuse_logins
        self.refuse_recipients = refuse_recipients
        self._controller: Controller | None = None

    async def handle_RCPT(  # noqa: N802 - aiosmtpd hook
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse_recipients:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        auth: dict[str, Any] = (
            {"auth_required": True, "auth_require_tls": False}  # aiosmtpd default: every login fails
            if self.refuse_logins
            else {}
        )
        # AUTH without TLS is on purpose (loopback, to be refused): pyproject.toml ignores aiosmtpd's warning.
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **auth)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def subjects(self) -> list[str]:
        """Unfolded (RFC 5322): a long subject arrives split over lines, a reader sees one."""
        return [re.sub(r"\r?\n(?=[ \t])", "", str(m["Subject"])).strip() for m in list(self.messages)]


class ReopenableServer:
    """A ThreadingHTTPServer on a fixed port that can be closed and reopened."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.port = free_port()
        self.handler = handler
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class Webhook(ReopenableServer):
    """Records Slack-style POSTs; answers with the status the test sets (a list is used up first)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.default_status = 200
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                webhook.posts.append(json.loads(body))
                status = webhook.statuses.pop(0) if webhook.statuses else webhook.default_status
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/T000/B000"

    def texts(self) -> list[str]:
        return [_headline(post) for post in list(self.posts)]


@pytest.fixture
def mailbox() -> Iterator[MailBox]:
    box = MailBox()
    box.start()
    yield box
    box.stop()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    hook.start()
    yield hook
    hook.stop()


def eventually(condition: Callable[[], object], timeout: float, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def _headline(post: dict[str, Any]) -> str:
    """The watchdog posts a top-level `text`; Alertmanager's Slack payload carries `attachments[0].title`."""
    if "text" in post:
        return str(post["text"])
    return str((post.get("attachments") or [{}])[0].get("title", ""))
