"""`churnguard monitor test-alert`: one test message through each configured channel, each one reported."""

from __future__ import annotations

from datetime import UTC, datetime

from services.monitor.notifiers import DeliveryError, Notifier
from services.monitor.state import Alert


def send_test_alerts(notifiers: list[Notifier], reason: str = "does this channel reach you?") -> list[str]:
    """One line per channel, `<channel>: delivered` or `<channel>: failed: <reason>`."""
    now = datetime.now(UTC)
    alert = Alert("TEST", "watchdog", "", reason, now, None, None)
    lines = []
    for notifier in notifiers:
        try:
            notifier.send(alert)
        except DeliveryError as error:
            lines.append(f"{notifier.name}: failed: {error}")
        else:
            lines.append(f"{notifier.name}: delivered")
    return lines
