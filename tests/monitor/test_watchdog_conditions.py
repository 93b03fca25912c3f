"""Gatus's grammar through a real watchdog: real HTTP targets answering each kind of body (JSON sent as
text/plain, plain text, HTML sent as JSON, nothing), and a real TLS target whose certificate lapses in a day."""

from __future__ import annotations

import re
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.monitor.conftest import MonitorFactory
from tests.receivers import MailBox, Webhook, eventually
from tests.support import free_port

pytestmark = pytest.mark.slow

BODIES = {  # path: (content type, body): whether a body is JSON is decided by parsing it, not by its type
    "/json": ("text/plain", b'{"status": "UP", "data": {"id": "0x1"}, "items": [1, 2, 3]}'),
    "/text": ("text/plain", b"pong\n"),
    "/html": ("application/json", b'<!DOCTYPE html><html><body><div id="user">john.doe</div></body></html>'),
    "/empty": ("text/plain", b""),
}


class BodyServer:
    """Answers each path of BODIES with 200; over TLS when given a certificate."""

    def __init__(self, certificate: tuple[Path, Path] | None = None) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                kind, body = BODIES.get(self.path, ("text/plain", b"not found"))
                self.send_response(200 if self.path in BODIES else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.scheme = "http"
        if certificate is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*certificate)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def certificate_for_a_day(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 that lapses in 24 hours (openssl, as the load balancer's)."""
    certificate, key = directory / "short.crt", directory / "short.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return certificate, key


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[BodyServer, BodyServer, Path]]:
    certificate = certificate_for_a_day(tmp_path)
    plain, tls = BodyServer(), BodyServer(certificate)
    yield plain, tls, certificate[0]
    plain.stop()
    tls.stop()


def test_each_kind_of_body_and_a_lapsing_certificate_are_judged_as_gatus_would(
    start_monitor: MonitorFactory,
    servers: tuple[BodyServer, BodyServer, Path],
    mailbox: MailBox,
    webhook: Webhook,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain, tls, certificate = servers
    targets = {
        "json": (plain.url("/json"), ["[BODY].status == UP", "[BODY].data.id == 1", "len([BODY].items) == 3"]),
        "json-facts": (
            plain.url("/json"),
            ["has([BODY].errors) == false", "[CONNECTED] == true", "[IP] == 127.0.0.1"]
            + ["[RESPONSE_TIME] < 2s", "[STATUS] == any(200, 429)", "[CERTIFICATE_EXPIRATION] == 0"],
        ),
        "text": (plain.url("/text"), ["[BODY] == pong", "len([BODY]) == 5", "[BODY] != [STATUS]"]),
        "html": (plain.url("/html"), ['[BODY] == pat(*<div id="user">john.doe</div>*)']),
        "html-jane": (plain.url("/html"), ["[BODY] == pat(*jane.doe*)"]),
        "empty": (plain.url("/empty"), ["has([BODY]) == false", "[STATUS] == 200"]),
        "tls": (tls.url("/json"), ["[CERTIFICATE_EXPIRATION] > 12h", "[BODY].status == UP"]),
        "tls-lapsing": (tls.url("/json"), ["[CERTIFICATE_EXPIRATION] > 240h"]),
    }
    lines = ["targets:"]
    for name, (url, conditions) in targets.items():
        lines += [f"  - name: {name}", f"    url: {url}", f"    meaning: {name} breaks its check", "    conditions:"]
        lines += [f"      - '{condition}'" for condition in conditions]
    config = tmp_path / "targets.yml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # the watchdog trusts this one certificate
    running = start_monitor(monitor_config=config, monitor_targets=[f"plain={plain.url('/json')}"])

    down = {"html-jane", "tls-lapsing"}
    eventually(lambda: all(running.monitor.states[n].status != "unknown" for n in targets), 10)
    eventually(lambda: {n for n in targets if running.monitor.states[n].status == "down"} == down, 10)
    assert all(running.monitor.states[n].status == "up" for n in set(targets) - down)
    eventually(lambda: len(mailbox.subjects()) >= 2 and len(webhook.texts()) >= 2, 10)
    assert len(mailbox.subjects()) == 2 and len(webhook.texts()) == 2, (mailbox.subjects(), webhook.texts())
    subjects = sorted(mailbox.subjects())
    assert subjects[0] == (
        "[churnguard] DOWN html-jane: html-jane breaks its check: "
        "[BODY] (<!DOCTYPE html><html><bod...(truncated)) == pat(*jane.doe*)"
    )
    assert re.fullmatch(  # the values found, as Gatus shows them: the certificate's 23 h 59 min and some seconds
        r"\[churnguard\] DOWN tls-lapsing: tls-lapsing breaks its check: "
        r"\[CERTIFICATE_EXPIRATION\] \(23h59m\d+s\) > 240h",
        subjects[1],
    ), subjects[1]
