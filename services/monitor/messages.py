"""Alert texts: one subject line a person can act on, and the details that answer 'since when'."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.monitor.push import is_push_check
from services.monitor.state import Alert

WHAT_TO_DO_SERVICE = "What to do: check the service's /health/ready and its log; the monitor will announce recovery."
WHAT_TO_DO_JOB = (
    "What to do: this is a scheduled job. Read its last run's log (`docker-compose logs weekly-list`, or "
    "`kubectl logs` of the CronJob's last pod), check that its schedule still runs it, and run it once by hand "
    "(`churnguard weekly-list-job --once`); its next good ping announces recovery."
)


def subject(alert: Alert) -> str:
    if alert.kind == "CHANNEL_FAILING":
        return f"[churnguard] ALERT CHANNEL {alert.target} FAILING for {_duration(alert.downtime)}: {alert.reason}"
    if alert.kind == "CHANNEL_RECOVERED":
        return f"[churnguard] ALERT CHANNEL {alert.target} delivers again after {_duration(alert.downtime)}"
    if alert.kind == "TEST":
        return f"[churnguard] TEST from the watchdog: {alert.reason}"
    if alert.kind == "RECOVERED":
        return f"[churnguard] RECOVERED {alert.target} after {_duration(alert.downtime)}"
    if alert.kind == "DEGRADED":
        return f"[churnguard] DEGRADED {alert.target}: {alert.reason}"
    if alert.kind == "CLEARED":
        return f"[churnguard] CLEARED {alert.target}: no longer degraded after {_duration(alert.downtime)}"
    if alert.kind == "MAINTENANCE_ENDED":
        return f"[churnguard] MAINTENANCE ENDED {alert.target}: {alert.reason}"
    prefix = "DOWN" if alert.kind == "DOWN" else "STILL DOWN"
    return f"[churnguard] {prefix} {alert.target}: {alert.reason}"


def details(alert: Alert) -> list[str]:
    if alert.kind in ("CHANNEL_FAILING", "CHANNEL_RECOVERED"):
        return [
            f"Channel: {alert.target}",
            f"Failing since: {_time(alert.down_since)}",
            f"Last error: {alert.reason}",
            f"What to do: fix the {alert.target} settings (ALERT_SMTP_* or ALERT_SLACK_WEBHOOK_URL), restart the "
            "watchdog, and prove it with `churnguard monitor test-alert`. Until then alerts reach you only here.",
        ]
    if alert.kind == "TEST":
        return [
            f"Sent at: {_time(alert.at)} by `churnguard monitor test-alert`.",
            "Nothing is wrong: this proves the channel reaches you. No action needed.",
        ]
    lines = [f"Target: {alert.target} ({alert.url})"]
    if alert.kind == "DEGRADED":
        return [
            *lines,
            f"Degraded since: {_time(alert.at)}",
            f"Failures: {alert.reason}",
            f"Last success: {_time(alert.last_success)}",
            "What to do: the target answers, but not reliably (one replica of several failing, overload, a flaky "
            "dependency). Check its log and metrics; the monitor will say when it clears.",
        ]
    if alert.kind == "CLEARED":
        return [
            *lines,
            f"Cleared at: {_time(alert.at)}",
            f"Degraded since: {_time(alert.down_since)}",
            f"Now: {alert.reason}",
        ]
    if alert.kind == "MAINTENANCE_ENDED":
        state = [f"Down since: {_time(alert.down_since)}"] if alert.down_since else []
        return [
            *lines,
            f"Maintenance ended at: {_time(alert.at)}",
            f"State now: {alert.reason}",
            *state,
            "Alerts about this target are on again from now.",
        ]
    if alert.kind == "RECOVERED":
        lines += [
            f"Recovered at: {_time(alert.at)}",
            f"Down since: {_time(alert.down_since)} (downtime {_duration(alert.downtime)})",
            f"Last failure: {alert.reason}",
        ]
    else:
        lines += [
            f"Reason: {alert.reason}",
            f"Down since: {_time(alert.down_since)} ({_duration(alert.downtime)} ago)",
            f"Last success: {_time(alert.last_success)}",
            WHAT_TO_DO_JOB if is_push_check(alert) else WHAT_TO_DO_SERVICE,
        ]
    return lines


def _time(value: datetime | None) -> str:
    return "never seen" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(value: timedelta | None) -> str:
    if value is None:
        return "unknown"
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {seconds:02d}s" if hours else f"{minutes}m {seconds:02d}s"
