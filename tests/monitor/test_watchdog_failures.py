"""Nothing around the watchdog goes unjudged: a slow or unresolvable target, a notifier that raises anything,
a refused recipient, the only channel failing, and pings from someone without the push token. Real HTTP
targets, aiosmtpd and a webhook receiver."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest

from services.monitor.notifiers import SlackNotifier
from services.monitor.settings import MonitorSettings
from services.monitor.state import Alert
from tests.monitor.conftest import PUSH, PUSH_TOKEN, FakeTarget, MonitorFactory
from tests.monitor.test_watchdog import metric
from tests.receivers import MailBox, Webhook, eventually
from tests.support import free_port

pytestmark = pytest.mark.slow

# The settings: at a 1 s interval and timeout a dribbling target took 19 s to go DOWN.
SLOW = {
    "monitor_interval_seconds": 1.0,
    "monitor_timeout_seconds": 1.0,
    "monitor_confirm_probes": 2,
    "monitor_confirm_interval_seconds": 0.5,
}
# interval + each confirmation (its wait and its probe) + the first probe's timeout + 2 s
BOUND = 1.0 + 2 * (0.5 + 1.0) + 1.0 + 2.0


def seconds_to_down(mailbox: MailBox, since: float, bound: float) -> float:
    eventually(lambda: any("DOWN" in s for s in mailbox.subjects()), bound + 5)
    return time.monotonic() - since


def test_a_dribbling_target_is_down_within_the_bound_naming_how_far_it_got(
    start_monitor: MonitorFactory, target: FakeTarget, mailbox: MailBox
) -> None:
    running = start_monitor(**SLOW)
    eventually(lambda: running.monitor.states["predictor"].status == "up", 5)
    target.set("dribble")
    took = seconds_to_down(mailbox, time.monotonic(), BOUND)
    [subject] = mailbox.subjects()
    assert took <= BOUND, f"DOWN after {took:.1f} s (bound {BOUND} s)"
    assert "no complete answer within 1 s: " in subject and "bytes of the body received" in subject


def test_an_unresolvable_name_is_down_within_the_bound(start_monitor: MonitorFactory, mailbox: MailBox) -> None:
    started = time.monotonic()
    start_monitor(**SLOW, monitor_targets=["ghost=http://churnguard-no-such-host.invalid/health/ready"])
    took = seconds_to_down(mailbox, started, BOUND)
    [subject] = mailbox.subjects()
    assert took <= BOUND, f"DOWN after {took:.1f} s (bound {BOUND} s)"
    assert "DNS failure" in subject or "no complete answer within 1 s: no connection" in subject, subject


class Faulty:
    """Slack's real notifier behind a bug: the first attempts raise whatever the test gives."""

    name = "slack"

    def __init__(self, settings: MonitorSettings, errors: list[Exception]) -> None:
        self.real, self.errors = SlackNotifier(settings), errors

    def send(self, alert: Alert) -> tuple[str, ...]:
        if self.errors:
            raise self.errors.pop(0)
        return self.real.send(alert)


def test_a_notifier_raising_anything_is_reported_and_retried_and_its_worker_lives(
    start_monitor: MonitorFactory, target: FakeTarget, webhook: Webhook
) -> None:
    settings = MonitorSettings(alert_slack_webhook_url=webhook.url)
    errors: list[Exception] = [ValueError("a bug in a notifier"), httpx.InvalidURL("Invalid non-printable ASCII")]
    running = start_monitor(notifiers=[Faulty(settings, errors)], alert_delivery_attempts=5, alert_retry_seconds=0.5)
    eventually(lambda: running.monitor.states["predictor"].status == "up", 5)
    target.set("503")
    eventually(lambda: running.monitor.status().channels["slack"].last_error.startswith("ValueError"), 10)
    assert metric(running.monitor, "churnguard_monitor_channel_up", channel="slack") == 0
    assert httpx.get(f"{running.url}/health").status_code == 200  # the worker is alive
    eventually(lambda: any("DOWN predictor" in t for t in webhook.texts()), 10)  # retried past both errors
    assert errors == [] and running.monitor.delivery.alive()
    assert running.monitor.status().channels["slack"].up
    assert metric(running.monitor, "churnguard_monitor_channel_up", channel="slack") == 1
    failed = "churnguard_monitor_alerts_failed_total"
    assert metric(running.monitor, failed, channel="slack", kind="DOWN", failure="transient") == 2


