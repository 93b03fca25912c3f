"""Pure: is an alert channel working, and when must its failure be announced through the others?

A channel that keeps failing for ALERT_CHANNEL_FAILING_MINUTES (a refused login or recipient, a 4xx
webhook, an unreachable server) is announced once through the other channels, and once more when it
delivers again. Permanent refusals count like any failure: reported, never dropped in silence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal


@dataclass(frozen=True)
class ChannelHealth:
    failing_since: datetime | None = None  # first failure since the last delivery
    last_error: str = ""
    announced: bool = False  # its failure has been sent through the other channels
    refused: tuple[str, ...] = ()  # recipients refused while the others were reached: degraded, not dead

    @property
    def up(self) -> bool:
        return self.failing_since is None

    @property
    def state(self) -> Literal["up", "degraded", "failing"]:
        """`up`, `degraded` (some recipients refused) or `failing`."""
        return "up" if self.up else "degraded" if self.refused else "failing"


def after_failure(health: ChannelHealth, error: str, at: datetime, refused: tuple[str, ...] = ()) -> ChannelHealth:
    return replace(health, failing_since=health.failing_since or at, last_error=error, refused=refused)


def after_delivery(health: ChannelHealth) -> tuple[ChannelHealth, bool]:
    """A working channel again; True when its failure had been announced (so announce the recovery)."""
    return ChannelHealth(), health.announced


def due_announcement(health: ChannelHealth, now: datetime, window: timedelta) -> bool:
    """Failing for the whole window and not yet announced."""
    return health.failing_since is not None and not health.announced and now - health.failing_since >= window
