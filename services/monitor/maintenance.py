"""Maintenance windows, pure: while a target is paused nothing about it alerts; when the window ends, one
message states the target's state at that moment (it may have changed silently meanwhile).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.monitor.state import Alert, TargetState


@dataclass(frozen=True)
class Maintenance:
    target: str
    reason: str
    started: datetime
    until: datetime

    def active(self, now: datetime) -> bool:
        return now < self.until

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "reason": self.reason,
            "started": self.started.isoformat(),
            "until": self.until.isoformat(),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Maintenance:
        return cls(
            raw["target"], raw["reason"], datetime.fromisoformat(raw["started"]), datetime.fromisoformat(raw["until"])
        )


def state_in_words(state: TargetState) -> str:
    if state.status == "down":
        return f"DOWN: {state.last_reason}"
    if state.status == "up" and state.degraded_since is not None:
        return f"DEGRADED: {state.last_reason}"
    return "UP" if state.status == "up" else "not yet known (no probe result)"


def end_message(window: Maintenance, url: str, state: TargetState, now: datetime) -> Alert:
    """The one message after a window: what the target is now, and what the window was for."""
    reason = f"{state_in_words(state)} (after maintenance: {window.reason})"
    down_since = state.down_since if state.status == "down" else None
    return Alert("MAINTENANCE_ENDED", window.target, url, reason, now, down_since, state.last_success)