def test_a_refused_recipient_is_shown_and_announced(
    start_monitor: MonitorFactory, target: FakeTarget, webhook: Webhook
) -> None:
    picky = MailBox(refuse_recipients=("left@example.com",))
    picky.start()
    try:
        running = start_monitor(
            alert_smtp_port=picky.port,
            alert_email_to=["oncall@example.com", "left@example.com"],
            alert_channel_failing_minutes=0.02,  # 1.2 s
        )
        eventually(lambda: running.monitor.states["predictor"].status == "up", 5)
        target.set("503")
        eventually(lambda: any("ALERT CHANNEL email FAILING" in t for t in webhook.texts()), 15)
        email = httpx.get(f"{running.url}/status").json()["channels"]["email"]
        assert email["state"] == "degraded" and email["up"] is False
        assert email["refused_recipients"][0].startswith("left@example.com (550")
        # the DOWN reached the recipient still there, once; the announcement reaches them too
        eventually(lambda: any("ALERT CHANNEL email FAILING" in s for s in picky.subjects()), 10)
        assert sum(s.startswith("[churnguard] DOWN predictor") for s in picky.subjects()) == 1
        page = httpx.get(running.url).text
        assert "refused: left@example.com (550" in page and "DEGRADED" in page
    finally:
        picky.stop()


def test_with_its_only_channel_failing_the_heartbeat_goes_to_fail_with_the_reason(
    start_monitor: MonitorFactory, target: FakeTarget, caplog: pytest.LogCaptureFixture
) -> None:
    heartbeat = target.url.replace("/health/ready", "/heartbeat")
    with caplog.at_level(logging.WARNING):
        running = start_monitor(
            alert_smtp_port=free_port(),  # nothing listens: the only channel fails
            alert_slack_webhook_url=None,
            monitor_heartbeat_url=heartbeat,
            monitor_heartbeat_seconds=0.5,
            alert_channel_failing_minutes=0.02,
        )
        eventually(lambda: running.monitor.states["predictor"].status == "up", 5)
    eventually(lambda: "/heartbeat" in target.hits, 5)  # pinged every 0.5 s: under load, not yet at "up"
    assert target.posts == []  # all well: plain pings
    target.set("503")
    eventually(lambda: any(path == "/heartbeat/fail" for path, _ in target.posts), 15)
    [body] = {body for path, body in target.posts if path == "/heartbeat/fail"}
    assert "alert channel email failing since" in body and "Connection refused" in body


def test_a_single_channel_without_a_heartbeat_is_warned_of_at_start(
    start_monitor: MonitorFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        start_monitor(alert_slack_webhook_url=None)
        eventually(lambda: any("only one alert channel" in r.message for r in caplog.records), 5)
    [warning] = [r.message for r in caplog.records if "only one alert channel" in r.message]
    assert "ALERT_SLACK_WEBHOOK_URL" in warning and "MONITOR_HEARTBEAT_URL" in warning


def test_a_ping_without_the_push_token_is_401_and_changes_nothing(start_monitor: MonitorFactory) -> None:
    running = start_monitor(monitor_push_checks=["weekly-list=7d+1h"])
    base = f"{running.url}/ping/weekly-list"
    for attempt in (
        httpx.post(base),
        httpx.post(f"{base}/fail", content=b"the list job crashed; call everyone manually"),
        httpx.post(base, headers={"Authorization": "Bearer wrong"}),
        httpx.post(f"{base}?token=wrong"),
    ):
        assert attempt.status_code == 401 and "MONITOR_PUSH_TOKEN" in attempt.json()["message"]
    check: dict[str, Any] = httpx.get(f"{running.url}/status").json()["push_checks"]["weekly-list"]
    assert check["last_ping"] is None and check["state"] == "UNKNOWN" and check["last_reason"] == ""
    assert httpx.post(base, headers=PUSH).status_code == 200
    assert httpx.post(f"{base}?token={PUSH_TOKEN}").status_code == 200  # what a cron line can send
    assert httpx.get(f"{running.url}/status").json()["push_checks"]["weekly-list"]["state"] == "UP"


def test_with_push_checks_and_no_token_pings_are_refused_and_each_check_is_down_naming_it(
    start_monitor: MonitorFactory, target: FakeTarget, mailbox: MailBox
) -> None:
    running = start_monitor(monitor_push_checks=["weekly-list=7d+1h"], monitor_push_token=None)
    eventually(lambda: any("DOWN weekly-list" in s for s in mailbox.subjects()), 10)
    [subject] = [s for s in mailbox.subjects() if "weekly-list" in s]
    assert "MONITOR_PUSH_TOKEN is not set" in subject
    [message] = [m for m in mailbox.messages if "weekly-list" in str(m["Subject"])]
    assert "scheduled job" in message.get_payload() and "/health/ready" not in message.get_payload()
    assert httpx.post(f"{running.url}/ping/weekly-list", headers=PUSH).status_code == 401
    eventually(lambda: running.monitor.states["predictor"].status == "up", 5)  # still watching its targets
    assert httpx.get(f"{running.url}/health").status_code == 200
