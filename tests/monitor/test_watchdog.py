"""The watchdog end to end with real SMTP and webhook receivers and real HTTP targets."""

from __future__ import annotations

import time

import httpx
import pytest

from services.monitor.watchdog import Monitor
from tests.monitor.conftest import FakeTarget, MonitorFactory, RunningMonitor
from tests.receivers import MailBox, Webhook, eventually

pytestmark = pytest.mark.slow


FAILED, SENT = "churnguard_monitor_alerts_failed_total", "churnguard_monitor_alerts_sent_total"


def transient_failures(running: RunningMonitor, channel: str) -> float:
    return metric(running.monitor, FAILED, channel=channel, kind="DOWN", failure="transient")


def metric(monitor: Monitor, name: str, **labels: str) -> float:
    """A sample as Prometheus would scrape it (the registry's public API, not client internals)."""
    return monitor.metrics.registry.get_sample_value(name, labels) or 0.0


def down_and_recovered(mailbox: MailBox, webhook: Webhook) -> tuple[list[str], list[str]]:
    emails = [s for s in mailbox.subjects() if "DOWN" in s or "RECOVERED" in s]
    slacks = [t for t in webhook.texts() if "DOWN" in t or "RECOVERED" in t]
    return emails, slacks


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("503", "HTTP 503: canary failing"),
        ("hang", "no complete answer within 0.5 s: request sent, no response headers yet"),
        ("gone", "connection refused"),
        ("html", "body is not JSON"),
    ],
)
def test_one_down_and_one_recovered_per_channel_per_outage(
    start_monitor: MonitorFactory, target: FakeTarget, mailbox: MailBox, webhook: Webhook, mode: str, reason: str
) -> None:
    running = start_monitor()
    eventually(lambda: running.monitor.states["predictor"].status == "up", 5)
    target.set(mode)
    eventually(lambda: len(mailbox.subjects()) >= 1 and len(webhook.texts()) >= 1, 10)
    time.sleep(2)  # several more failing cycles: still exactly one DOWN
    assert mailbox.subjects() == [f"[churnguard] DOWN predictor: {reason}"]
    assert webhook.texts() == [f"[churnguard] DOWN predictor: {reason}"]
    assert target.url in str(mailbox.messages[0].get_payload())
    assert webhook.posts[0]["blocks"][1]["text"]["text"].startswith(f"Target: predictor ({target.url})")
    target.set("healthy")
    eventually(lambda: len(mailbox.subjects()) == 2 and len(webhook.texts()) == 2, 10)
    time.sleep(1)
    assert mailbox.subjects()[1].startswith("[churnguard] RECOVERED predictor after")
    assert webhook.texts()[1].startswith("[churnguard] RECOVERED predictor after")
    assert len(mailbox.subjects()) == 2 and len(webhook.texts()) == 2


def test_a_single_failed_probe_that_passes_on_reprobe_sends_nothing(
    start_monitor: MonitorFactory, target: FakeTarget, mailbox: MailBox, webhook: Webhook
) -> None:
    running = start_monitor()
    eventually(lambda: running.monitor.states["predictor"].status == "up", 5)
    target.fail_next = 1
    eventually(lambda: target.fail_next == 0, 5)
    time.sleep(2)
    assert metric(running.monitor, "churnguard_monitor_probes_total", target="predictor", result="failure") == 1
    assert mailbox.subjects() == [] and webhook.texts() == []
    assert running.monitor.states["predictor"].status == "up"


def test_smtp_down_does_not_block_slack_and_email_follows_when_it_returns(
    start_monitor: MonitorFactory, target: FakeTarget, mailbox: MailBox, webhook: Webhook
) -> None:
    running = start_monitor()
    eventually(lambda: running.monitor.states["predictor"].status == "up", 5)
    mailbox.stop()
    target.set("503")
    eventually(lambda: len(webhook.texts()) == 1, 10)
    assert mailbox.subjects() == []
    eventually(
        lambda: transient_failures(running, "email") >= 1,
        10,
    )
    mailbox.start()
    eventually(lambda: len(mailbox.subjects()) == 1, 15)
    assert mailbox.subjects()[0].startswith("[churnguard] DOWN predictor")


