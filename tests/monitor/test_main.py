"""`churnguard monitor` as a real process: settings checked at start, SIGTERM honoured, a real predictor watched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import PredictorProcess
from tests.monitor.conftest import FAST, MonitorFactory
from tests.receivers import MailBox, Webhook, eventually
from tests.support import REPO_ROOT, free_port, wait_for_http

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ALERT_EMAIL_TO": "oncall@example.com"}, "ALERT_EMAIL_TO is set but ALERT_SMTP_HOST is not"),
        ({"ALERT_SMTP_HOST": "mail.example.com"}, "ALERT_EMAIL_TO is empty"),
        ({"MONITOR_TARGETS": "ftp://x"}, "is not an http(s) URL"),
        ({"MONITOR_INTERVAL_SECONDS": "-1"}, "greater than 0"),
        ({}, "no alert channel"),  # a watchdog that could tell no one refuses to start
        # A CRLF .env leaves a '\r' at the end of a value: the form is checked at start, naming the setting.
        (
            {"ALERT_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/x\r"},
            "ALERT_SLACK_WEBHOOK_URL contains a control character",
        ),
        ({"ALERT_SLACK_WEBHOOK_URL": "https:///services/T0/B0/x"}, "ALERT_SLACK_WEBHOOK_URL has no host"),
        (
            {"ALERT_SMTP_HOST": "mail.example.com\r", "ALERT_EMAIL_TO": "oncall@example.com"},
            "ALERT_SMTP_HOST 'mail.example.com\\r' is not a host name",
        ),
        (
            {"MONITOR_HEARTBEAT_URL": "http://\x7fping", "ALERT_SLACK_WEBHOOK_URL": "http://127.0.0.1:9/x"},
            "MONITOR_HEARTBEAT_URL contains a control character",
        ),
        (
            {"MONITOR_LOG_LEVEL": "verbose", "ALERT_SLACK_WEBHOOK_URL": "http://127.0.0.1:9/x"},
            "MONITOR_LOG_LEVEL: Input should be 'DEBUG', 'INFO'",
        ),
    ],
)
def test_bad_settings_are_a_clear_startup_error(env: dict[str, str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "monitor"],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "hooks.slack.com" not in result.stderr  # a webhook URL is a secret: named, never shown


def test_sigterm_stops_the_monitor_within_a_second(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "MONITOR_TARGETS": f"http://127.0.0.1:{free_port()}/health/ready",
        "MONITOR_PORT": str(port),
        "MONITOR_STATE_DIR": str(tmp_path),
        "MONITOR_INTERVAL_SECONDS": "1",
        "MONITOR_ALLOW_NO_CHANNELS": "true",  # this test is about signals, not alerts
        "MONITOR_LOG_LEVEL": "debug",  # any case
    }
    process = subprocess.Popen([sys.executable, "-m", "services.cli", "monitor"], cwd=REPO_ROOT, env=env)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", 20, process)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(5)
        assert time.monotonic() - started < 1.0
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_watching_a_real_predictor_killed_and_restarted(
    predictor_process: PredictorProcess, start_monitor: MonitorFactory, mailbox: MailBox, webhook: Webhook
) -> None:
    predictor_process.start()
    running = start_monitor(monitor_targets=[f"predictor={predictor_process.url}/health/ready"])
    eventually(lambda: running.monitor.states["predictor"].status == "up", 10)
    killed_at = time.monotonic()
    predictor_process.kill()
    eventually(lambda: len(mailbox.subjects()) == 1 and len(webhook.texts()) == 1, 15)
    detected_in = time.monotonic() - killed_at
    assert mailbox.subjects() == ["[churnguard] DOWN predictor: connection refused"]
    bound = FAST["monitor_interval_seconds"] + 15
    assert detected_in < bound
    predictor_process.start()
    eventually(lambda: len(mailbox.subjects()) == 2 and len(webhook.texts()) == 2, 30)
    assert "RECOVERED" in mailbox.subjects()[1]
    assert httpx.get(f"{running.url}/health").status_code == 200


def churnguard_monitor(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ALERT_", "MONITOR_"))}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "monitor", *args],
        cwd=REPO_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_test_alert_proves_each_channel(mailbox: MailBox, webhook: Webhook) -> None:
    result = churnguard_monitor(
        "test-alert",
        ALERT_SMTP_HOST="127.0.0.1",
        ALERT_SMTP_PORT=str(mailbox.port),
        ALERT_EMAIL_TO="oncall@example.com",
        ALERT_SLACK_WEBHOOK_URL=webhook.url,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["email: delivered", "slack: delivered"]
    assert mailbox.subjects() == ["[churnguard] TEST from the watchdog: does this channel reach you?"]
    assert webhook.texts() == ["[churnguard] TEST from the watchdog: does this channel reach you?"]


def test_test_alert_names_the_failing_channel_and_exits_1(mailbox: MailBox, webhook: Webhook) -> None:
    webhook.default_status = 404
    result = churnguard_monitor(
        "test-alert",
        ALERT_SMTP_HOST="127.0.0.1",
        ALERT_SMTP_PORT=str(free_port()),  # nothing listens
        ALERT_EMAIL_TO="oncall@example.com",
        ALERT_SLACK_WEBHOOK_URL=webhook.url,
    )
    assert result.returncode == 1
    email, slack = result.stdout.splitlines()
    assert email.startswith("email: failed: SMTP 127.0.0.1:") and "Connection refused" in email
    assert slack.startswith("slack: failed: Slack answered HTTP 404")


def test_the_monitor_starts_without_channels_only_when_told_to(tmp_path: Path) -> None:
    refused = churnguard_monitor(MONITOR_STATE_DIR=str(tmp_path))
    assert refused.returncode == 2 and "no alert channel configured" in refused.stderr
    assert "Traceback" not in refused.stderr
