"""The outage drill with the real images under docker-compose, on a Docker engine this test starts.

Runs in CI (CI=true) or with CHURNGUARD_CONTAINER_DRILL=1; when the engine cannot start here it is
reported as skipped with the reason, never as passed.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deploy.containers import DRILL_TIMEOUT, PORTS, Compose, answers_ok, mail_and_hooks, running_stack, text
from tests.receivers import eventually
from tests.support import REPO_ROOT, run_weekly_list

pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.drill, DRILL_TIMEOUT]

INTERVAL = 3
API_KEY = "drill-key"


@pytest.fixture(scope="module")
def compose() -> Iterator[Compose]:
    settings = {
        "PREDICTOR_API_KEYS": API_KEY,
        "MONITOR_INTERVAL_SECONDS": str(INTERVAL),
        "MONITOR_TIMEOUT_SECONDS": "1",
        "MONITOR_PUSH_TOKEN": secrets.token_urlsafe(16),
        "ALERT_SLACK_WEBHOOK_URL": "http://mailcatcher:1080/webhook/drill",
    }
    with running_stack("churnguard-drill", ["docker-compose.yml"], settings, PORTS) as stack:
        yield stack


def weekly_list(compose: Compose, output: Path) -> subprocess.CompletedProcess[str]:
    return run_weekly_list(compose.url("PREDICTOR_PORT"), output, {**compose.env, "PREDICTOR_API_KEY": API_KEY})


def prometheus(compose: Compose, path: str, **params: str) -> Any:
    return httpx.get(f"{compose.url('PROMETHEUS_PORT')}{path}", params=params, timeout=5).json()["data"]


def test_containers_run_as_non_root(compose: Compose) -> None:
    for service in ("tracker", "predictor", "monitor", "prometheus", "alertmanager"):
        uid = compose("exec", "-T", service, "id", "-u", timeout=60).stdout.strip()
        assert uid not in ("", "0"), service


def test_container_outage_drill(compose: Compose, tmp_path: Path) -> None:
    try:
        _drill(compose, tmp_path)
    except AssertionError as failure:
        logs = compose.logs("monitor", "predictor", "mailcatcher")
        raise AssertionError(f"{failure}\n{logs[-8000:]}") from failure


def _drill(compose: Compose, tmp_path: Path) -> None:
    eventually(lambda: answers_ok(f"{compose.url('PREDICTOR_PORT')}/health/ready"), 300, interval=1)
    assert weekly_list(compose, tmp_path / "before.csv").returncode == 0
    eventually(lambda: prometheus(compose, "/api/v1/query", query='up{job="predictor"}')["result"], 60, interval=1)

    # The watchdog must have seen the predictor up (start-up failures fall in its grace period); it watches
    # Prometheus and Alertmanager too, and Prometheus sends its alerts to that Alertmanager.
    for target in ("predictor", "tracker", "prometheus", "alertmanager"):
        seen_up = f'churnguard_monitor_target_up{{target="{target}"}} 1.0'
        eventually(lambda seen_up=seen_up: seen_up in text(compose.url("MONITOR_PORT") + "/metrics"), 90)
    eventually(lambda: prometheus(compose, "/api/v1/alertmanagers")["activeAlertmanagers"], 60, interval=1)
    assert answers_ok(f"{compose.url('ALERTMANAGER_PORT')}/-/ready")
    emails_before, hooks_before = (count(found, "DOWN predictor") for found in mail_and_hooks(compose))
    compose("kill", "predictor", timeout=60)
    killed = time.monotonic()
    eventually(lambda: count(mail_and_hooks(compose)[0], "DOWN predictor") > emails_before, INTERVAL + 15, interval=0.2)
    email_after = time.monotonic() - killed
    eventually(lambda: count(mail_and_hooks(compose)[1], "DOWN predictor") > hooks_before, 5, interval=0.2)
    slack_after = time.monotonic() - killed
    assert weekly_list(compose, tmp_path / "during.csv").returncode == 3

    eventually(
        lambda: any(
            a["labels"]["alertname"] == "PredictorDown" and a["state"] in ("pending", "firing")
            for a in prometheus(compose, "/api/v1/alerts")["alerts"]
        ),
        90,
        interval=1,
    )
    emails_before, hooks_before = (count(found, "RECOVERED predictor") for found in mail_and_hooks(compose))
    compose("start", "predictor", timeout=120)
    eventually(lambda: count(mail_and_hooks(compose)[0], "RECOVERED predictor") > emails_before, 120, interval=1)
    eventually(lambda: count(mail_and_hooks(compose)[1], "RECOVERED predictor") > hooks_before, 10, interval=0.5)
    assert weekly_list(compose, tmp_path / "after.csv").returncode == 0
    (REPO_ROOT / "var").mkdir(exist_ok=True)
    (REPO_ROOT / "var" / "drill-containers.txt").write_text(
        f"container drill: interval {INTERVAL} s; DOWN email after {email_after:.1f} s,"
        f" Slack after {slack_after:.1f} s\n"
    )
    print(f"\ncontainer drill: DOWN email {email_after:.1f} s, Slack {slack_after:.1f} s after the kill")


def count(texts: list[str], needle: str) -> int:
    return sum(needle in text for text in texts)
