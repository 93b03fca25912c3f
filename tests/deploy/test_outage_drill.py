"""The outage drill on local processes: the whole stack up, predictor killed, alerts and Prometheus checked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.receivers import MailBox, Webhook, eventually
from tests.support import REPO_ROOT, free_port, run_weekly_list, shifted_week, valid_customers
from tests.tools import needs_tool

pytestmark = [
    pytest.mark.slow,
    pytest.mark.drill,
    needs_tool("prometheus", "prometheus-alertmanager"),
]

INTERVAL = 2.0


class Stack:
    def __init__(self, var_dir: Path, env: dict[str, str]) -> None:
        self.var_dir, self.env = var_dir, env

    def run(self, action: str) -> str:
        result = subprocess.run(
            [sys.executable, "scripts/stack.py", action],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=400,
        )
        assert result.returncode == 0, result.stdout + result.stderr + self.logs()
        return result.stdout

    def pid(self, name: str) -> int:
        return int((self.var_dir / "run" / f"{name}.pid").read_text())

    def logs(self) -> str:
        return "".join(f"\n--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted((self.var_dir / "log").glob("*.log")))

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.env[f'STACK_{name.upper()}_PORT']}"


@pytest.fixture
def stack(tmp_path: Path, mailbox: MailBox, webhook: Webhook) -> Iterator[Stack]:
    env = {
        **os.environ,
        "STACK_VAR_DIR": str(tmp_path / "var"),
        "STACK_SCRAPE_INTERVAL": "1s",
        **{
            f"STACK_{name}_PORT": str(free_port())
            for name in ("TRACKER", "PREDICTOR", "MONITOR", "PROMETHEUS", "ALERTMANAGER", "MAIL_SMTP", "MAIL_WEB")
        },
        "MONITOR_INTERVAL_SECONDS": str(INTERVAL),
        "MONITOR_CONFIRM_INTERVAL_SECONDS": "1",
        "MONITOR_TIMEOUT_SECONDS": "1",
        "ALERT_SMTP_HOST": "127.0.0.1",
        "ALERT_SMTP_PORT": str(mailbox.port),
        "ALERT_EMAIL_TO": "retention-oncall@example.com",
        "ALERT_SLACK_WEBHOOK_URL": webhook.url,
        "PREDICTOR_READY_CACHE_SECONDS": "0",
        "ALERTMANAGER_GROUP_WAIT_SECONDS": "0",
    }
    handle = Stack(tmp_path / "var", env)
    try:
        yield handle
    finally:
        handle.run("down")


def weekly_list(stack: Stack, output: Path) -> subprocess.CompletedProcess[str]:
    return run_weekly_list(stack.url("predictor"), output, stack.env)


def prometheus_query(stack: Stack, path: str, **params: str) -> dict:  # type: ignore[type-arg]
    return dict(httpx.get(f"{stack.url('prometheus')}{path}", params=params, timeout=5).json())


def alertmanager_alerts(stack: Stack) -> list[str]:
    alerts = httpx.get(f"{stack.url('alertmanager')}/api/v2/alerts", timeout=5).json()
    return [alert["labels"]["alertname"] for alert in alerts]


def test_outage_is_noticed_alerted_and_recovery_announced(
    stack: Stack, mailbox: MailBox, webhook: Webhook, tmp_path: Path
) -> None:
    stack.run("up")
    assert weekly_list(stack, tmp_path / "before.csv").returncode == 0
    eventually(lambda: prometheus_query(stack, "/api/v1/query", query='up{job="predictor"}')["data"]["result"], 30)

    assert not any("predictor" in s for s in mailbox.subjects())  # the stack started quietly
    monitor_metrics = f"{stack.url('monitor')}/metrics"
    seen_up = 'churnguard_monitor_target_up{target="predictor"} 1.0'
    eventually(lambda: seen_up in httpx.get(monitor_metrics).text, 30)
    killed_at = time.monotonic()
    os.kill(stack.pid("predictor"), signal.SIGKILL)
    eventually(lambda: any("DOWN predictor" in s for s in mailbox.subjects()), INTERVAL + 15)
    email_after = time.monotonic() - killed_at
    eventually(lambda: any("DOWN predictor" in t for t in webhook.texts()), INTERVAL + 15)  # the same bound
    slack_after = time.monotonic() - killed_at
    assert [s for s in mailbox.subjects() if "predictor" in s] == ["[churnguard] DOWN predictor: connection refused"]
    failed = weekly_list(stack, tmp_path / "during.csv")
    assert failed.returncode == 3 and "cannot reach the predictor" in failed.stderr

    def predictor_down_in_prometheus() -> bool:
        result = prometheus_query(stack, "/api/v1/query", query='up{job="predictor"}')["data"]["result"]
        return bool(result) and result[0]["value"][1] == "0"

    eventually(predictor_down_in_prometheus, 20)
    eventually(
        lambda: any(
            a["labels"]["alertname"] == "PredictorDown" and a["state"] in ("pending", "firing")
            for a in prometheus_query(stack, "/api/v1/alerts")["data"]["alerts"]
        ),
        20,
    )
    # Prometheus noticed too: its PredictorDown (for: 2m) fires and reaches Alertmanager, which pages no one
    # a second time (the watchdog's DOWN, mirrored by WatchdogPagesPredictor, inhibits it). One outage, one
    # DOWN per channel, whichever system noticed it.
    eventually(lambda: "PredictorDown" in alertmanager_alerts(stack), 180)
    assert "WatchdogPagesPredictor" in alertmanager_alerts(stack)
    time.sleep(3)  # a second page, if routed wrongly, would arrive now
    assert sum(s.startswith("[churnguard] DOWN") for s in mailbox.subjects()) == 1
    assert sum(t.startswith("[churnguard] DOWN") for t in webhook.texts()) == 1
    assert not any("PredictorDown" in s for s in mailbox.subjects() + webhook.texts())

    stack.run("up")  # starts only what is not running: the predictor
    eventually(lambda: any("RECOVERED predictor" in s for s in mailbox.subjects()), 30)
    eventually(lambda: any("RECOVERED predictor" in t for t in webhook.texts()), 20)
    assert weekly_list(stack, tmp_path / "after.csv").returncode == 0
    print(f"\ndrill: DOWN email {email_after:.1f} s, Slack {slack_after:.1f} s after the kill (interval {INTERVAL} s)")
    (REPO_ROOT / "var").mkdir(exist_ok=True)
    (REPO_ROOT / "var" / "drill-local.txt").write_text(
        f"local drill: interval {INTERVAL} s; DOWN email after {email_after:.1f} s, Slack after {slack_after:.1f} s\n"
    )


def test_a_dead_watchdog_is_announced_by_prometheus_through_alertmanager(
    stack: Stack, mailbox: MailBox, webhook: Webhook
) -> None:
    """Who watches the watchdog: Prometheus's MonitorDown (for: 2m) reaches email and Slack via Alertmanager."""
    stack.run("up")
    eventually(lambda: prometheus_query(stack, "/api/v1/query", query='up{job="monitor"}')["data"]["result"], 30)
    killed_at = time.monotonic()
    os.kill(stack.pid("monitor"), signal.SIGKILL)
    eventually(lambda: "[churnguard] FIRING MonitorDown" in mailbox.subjects(), 180)
    eventually(lambda: "[churnguard] FIRING MonitorDown" in webhook.texts(), 20)
    print(f"\ndrill: MonitorDown by email {time.monotonic() - killed_at:.0f} s after the watchdog was killed")
    [post] = [p for p in webhook.posts if "MonitorDown" in str(p)]
    assert "First: restart the watchdog" in str(post)  # the runbook line travels with the page


