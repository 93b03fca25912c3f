"""Undelivered alerts per channel, retried with backoff until delivered, refused for good, or superseded."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

from services.common.ids import new_id
from services.monitor.state import Alert
from services.monitor.store import alert_from_json, alert_to_json


@dataclass(frozen=True)
class Delivery:
    id: str
    channel: str
    alert: Alert
    attempts: int = 0
    next_attempt_at: float = 0.0  # epoch seconds: survives restarts
    last_error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "alert": alert_to_json(self.alert)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Delivery:
        return cls(**{**raw, "alert": alert_from_json(raw["alert"])})


class Outbox:
    """Thread-safe: the probe loop adds, one worker per channel takes and reports back."""

    def __init__(self, entries: list[Delivery], quick_attempts: int, slow_retry_seconds: float) -> None:
        self._entries = {entry.id: entry for entry in entries}
        self._lock = threading.Lock()
        self.quick_attempts = quick_attempts
        self.slow_retry_seconds = slow_retry_seconds

    def enqueue(self, alert: Alert, channels: list[str]) -> list[Delivery]:
        """Add one delivery per channel; a pending REMINDER of the same target is superseded."""
        superseded: list[Delivery] = []
        with self._lock:
            for entry in list(self._entries.values()):
                if entry.alert.target == alert.target and entry.alert.kind == "REMINDER" and entry.channel in channels:
                    superseded.append(self._entries.pop(entry.id))
            for channel in channels:
                delivery = Delivery(new_id(), channel, alert)
                self._entries[delivery.id] = delivery
        return superseded

    def due(self, channel: str, now: float) -> list[Delivery]:
        with self._lock:
            ready = [e for e in self._entries.values() if e.channel == channel and e.next_attempt_at <= now]
        return sorted(ready, key=lambda e: e.alert.at)

    def delivered(self, delivery: Delivery) -> None:
        with self._lock:
            self._entries.pop(delivery.id, None)

    def failed(self, delivery: Delivery, error: str, permanent: bool, now: float) -> None:
        """Permanent: dropped (an operator must fix the channel). Else: quick backoff, then once per interval."""
        with self._lock:
            if delivery.id not in self._entries:
                return
            if permanent:
                del self._entries[delivery.id]
                return
            attempts = delivery.attempts + 1
            delay = 0.5 * 2 ** (attempts - 1) if attempts < self.quick_attempts else self.slow_retry_seconds
            self._entries[delivery.id] = replace(
                delivery, attempts=attempts, next_attempt_at=now + delay, last_error=error
            )

    def pending(self, channel: str) -> int:
        with self._lock:
            return sum(1 for e in self._entries.values() if e.channel == channel)

    def to_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [entry.to_json() for entry in self._entries.values()]