def test_slack_404_is_not_retried_and_is_counted(
    start_monitor: MonitorFactory, target: FakeTarget, mailbox: MailBox, webhook: Webhook
) -> None:
    webhook.default_status = 404
    running = start_monitor()
    eventually(lambda: running.monitor.states["predictor"].status == "up", 5)
    target.set("503")
    eventually(lambda: len(webhook.posts) == 1 and len(mailbox.subjects()) == 1, 10)
    time.sleep(3)
    assert len(webhook.posts) == 1
    assert metric(running.monitor, FAILED, channel="slack", kind="DOWN", failure="permanent") == 1
    assert running.monitor.outbox.pending("slack") == 0


def test_slack_500_is_retried_until_delivered(
    start_monitor: MonitorFactory, target: FakeTarget, webhook: Webhook
) -> None:
    webhook.statuses = [500, 500]
    running = start_monitor()
    eventually(lambda: running.monitor.states["predictor"].status == "up", 5)
    target.set("503")
    eventually(lambda: metric(running.monitor, SENT, channel="slack", kind="DOWN") == 1, 15)
    assert len(webhook.posts) == 3
    assert metric(running.monitor, FAILED, channel="slack", kind="DOWN", failure="transient") == 2


def test_restart_during_an_outage_sends_no_second_down_and_still_recovers(
    start_monitor: MonitorFactory, target: FakeTarget, mailbox: MailBox, webhook: Webhook
) -> None:
    first = start_monitor()
    eventually(lambda: first.monitor.states["predictor"].status == "up", 5)
    target.set("gone")
    eventually(lambda: len(mailbox.subjects()) == 1 and len(webhook.texts()) == 1, 10)
    first.stop()
    second = start_monitor()
    assert second.monitor.states["predictor"].status == "down"
    time.sleep(2)
    assert len(mailbox.subjects()) == 1 and len(webhook.texts()) == 1
    target.set("healthy")
    eventually(lambda: len(mailbox.subjects()) == 2 and len(webhook.texts()) == 2, 10)
    assert "RECOVERED" in mailbox.subjects()[1]


def test_undelivered_alert_survives_a_restart(
    start_monitor: MonitorFactory, target: FakeTarget, mailbox: MailBox, webhook: Webhook
) -> None:
    mailbox.stop()
    first = start_monitor()
    eventually(lambda: first.monitor.states["predictor"].status == "up", 5)
    target.set("503")
    eventually(lambda: len(webhook.texts()) == 1, 10)
    first.stop()
    assert first.monitor.outbox.pending("email") == 1
    mailbox.start()
    start_monitor()
    eventually(lambda: len(mailbox.subjects()) == 1, 15)
    assert "DOWN" in mailbox.subjects()[0]


def test_reminder_is_sent_while_still_down(
    start_monitor: MonitorFactory, target: FakeTarget, mailbox: MailBox, webhook: Webhook
) -> None:
    running = start_monitor(alert_repeat_minutes=0.03)  # 1.8 s
    eventually(lambda: running.monitor.states["predictor"].status == "up", 5)
    target.set("503")
    eventually(lambda: any("STILL DOWN" in t for t in webhook.texts()), 10)
    eventually(lambda: any("STILL DOWN" in s for s in mailbox.subjects()), 10)  # each channel in its own time
    assert sum(t.startswith("[churnguard] DOWN") for t in webhook.texts()) == 1


def test_health_turns_503_when_the_probe_loop_is_stuck(start_monitor: MonitorFactory) -> None:
    import threading

    release = threading.Event()
    stuck = threading.Event()

    def hanging_probe(*args: object) -> object:
        stuck.set()
        release.wait(30)
        raise RuntimeError("released")

    running = start_monitor(probe_fn=hanging_probe, monitor_timeout_seconds=30)
    assert httpx.get(f"{running.url}/health").status_code == 200
    stuck.wait(5)
    eventually(lambda: httpx.get(f"{running.url}/health").status_code == 503, 5)
    assert httpx.get(f"{running.url}/health").json()["status"] == "stuck"
    running.monitor.stop()
    release.set()


def test_metrics_show_probes_status_and_deliveries(
    start_monitor: MonitorFactory, target: FakeTarget, webhook: Webhook
) -> None:
    running = start_monitor()
    # The state turns up a moment before the probe's gauges are set (same cycle): read them once set.
    eventually(
        lambda: 'churnguard_monitor_probe_success{target="predictor"} 1.0' in httpx.get(f"{running.url}/metrics").text,
        5,
    )
    assert 'churnguard_monitor_target_up{target="predictor"} 1.0' in httpx.get(f"{running.url}/metrics").text
    target.set("503")
    eventually(lambda: len(webhook.texts()) == 1, 10)
    text = httpx.get(f"{running.url}/metrics").text
    assert 'churnguard_monitor_target_up{target="predictor"} 0.0' in text
    assert 'churnguard_monitor_alerts_sent_total{channel="slack",kind="DOWN"} 1.0' in text


