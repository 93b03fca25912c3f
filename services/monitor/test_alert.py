"""`churnguard monitor test-alert`: one test message through each configured channel, each one reported."""

from __future__ import annotations

from datetime import UTC, datetime

from services.monitor.notifiers import Notifier, describe
from services.monitor.state import Alert


def send_test_alerts(notifiers: list[Notifier], reason: str = "does this channel reach you?") -> list[str]:
    """One line per channel, `<channel>: delivered` or `<channel>: failed: <reason>`."""
    now = datetime.now(UTC)
    alert = Alert("TEST", "watchdog", "", reason, now, None, None)
    lines = []
    for notifier in notifiers:
        try:
            refused = notifier.send(alert)
        except Exception as error:  # noqa: BLE001 - every failure of a channel is reported, whatever its type
            lines.append(f"{notifier.name}: failed: {describe(error)}")
        else:
            lines.append(
                f"{notifier.name}: failed: refused {', '.join(refused)}" if refused else f"{notifier.name}: delivered"
            )
    return lines