def test_broken_metrics_are_paged_by_prometheus_and_a_dead_alertmanager_or_prometheus_by_the_watchdog(
    stack: Stack, mailbox: MailBox, webhook: Webhook, tmp_path: Path
) -> None:
    """Found by reading: a `/metrics` that fails while `/health/ready` passes was paged by nobody (the
    watchdog sees a ready service). Prometheus's `up` is 0 and PredictorDown is not inhibited (the watchdog is
    not paging), so it pages. Then the two that page: each killed is paged by the watchdog, which probes them."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    stack.env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)  # the predictor's metrics live in files here
    stack.run("up")
    predictor = stack.url("predictor")
    eventually(lambda: prometheus_query(stack, "/api/v1/query", query='up{job="predictor"}')["data"]["result"], 30)
    # A metrics file torn by a full disk: the exposition cannot be read; scoring and readiness are untouched.
    (metrics_dir / "counter_999999.db").write_bytes(
        (64).to_bytes(4, "little") + bytes(4) + b"\x20\0\0\0{torn" + bytes(64)
    )
    assert httpx.get(f"{predictor}/metrics", timeout=5).status_code >= 500
    assert httpx.get(f"{predictor}/health/ready", timeout=5).status_code == 200
    eventually(lambda: "[churnguard] FIRING PredictorDown" in mailbox.subjects(), 200)
    eventually(lambda: any("PredictorDown" in str(post) for post in webhook.posts), 20)
    assert not any("DOWN predictor" in s for s in mailbox.subjects()), "the watchdog rightly saw it ready"

    os.kill(stack.pid("alertmanager"), signal.SIGKILL)
    eventually(lambda: any(s.startswith("[churnguard] DOWN alertmanager") for s in mailbox.subjects()), INTERVAL + 15)
    eventually(lambda: any("DOWN alertmanager" in t for t in webhook.texts()), INTERVAL + 15)
    os.kill(stack.pid("prometheus"), signal.SIGKILL)
    eventually(lambda: any(s.startswith("[churnguard] DOWN prometheus") for s in mailbox.subjects()), INTERVAL + 15)
    eventually(lambda: any("DOWN prometheus" in t for t in webhook.texts()), INTERVAL + 15)


def test_a_shifted_week_raises_the_drift_rules_in_prometheus(stack: Stack) -> None:
    """The model-health path end to end: real customers, all new and month-to-month, go through the predictor;
    its gauges (read from the audit log) reach Prometheus, whose FeatureDrift and ScoreDrift rules turn
    active (pending for their `for:` of 30 minutes, which a drill does not wait out)."""
    stack.env.update({"PREDICTOR_DRIFT_SECONDS": "1", "PREDICTOR_AUDIT_DURABLE": "true"})
    stack.run("up")
    week = shifted_week(valid_customers()[:1000], "WEEK")
    answer = httpx.post(f"{stack.url('predictor')}/predict/batch", json={"customers": week}, timeout=60)
    assert answer.status_code == 200

    def active(alert: str, **labels: str) -> bool:
        return any(
            a["labels"]["alertname"] == alert
            and a["state"] in ("pending", "firing")
            and all(a["labels"].get(k) == v for k, v in labels.items())
            for a in prometheus_query(stack, "/api/v1/alerts")["data"]["alerts"]
        )

    eventually(lambda: active("FeatureDrift", feature="tenure") and active("ScoreDrift"), 60)
    assert active("FeatureDrift", feature="Contract") and not active("FeatureDrift", feature="gender")
    drift = httpx.get(f"{stack.url('predictor')}/model/drift", timeout=10).json()
    assert drift["records"] == 1000 and drift["features"]["tenure"] > 0.2
