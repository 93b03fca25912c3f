"""The watchdog's pure state machine: probe results in, alerts out only when a target's status flips.

No I/O here (healthchecks' sendalerts.py idea): the loop probes, persists and delivers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

Status = Literal["unknown", "up", "down"]
AlertKind = Literal["DOWN", "REMINDER", "RECOVERED", "TEST", "CHANNEL_FAILING", "CHANNEL_RECOVERED"]


@dataclass(frozen=True)
class Target:
    name: str
    url: str

    @classmethod
    def parse(cls, spec: str) -> Target:
        """`name=url` or a bare URL (named after its host and path)."""
        name, sep, url = spec.partition("=")
        if not sep:
            url = spec
            name = spec.split("://", 1)[1]
        return cls(name.strip(), url.strip())


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    reason: str  # "ok" or the failure in words: "connection refused", "HTTP 503: canary failing"
    seconds: float
    at: datetime


@dataclass(frozen=True)
class TargetState:
    status: Status = "unknown"
    failures: int = 0  # consecutive
    successes: int = 0  # consecutive
    down_since: datetime | None = None
    last_success: datetime | None = None
    last_reason: str = ""
    last_alert_at: datetime | None = None

    @property
    def suspect(self) -> bool:
        """Confirming a flip: re-probe soon instead of waiting a full interval."""
        return (self.status != "down" and self.failures > 0) or (self.status == "down" and self.successes > 0)


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    target: str
    url: str
    reason: str
    at: datetime
    down_since: datetime | None
    last_success: datetime | None

    @property
    def downtime(self) -> timedelta | None:
        return None if self.down_since is None else self.at - self.down_since


@dataclass(frozen=True)
class Thresholds:
    failures_to_down: int
    successes_to_recover: int
    repeat: timedelta


def observe(
    target: Target, state: TargetState, result: ProbeResult, limits: Thresholds
) -> tuple[TargetState, list[Alert]]:
    """Fold one probe result into the state; return the alerts that flip (or the reminder) calls for."""
    if result.ok:
        state = replace(state, successes=state.successes + 1, failures=0, last_success=result.at)
        if state.status == "down" and state.successes >= limits.successes_to_recover:
            alert = Alert(
                "RECOVERED", target.name, target.url, state.last_reason, result.at, state.down_since, result.at
            )
            return TargetState(status="up", successes=state.successes, last_success=result.at), [alert]
        if state.status == "unknown":
            state = replace(state, status="up")
        return state, []

    state = replace(state, failures=state.failures + 1, successes=0, last_reason=result.reason)
    if state.status != "down":
        if state.failures == 1:
            state = replace(state, down_since=result.at)
        if state.failures >= limits.failures_to_down:
            state = replace(state, status="down", last_alert_at=result.at)
            return state, [_alert("DOWN", target, state, result.at)]
        return state, []
    if state.last_alert_at is not None and result.at - state.last_alert_at >= limits.repeat:
        state = replace(state, last_alert_at=result.at)
        return state, [_alert("REMINDER", target, state, result.at)]
    return state, []


def _alert(kind: AlertKind, target: Target, state: TargetState, at: datetime) -> Alert:
    return Alert(kind, target.name, target.url, state.last_reason, at, state.down_since, state.last_success)
