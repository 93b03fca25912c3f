"""The outside dead-man's switch: MONITOR_HEARTBEAT_URL while all is well, `<url>/fail` while an alert channel
has been failing for ALERT_CHANNEL_FAILING_MINUTES (healthchecks.io's and Uptime Kuma's convention), so the
watchdog's own trouble reaches a person even when it has one channel only."""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit, urlunsplit

import httpx

log = logging.getLogger(__name__)


def fail_url(url: str) -> str:
    """`<url>/fail`, keeping a query string where it was."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/fail"))


class Heartbeat:
    """Pings at most every `period` seconds, and at once when the verdict changes (well <-> failing).
    A failed ping is logged: the outside service alerts when pings stop."""

    def __init__(self, url: str | None, period: float, timeout: float) -> None:
        self.url, self.period, self.timeout = url, period, timeout
        self._last = -float("inf")
        self._last_failing: bool | None = None

    def maybe_ping(self, client: httpx.Client, trouble: list[str]) -> None:
        """`trouble`: what is wrong with the watchdog itself (empty: all is well)."""
        failing = bool(trouble)
        if self.url is None:
            return
        if failing == self._last_failing and time.monotonic() - self._last < self.period:
            return
        self._last, self._last_failing = time.monotonic(), failing
        try:
            if failing:
                body = "\n".join(trouble).encode()
                client.post(fail_url(self.url), content=body, timeout=self.timeout).raise_for_status()
                log.error("heartbeat reports trouble", extra={"trouble": trouble})
            else:
                client.get(self.url, timeout=self.timeout).raise_for_status()
        except httpx.HTTPError as error:
            log.error("heartbeat ping failed", extra={"error": str(error)})
