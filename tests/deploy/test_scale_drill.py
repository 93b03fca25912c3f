"""The scale-out drill: three replicas behind HAProxy (TLS) on a shared PostgreSQL, one killed under load.

The stack is docker-compose.yml + deploy/compose/scale.yml, every image built here, on the engine the
container drill uses. While the retention team's weekly list and background scoring go through the load
balancer, one replica is SIGKILLed. Then no client request has failed, Prometheus names the dead
replica, the watchdog still sees the service UP, every answered prediction is in PostgreSQL, and any
id is found through any replica (the killed one too, once it is back).
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.deploy.containers import PORTS, Compose, answers_ok, mail_and_hooks, running_stack, text
from tests.receivers import eventually
from tests.support import REPO_ROOT, valid_customers

# The page for the dead replica comes after PredictorDown's 2 minutes: a longer bound than the other drills'.
pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.drill, pytest.mark.timeout(780, func_only=True)]

INTERVAL = 3
API_KEY = "scale-drill-key"
ADMIN_KEY = "scale-drill-admin"
REPLICA_PORTS = {"predictor": "PREDICTOR_PORT", "predictor-2": "PREDICTOR_2_PORT", "predictor-3": "PREDICTOR_3_PORT"}
KILLED = "predictor-2"
LIST_COPIES = 6  # the shared data set six times over (~42,000 customers): the list is still running at the kill


@pytest.fixture(scope="module")
def scale() -> Iterator[Compose]:
    settings = {
        "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
        "PREDICTOR_API_KEYS": API_KEY,
        "MONITOR_PREDICTOR_KEY": API_KEY,  # its predictor-model check reads /model, which needs a key here
        "PREDICTOR_ADMIN_KEYS": ADMIN_KEY,
        "MONITOR_INTERVAL_SECONDS": str(INTERVAL),
        "MONITOR_TIMEOUT_SECONDS": "2",
        "MONITOR_PUSH_TOKEN": secrets.token_urlsafe(16),
        "ALERT_SLACK_WEBHOOK_URL": "http://mailcatcher:1080/webhook/drill",
    }
    ports = (*PORTS, "PREDICTOR_2_PORT", "PREDICTOR_3_PORT", "LB_PORT", "LB_STATS_PORT", "POSTGRES_PORT")
    files = ["docker-compose.yml", "deploy/compose/scale.yml"]
    with running_stack("churnguard-scale", files, settings, ports) as stack:
        yield stack


class Load:
    """Single-customer scoring through the load balancer from a few threads; every answer is kept."""

    def __init__(self, url: str, tls: ssl.SSLContext, customers: list[dict[str, Any]], threads: int = 4) -> None:
        self.url, self.tls, self.customers = url, tls, customers
        self.answered: list[str] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self, offset: int) -> None:
        headers = {"authorization": f"Bearer {API_KEY}"}
        with httpx.Client(verify=self.tls, headers=headers, timeout=30) as client:
            n = offset
            while not self._stop.is_set():
                customer = self.customers[n % len(self.customers)]
                n += len(self._threads)
                try:
                    response = client.post(f"{self.url}/predict", json=customer)
                except httpx.HTTPError as error:
                    self.failures.append(f"{type(error).__name__}: {error}")
                    continue
                if response.status_code == 200:
                    self.answered.append(response.json()["prediction_id"])
                else:
                    self.failures.append(f"HTTP {response.status_code}: {response.text[:300]}")


def test_a_replica_dies_under_load_no_client_notices_and_prometheus_pages_it_once(
    scale: Compose, tmp_path: Path
) -> None:
    try:
        _drill(scale, tmp_path)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n{scale.logs('lb', 'monitor', KILLED, 'postgres')[-8000:]}") from failure


def _drill(scale: Compose, tmp_path: Path) -> None:
    for port in REPLICA_PORTS.values():
        eventually(lambda port=port: answers_ok(f"{scale.url(port)}/health/ready"), 300, interval=1)
    certificate = tmp_path / "lb.crt"
    certificate.write_text(scale("exec", "-T", "lb", "cat", "/certs/lb.crt", timeout=60).stdout)
    tls = ssl.create_default_context(cafile=str(certificate))
    lb = scale.url("LB_PORT", scheme="https")
    eventually(lambda: _status(lb, tls) == 200, 60, interval=1)
    eventually(lambda: len(_up(scale)) == 3 and all(_up(scale).values()), 90, interval=1)
    eventually(lambda: 'churnguard_monitor_target_up{target="predictor"} 1.0' in _monitor(scale), 90, interval=1)
    # The load balancer's self-made certificate is long-lived: its [CERTIFICATE_EXPIRATION] check passes.
    eventually(lambda: 'churnguard_monitor_target_up{target="lb-certificate"} 1.0' in _monitor(scale), 30, interval=1)
    pages_before = _pages(scale)

    customers = valid_customers()
    week = _week_file(customers, tmp_path / "week.csv")
    weekly_list: dict[str, subprocess.CompletedProcess[str]] = {}
    runner = threading.Thread(
        target=lambda: weekly_list.update(done=_weekly_list(lb, week, tmp_path / "list.csv", certificate)),
        daemon=True,
    )
    with Load(lb, tls, customers) as load:
        runner.start()
        time.sleep(2)
        assert load.answered and runner.is_alive(), "the kill must come while the list and the load are running"
        scale("kill", KILLED, timeout=60)
        killed_at, answered_at_kill = time.monotonic(), len(load.answered)
        runner.join(timeout=240)
        while time.monotonic() - killed_at < 3 * INTERVAL + 2:  # the watchdog probes the service a few times
            time.sleep(0.5)
    listed = weekly_list["done"]
    print(
        f"\nscale drill: {len(load.answered)} single predictions ({len(load.answered) - answered_at_kill} after"
        f" the kill), {LIST_COPIES * len(customers)} customers listed; failures: {len(load.failures)}"
    )
    assert not load.failures, f"clients saw failures: {load.failures[:5]}"
    assert listed.returncode == 0, listed.stderr[-2000:]

    # Prometheus names the dead replica; the others are up.
    eventually(lambda: _up(scale) == {"predictor:8000": 1, "predictor-2:8000": 0, "predictor-3:8000": 1}, 60, 1)
    eventually(lambda: f"{KILLED}:8000" in _predictor_down_instances(scale), 60, interval=1)
    # The watchdog watches the service (through the load balancer): still UP, nobody paged.
    assert 'churnguard_monitor_target_up{target="predictor"} 1.0' in _monitor(scale)
    assert _pages(scale) == pages_before, "the watchdog paged for a service that never failed a client"

    # Every answered prediction is in PostgreSQL, the list's customers too.
    with psycopg.connect(_audit_dsn(scale)) as connection:
        stored = {
            row[0]
            for row in connection.execute(
                "SELECT prediction_id FROM predictions WHERE prediction_id = ANY(%s)", (load.answered,)
            )
        }
        listed_customers = connection.execute(
            "SELECT count(DISTINCT customer_id) FROM predictions WHERE customer_id LIKE 'week-%'"
        ).fetchone()
    assert stored == set(load.answered), f"{len(set(load.answered) - stored)} answered predictions not stored"
    assert listed_customers == (LIST_COPIES * len(customers),)

    # Any id through any replica: the survivors now, the killed one once it is back.
    sample = [load.answered[0], load.answered[answered_at_kill], load.answered[-1]]
    for replica in ("predictor", "predictor-3"):
        _assert_found(scale.url(REPLICA_PORTS[replica]), sample, None)
    _assert_found(lb, sample, tls)

    # The watchdog could not see the dead replica; Prometheus pages it, once, naming it (PredictorDown, 2m).
    eventually(lambda: len(_alertmanager_pages(scale, f"{KILLED}:8000")) == 1, 300, interval=2)
    time.sleep(5)  # a second page, if routed wrongly, would arrive now
    assert len(_alertmanager_pages(scale, f"{KILLED}:8000")) == 1
    emails, _ = mail_and_hooks(scale)
    assert [subject for subject in emails if "PredictorDown" in subject] == ["[churnguard] FIRING PredictorDown"]
    assert 'churnguard_monitor_target_up{target="predictor"} 1.0' in _monitor(scale), "the service never failed"
    scale("start", KILLED, timeout=120)
    eventually(lambda: answers_ok(f"{scale.url(REPLICA_PORTS[KILLED])}/health/ready"), 120, interval=1)
    _assert_found(scale.url(REPLICA_PORTS[KILLED]), sample, None)
    _every_replica_killed_is_one_page(scale)


def _every_replica_killed_is_one_page(scale: Compose) -> None:
    """All replicas dead: the watchdog sees the service DOWN and pages, once per channel; each replica's
    PredictorDown reaches Alertmanager and is inhibited by WatchdogPagesPredictor: one page, not four."""
    eventually(
        lambda: _up(scale) == dict.fromkeys(("predictor:8000", "predictor-2:8000", "predictor-3:8000"), 1), 90, 1
    )
    paged_by_alertmanager = {replica: len(_alertmanager_pages(scale, f"{replica}:8000")) for replica in REPLICA_PORTS}
    scale("kill", *REPLICA_PORTS, timeout=60)
    killed_at = time.monotonic()

    def watchdog_downs() -> tuple[list[str], list[str]]:
        emails, hooks = mail_and_hooks(scale)
        return [s for s in emails if s.startswith("[churnguard] DOWN predictor")], [
            h for h in hooks if "DOWN predictor" in h
        ]

    eventually(lambda: all(watchdog_downs()), 6 * INTERVAL + 20, interval=1)
    paged_after = time.monotonic() - killed_at
    every_replica = {f"{replica}:8000" for replica in REPLICA_PORTS}
    eventually(lambda: _firing_predictor_down(scale) == every_replica, 300, interval=2)  # sent to Alertmanager
    time.sleep(15)  # Alertmanager's group wait (10 s): a page it failed to inhibit would arrive now
    emails, hooks = watchdog_downs()
    assert len(emails) == 1 and len(hooks) == 1, (emails, hooks)
    assert "DOWN predictor:" in emails[0] and "predictor-model" not in emails[0]
    now = {replica: len(_alertmanager_pages(scale, f"{replica}:8000")) for replica in REPLICA_PORTS}
    assert now == paged_by_alertmanager, "a PredictorDown paged beside the watchdog's DOWN"
    print(
        f"\nscale drill: every replica killed: one watchdog DOWN per channel after {paged_after:.0f} s, "
        f"{len(every_replica)} PredictorDown inhibited"
    )


def _assert_found(base: str, ids: list[str], tls: ssl.SSLContext | None) -> None:
    headers = {"authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(verify=tls or True, headers=headers, timeout=10) as client:
        for prediction_id in ids:
            response = client.get(f"{base}/predictions/{prediction_id}")
            assert response.status_code == 200, f"{base}: {prediction_id}: {response.status_code} {response.text}"
            assert response.json()["prediction_id"] == prediction_id


def _week_file(customers: list[dict[str, Any]], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(customers[0]))
        writer.writeheader()
        for copy in range(LIST_COPIES):
            for n, customer in enumerate(customers):
                writer.writerow({**customer, "customerID": f"week-{copy}-{n}"})
    return path


def _weekly_list(url: str, week: Path, output: Path, certificate: Path) -> subprocess.CompletedProcess[str]:
    """`churnguard weekly-list` as the team runs it, through the load balancer, trusting its certificate,
    with no retries of its own: any failure the load balancer lets through fails the list."""
    command = ["-m", "services.cli", "weekly-list", "--input", str(week), "--top", "500", "--output", str(output)]
    env = {
        **os.environ,
        "PREDICTOR_API_KEY": API_KEY,
        "PREDICTOR_CONNECT_ATTEMPTS": "1",
        "SSL_CERT_FILE": str(certificate),
    }
    return subprocess.run(
        [sys.executable, *command, "--url", url],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def _status(base: str, tls: ssl.SSLContext) -> int:
    try:
        return httpx.get(f"{base}/health/ready", verify=tls, timeout=3).status_code
    except httpx.HTTPError:
        return 0


def _prometheus(scale: Compose, path: str, **params: str) -> Any:
    return httpx.get(f"{scale.url('PROMETHEUS_PORT')}{path}", params=params, timeout=5).json()["data"]


def _up(scale: Compose) -> dict[str, int]:
    result = _prometheus(scale, "/api/v1/query", query='up{job="predictor"}')["result"]
    return {series["metric"]["instance"]: int(float(series["value"][1])) for series in result}


def _predictor_down_instances(scale: Compose) -> set[str]:
    alerts = _prometheus(scale, "/api/v1/alerts")["alerts"]
    return {a["labels"].get("instance", "") for a in alerts if a["labels"]["alertname"] == "PredictorDown"}


def _firing_predictor_down(scale: Compose) -> set[str]:
    alerts = _prometheus(scale, "/api/v1/alerts")["alerts"]
    return {
        a["labels"].get("instance", "")
        for a in alerts
        if a["labels"]["alertname"] == "PredictorDown" and a["state"] == "firing"
    }


def _monitor(scale: Compose) -> str:
    return text(f"{scale.url('MONITOR_PORT')}/metrics")


def _pages(scale: Compose) -> int:
    emails, hooks = mail_and_hooks(scale)
    return sum("predictor" in message for message in [*emails, *hooks])


def _alertmanager_pages(scale: Compose, instance: str) -> list[str]:
    """Alertmanager's Slack posts naming `instance` (its text sits in attachments, not at the top)."""
    hooks = httpx.get(f"{scale.url('MAILCATCHER_WEB_PORT')}/webhooks", timeout=5).json()
    posts = [json.dumps(hook["payload"]) for hook in hooks]
    return [post for post in posts if instance in post and "PredictorDown" in post]


def _audit_dsn(scale: Compose) -> str:
    password = scale.env["POSTGRES_PASSWORD"]
    return f"postgresql://churnguard:{password}@127.0.0.1:{scale.env['POSTGRES_PORT']}/audit"
