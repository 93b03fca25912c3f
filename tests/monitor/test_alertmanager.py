"""Alertmanager from Debian, configured from ALERT_*: amtool accepts the config, real alerts reach real
receivers, and what the watchdog already pages for reaches no one a second time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from services.monitor.alertmanager import render_config
from services.monitor.settings import AlertChannelSettings
from tests.receivers import MailBox, Webhook, eventually
from tests.support import REPO_ROOT, free_port, stop, wait_for_http
from tests.tools import needs_tool

BOTH = AlertChannelSettings(
    alert_smtp_host="smtp.example.com",
    alert_smtp_port=587,
    alert_smtp_starttls=True,
    alert_smtp_user="churnguard",
    alert_smtp_password="example-only",
    alert_email_to=["oncall@example.com"],
    alert_slack_webhook_url="https://hooks.slack.com/services/T0/B0/example",
)


def amtool_check(config: dict[str, object], directory: Path) -> subprocess.CompletedProcess[str]:
    path = directory / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run(["amtool", "check-config", str(path)], capture_output=True, text=True, timeout=30)


@needs_tool("amtool")
@pytest.mark.parametrize(
    "settings",
    [
        BOTH,
        AlertChannelSettings(alert_slack_webhook_url="https://hooks.slack.com/services/T0/B0/example"),
        AlertChannelSettings(alert_smtp_host="127.0.0.1", alert_email_to=["a@example.com", "b@example.com"]),
    ],
)
def test_the_rendered_config_passes_amtool(settings: AlertChannelSettings, tmp_path: Path) -> None:
    result = amtool_check(render_config(settings), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_tool("amtool")
def test_amtool_catches_a_broken_config(tmp_path: Path) -> None:
    config = render_config(BOTH)
    config["route"]["receiver"] = "nobody-by-that-name"  # type: ignore[index]
    result = amtool_check(config, tmp_path)
    assert result.returncode != 0 and "nobody-by-that-name" in result.stdout + result.stderr


def test_the_config_takes_its_values_from_the_settings() -> None:
    config = render_config(BOTH, group_wait_seconds=3)
    assert config["global"]["smtp_smarthost"] == "smtp.example.com:587"
    assert config["global"]["smtp_require_tls"] is True
    assert config["receivers"][0]["email_configs"][0]["to"] == "oncall@example.com"
    assert config["route"]["group_wait"] == "3s" and config["route"]["repeat_interval"] == "3600s"


@pytest.fixture
def alertmanager(tmp_path: Path, mailbox: MailBox, webhook: Webhook) -> Iterator[str]:
    """`churnguard alertmanager` as a real process, pointed at the real SMTP server and webhook receiver."""
    port = free_port()
    env = {
        **os.environ,
        "ALERT_SMTP_HOST": "127.0.0.1",
        "ALERT_SMTP_PORT": str(mailbox.port),
        "ALERT_EMAIL_TO": "oncall@example.com",
        "ALERT_SLACK_WEBHOOK_URL": webhook.url,
        "ALERTMANAGER_PORT": str(port),
        "ALERTMANAGER_DATA_DIR": str(tmp_path / "am"),
        "ALERTMANAGER_GROUP_WAIT_SECONDS": "0",
    }
    log = (tmp_path / "am.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "alertmanager"], cwd=REPO_ROOT, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/-/ready", 30, process)
        yield url
    finally:
        stop(process)


def fire(url: str, alertname: str, instance: str = "test:1") -> None:
    alert = {
        "labels": {"alertname": alertname, "severity": "critical", "instance": instance},
        "annotations": {"summary": f"{alertname} summary", "runbook": "First: do the first thing."},
    }
    httpx.post(f"{url}/api/v2/alerts", json=[alert], timeout=10).raise_for_status()


@pytest.mark.slow
@needs_tool("prometheus-alertmanager")
def test_an_alert_only_prometheus_knows_reaches_email_and_slack_and_an_outage_the_watchdog_pages_does_not(
    alertmanager: str, mailbox: MailBox, webhook: Webhook
) -> None:
    fire(alertmanager, "WatchdogPagesPredictor")  # the watchdog is paging the service's outage itself
    time.sleep(1)
    fire(alertmanager, "PredictorDown")  # so this one is inhibited: one page per outage
    fire(alertmanager, "MonitorDown")
    eventually(lambda: mailbox.subjects() and webhook.posts, 30)
    time.sleep(2)  # anything routed wrongly would have arrived with it
    assert mailbox.subjects() == ["[churnguard] FIRING MonitorDown"]
    [post] = webhook.posts
    assert "MonitorDown" in str(post) and "First: do the first thing." in str(post)
    assert "PredictorDown" not in str(post)
    [message] = mailbox.messages
    assert "PredictorDown" not in message.as_string()


@pytest.mark.slow
@needs_tool("prometheus-alertmanager")
def test_a_dead_replica_the_watchdog_cannot_see_is_paged_once_naming_it(
    alertmanager: str, mailbox: MailBox, webhook: Webhook
) -> None:
    """Found by reading: behind a load balancer the watchdog sees the service, not the replica, and
    PredictorDown went to no one: one dead replica of three was paged by nobody."""
    fire(alertmanager, "PredictorDown", instance="predictor-2:8000")
    eventually(lambda: mailbox.subjects() and webhook.posts, 30)
    time.sleep(2)
    assert mailbox.subjects() == ["[churnguard] FIRING PredictorDown"]
    [post] = webhook.posts
    assert "PredictorDown summary" in str(post)
    [message] = mailbox.messages
    assert "predictor-2:8000" in message.as_string()


@pytest.mark.slow
@needs_tool("prometheus-alertmanager", "amtool")
def test_the_documented_amtool_silence_keeps_planned_work_from_paging(
    alertmanager: str, mailbox: MailBox, webhook: Webhook
) -> None:
    """The README's maintenance recipe for Prometheus's side, run as written (matcher on the instance)."""
    silence = subprocess.run(
        [
            "amtool",
            f"--alertmanager.url={alertmanager}",
            "silence",
            "add",
            'instance=~"test.*"',
            "--duration=30m",
            "--author=drill",
            "--comment=deploy 1.4",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert silence.returncode == 0, silence.stderr
    fire(alertmanager, "MonitorDown")
    time.sleep(3)
    assert mailbox.subjects() == [] and webhook.posts == []
    expire = subprocess.run(
        ["amtool", f"--alertmanager.url={alertmanager}", "silence", "expire", silence.stdout.strip()],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert expire.returncode == 0, expire.stderr
    fire(alertmanager, "MonitorStuck")  # same instance, so the silence would match it: pages once it expired
    eventually(lambda: mailbox.subjects() == ["[churnguard] FIRING MonitorStuck"], 30)


@needs_tool("amtool")
def test_a_repeat_interval_under_a_minute_is_rendered_exactly_and_under_a_second_refused(tmp_path: Path) -> None:
    """Found by reading: 0.5 minutes rendered `repeat_interval: 0m`, a reminder setting silently switched off."""
    half = AlertChannelSettings(alert_repeat_minutes=0.5, alert_smtp_host="127.0.0.1", alert_email_to=["a@example.com"])
    config = render_config(half)
    assert config["route"]["repeat_interval"] == "30s"  # type: ignore[index]
    assert amtool_check(config, tmp_path).returncode == 0
    with pytest.raises(
        ValueError, match="ALERT_REPEAT_MINUTES=0.001 is under a second: Alertmanager's repeat_interval"
    ):
        AlertChannelSettings(alert_repeat_minutes=0.001)
