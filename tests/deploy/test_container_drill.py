"""The outage drill with the real images under docker-compose, on a Docker engine this test starts.

Runs in CI (CI=true) or with CHURNGUARD_CONTAINER_DRILL=1; when the engine cannot start here it is
reported as skipped with the reason, never as passed.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.receivers import eventually
from tests.support import REPO_ROOT, free_port, run_weekly_list

pytestmark = [pytest.mark.slow, pytest.mark.docker]

ENABLED = os.environ.get("CI") == "true" or os.environ.get("CHURNGUARD_CONTAINER_DRILL") == "1"
ENGINE_DIR = Path("/tmp/churnguard-docker")  # kept between runs on one machine: cached layers
INTERVAL = 3
API_KEY = "drill-key"


class Compose:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["docker-compose", "-p", "churnguard-drill", *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            logs = subprocess.run(
                ["docker-compose", "-p", "churnguard-drill", "logs", "--tail=40"],
                cwd=REPO_ROOT,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout
            raise AssertionError(f"docker-compose {' '.join(args)} failed:\n{result.stderr[-3000:]}\n{logs[-6000:]}")
        return result

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.env[name]}"


def _engine(action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "scripts/docker-engine.sh", action, str(ENGINE_DIR)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def compose() -> Iterator[Compose]:
    if not ENABLED:
        pytest.skip("container drill runs in CI (CI=true) or with CHURNGUARD_CONTAINER_DRILL=1")
    started = _engine("start")
    if started.returncode != 0:
        pytest.skip(f"Docker engine could not start here: {started.stderr.strip()[-800:]}")
    base = _engine("base")
    if base.returncode != 0:
        _engine("stop")
        pytest.skip(f"local base image could not be built (debootstrap): {base.stderr.strip()[-800:]}")
    env = {
        **os.environ,
        "DOCKER_HOST": f"unix://{ENGINE_DIR}/docker.sock",
        "COMPOSE_HTTP_TIMEOUT": "300",
        "BASE_IMAGE": "churnguard-base:bookworm",
        "PROMETHEUS_BASE_IMAGE": "churnguard-base:bookworm",
        "CHURNGUARD_DATA_DIR": str(REPO_ROOT.parent / "shared" / "data"),
        **{
            name: str(free_port())
            for name in (
                "TRACKER_PORT",
                "PREDICTOR_PORT",
                "MONITOR_PORT",
                "PROMETHEUS_PORT",
                "ALERTMANAGER_PORT",
                "MAILCATCHER_WEB_PORT",
            )
        },
        "PREDICTOR_API_KEYS": API_KEY,
        "MONITOR_INTERVAL_SECONDS": str(INTERVAL),
        "MONITOR_TIMEOUT_SECONDS": "1",
        "ALERT_SLACK_WEBHOOK_URL": "http://mailcatcher:1080/webhook/drill",
    }
    handle = Compose(env)
    handle("down", "-v", "-t", "3", check=False, timeout=120)  # a fresh start: no state from an earlier run
    try:
        handle("up", "-d", "--build")
        yield handle
    finally:
        handle("down", "-v", "-t", "3", check=False, timeout=120)
        _engine("stop")


def alerts(compose: Compose) -> tuple[list[str], list[str]]:
    base = compose.url("MAILCATCHER_WEB_PORT")
    emails = [m["subject"] for m in httpx.get(f"{base}/messages", timeout=5).json()]
    hooks = [str(w["payload"].get("text")) for w in httpx.get(f"{base}/webhooks", timeout=5).json()]
    return emails, hooks


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
        logs = compose("logs", "--tail=60", "monitor", "predictor", "mailcatcher", check=False, timeout=60).stdout
        raise AssertionError(f"{failure}\n{logs[-8000:]}") from failure


def _drill(compose: Compose, tmp_path: Path) -> None:
    eventually(lambda: _ok(f"{compose.url('PREDICTOR_PORT')}/health/ready"), 300, interval=1)
    assert weekly_list(compose, tmp_path / "before.csv").returncode == 0
    eventually(lambda: prometheus(compose, "/api/v1/query", query='up{job="predictor"}')["result"], 60, interval=1)

    # The watchdog must have seen the predictor up (start-up failures fall in its grace period); it watches
    # Prometheus and Alertmanager too, and Prometheus sends its alerts to that Alertmanager.
    for target in ("predictor", "tracker", "prometheus", "alertmanager"):
        seen_up = f'churnguard_monitor_target_up{{target="{target}"}} 1.0'
        eventually(lambda seen_up=seen_up: seen_up in _text(compose.url("MONITOR_PORT") + "/metrics"), 90)
    eventually(lambda: prometheus(compose, "/api/v1/alertmanagers")["activeAlertmanagers"], 60, interval=1)
    assert _ok(f"{compose.url('ALERTMANAGER_PORT')}/-/ready")
    emails_before, hooks_before = (count(found, "DOWN predictor") for found in alerts(compose))
    compose("kill", "predictor", timeout=60)
    killed = time.monotonic()
    eventually(lambda: count(alerts(compose)[0], "DOWN predictor") > emails_before, INTERVAL + 15, interval=0.2)
    email_after = time.monotonic() - killed
    eventually(lambda: count(alerts(compose)[1], "DOWN predictor") > hooks_before, 5, interval=0.2)
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
    emails_before, hooks_before = (count(found, "RECOVERED predictor") for found in alerts(compose))
    compose("start", "predictor", timeout=120)
    eventually(lambda: count(alerts(compose)[0], "RECOVERED predictor") > emails_before, 120, interval=1)
    eventually(lambda: count(alerts(compose)[1], "RECOVERED predictor") > hooks_before, 10, interval=0.5)
    assert weekly_list(compose, tmp_path / "after.csv").returncode == 0
    (REPO_ROOT / "var").mkdir(exist_ok=True)
    (REPO_ROOT / "var" / "drill-containers.txt").write_text(
        f"container drill: interval {INTERVAL} s; DOWN email after {email_after:.1f} s,"
        f" Slack after {slack_after:.1f} s\n"
    )
    print(f"\ncontainer drill: DOWN email {email_after:.1f} s, Slack {slack_after:.1f} s after the kill")


def count(texts: list[str], needle: str) -> int:
    return sum(needle in text for text in texts)


def _text(url: str) -> str:
    try:
        return httpx.get(url, timeout=2).text
    except httpx.HTTPError:
        return ""


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
