"""`churnguard mailcatcher`: a development SMTP server (aiosmtpd) with a web page, so alerts can be seen.

It also catches Slack-style webhooks (POST /webhook/...), so both alert channels can be watched
without a real mail server or Slack. Never for production: it accepts everything, keeps it in memory.
"""

from __future__ import annotations

import html
import json
import signal
import threading
from collections import deque
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MailCatcherSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MAILCATCHER_", extra="ignore")
    host: str = "127.0.0.1"
    smtp_port: int = Field(1025, ge=1, le=65535)
    web_port: int = Field(1080, ge=1, le=65535)
    keep: int = Field(500, ge=1)


class Inbox:
    def __init__(self, keep: int) -> None:
        self.messages: deque[dict[str, Any]] = deque(maxlen=keep)
        self.webhooks: deque[dict[str, Any]] = deque(maxlen=keep)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
        message = message_from_bytes(envelope.content, policy=default_policy)
        body = message.get_body(preferencelist=("plain",))
        self.messages.appendleft(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "subject": str(message["Subject"]),
                "date": str(message["Date"] or ""),
                "body": body.get_content() if body is not None else "",
            }
        )
        return "250 Message accepted for delivery"


def page(inbox: Inbox) -> bytes:
    rows = "".join(
        f"<tr><td>{html.escape(', '.join(m['to']))}</td><td><b>{html.escape(m['subject'])}</b>"
        f"<pre>{html.escape(m['body'])}</pre></td></tr>"
        for m in inbox.messages
    )
    return (
        "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=5><title>churnguard mail</title>"
        "<h1>Alerts received (newest first)</h1><table border=1 cellpadding=6><tr><th>to</th><th>message</th></tr>"
        f"{rows or '<tr><td colspan=2>none yet</td></tr>'}</table>"
        "<h1>Webhooks received</h1><ul>"
        + "".join(f"<li>{html.escape(str(w['payload'].get('text', w['payload'])))}</li>" for w in inbox.webhooks)
        + "</ul>"
    ).encode()


def run_mailcatcher() -> int:
    settings = MailCatcherSettings()
    inbox = Inbox(settings.keep)
    controller = Controller(inbox, hostname=settings.host, port=settings.smtp_port)
    controller.start()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(min(length, 1 << 20))
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = {"text": raw.decode(errors="replace")}
            inbox.webhooks.appendleft({"path": self.path, "payload": payload})
            self._send(200, b"ok", "text/plain")

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/messages":
                body, kind = json.dumps(list(inbox.messages)).encode(), "application/json"
            elif self.path == "/webhooks":
                body, kind = json.dumps(list(inbox.webhooks)).encode(), "application/json"
            elif self.path == "/health":
                body, kind = b'{"status": "ok"}', "application/json"
            else:
                body, kind = page(inbox), "text/html; charset=utf-8"
            self._send(200, body, kind)

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((settings.host, settings.web_port), Handler)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(
        f"mailcatcher: SMTP on {settings.host}:{settings.smtp_port}, web on http://{settings.host}:{settings.web_port}/"
    )
    stopping.wait()
    server.shutdown()
    controller.stop()
    return 0
