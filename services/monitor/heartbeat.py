"""The outside dead-man's switch: ping MONITOR_HEARTBEAT_URL while the watchdog runs."""

from __future__ import annotations

import logging
import time

import httpx

log = logging.getLogger(__name__)


class Heartbeat:
    """Pings at most every `period` seconds; a failed ping is logged (the outside service will alert)."""

    def __init__(self, url: str | None, period: float, timeout: float) -> None:
        self.url, self.period, self.timeout = url, period, timeout
        self._last = 0.0

    def maybe_ping(self, client: httpx.Client) -> None:
        if self.url is None or time.monotonic() - self._last < self.period:
            return
        self._last = time.monotonic()
        try:
            client.get(self.url, timeout=self.timeout).raise_for_status()
        except httpx.HTTPError as error:
            log.error("heartbeat ping failed", extra={"error": str(error)})