def test_both_channels_down_during_an_outage_deliver_once_they_return(
    start_monitor: MonitorFactory, target: FakeTarget, mailbox: MailBox, webhook: Webhook
) -> None:
    running = start_monitor()
    eventually(lambda: running.monitor.states["predictor"].status == "up", 5)
    mailbox.stop()
    webhook.stop()
    target.set("503")
    eventually(
        lambda: transient_failures(running, "email") >= 2 and transient_failures(running, "slack") >= 2,
        15,
    )
    assert running.monitor.outbox.pending("email") == 1 and running.monitor.outbox.pending("slack") == 1
    metrics = httpx.get(f"{running.url}/metrics").text
    assert 'churnguard_monitor_alerts_pending{channel="slack"} 1.0' in metrics
    mailbox.start()
    webhook.start()
    eventually(lambda: len(mailbox.subjects()) == 1 and len(webhook.texts()) == 1, 20)
    assert "DOWN predictor" in mailbox.subjects()[0] and "DOWN predictor" in webhook.texts()[0]


def test_heartbeat_pings_the_dead_man_url_while_watching(start_monitor: MonitorFactory, target: FakeTarget) -> None:
    running = start_monitor(
        monitor_heartbeat_url=target.url.replace("/health/ready", "/heartbeat"), monitor_heartbeat_seconds=0.5
    )
    eventually(lambda: target.hits.count("/heartbeat") >= 3, 10)
    running.stop()
    after_stop = target.hits.count("/heartbeat")
    time.sleep(1.5)
    assert target.hits.count("/heartbeat") == after_stop  # a dead watchdog stops pinging: the dead-man fires


def test_startup_grace_silences_a_target_never_seen_up_then_alerts(
    start_monitor: MonitorFactory, target: FakeTarget, mailbox: MailBox
) -> None:
    target.set("503")
    running = start_monitor(monitor_startup_grace_seconds=2)
    time.sleep(1.5)
    assert mailbox.subjects() == [] and running.monitor.states["predictor"].status == "unknown"
    eventually(lambda: mailbox.subjects() == ["[churnguard] DOWN predictor: HTTP 503: canary failing"], 10)


def test_startup_grace_does_not_hide_an_outage_of_a_target_seen_up(
    start_monitor: MonitorFactory, target: FakeTarget, mailbox: MailBox
) -> None:
    running = start_monitor(monitor_startup_grace_seconds=60)
    eventually(lambda: running.monitor.states["predictor"].status == "up", 5)
    target.set("gone")
    eventually(lambda: mailbox.subjects() == ["[churnguard] DOWN predictor: connection refused"], 10)


def test_an_smtp_server_that_refuses_the_login_is_announced_on_slack_and_shown(
    start_monitor: MonitorFactory, target: FakeTarget, webhook: Webhook
) -> None:
    refusing = MailBox(refuse_logins=True)
    refusing.start()
    try:
        running = start_monitor(
            alert_smtp_port=refusing.port,
            alert_smtp_user="churnguard",
            alert_smtp_password="rotated-yesterday",
            alert_channel_failing_minutes=0.02,  # 1.2 s
        )
        eventually(lambda: running.monitor.states["predictor"].status == "up", 5)
        target.set("503")
        eventually(lambda: any("ALERT CHANNEL email FAILING" in t for t in webhook.texts()), 15)
        [announcement] = [t for t in webhook.texts() if "ALERT CHANNEL email FAILING" in t]
        assert "SMTP refused" in announcement and "535" in announcement
        assert sum(t.startswith("[churnguard] DOWN predictor") for t in webhook.texts()) == 1  # the outage still told
        email = httpx.get(f"{running.url}/status").json()["channels"]["email"]
        assert email["up"] is False and email["announced"] is True and "535" in email["last_error"]
        assert metric(running.monitor, "churnguard_monitor_channel_up", channel="email") == 0
        assert metric(running.monitor, "churnguard_monitor_channel_up", channel="slack") == 1
        assert refusing.messages == []
    finally:
        refusing.stop()
