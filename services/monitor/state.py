"""The watchdog's pure state machine: probe results in, alerts out only when a target's status flips.

No I/O here (healthchecks' sendalerts.py idea): the loop probes, persists and delivers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from services.monitor.conditions import Condition

Status = Literal["unknown", "up", "down"]
AlertKind = Literal[
    "DOWN",
    "REMINDER",
    "RECOVERED",
    "DEGRADED",
    "CLEARED",
    "MAINTENANCE_ENDED",
    "TEST",
    "CHANNEL_FAILING",
    "CHANNEL_RECOVERED",
]


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    conditions: tuple[Condition, ...] = ()  # none: the default judgement of a health endpoint (probe.judge)
    bearer_key: str | None = field(default=None, repr=False)
    meaning: str = ""  # what a failed [BODY] condition means, in the alert: "the served model differs from ..."
    depends_on: str | None = None  # judged only while this target's last probe passed: one page per outage

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
    recent: tuple[bool, ...] = ()  # the last MONITOR_DEGRADED_WINDOW results, True = passed
    degraded_since: datetime | None = None
    since: datetime | None = None  # when `status` last changed
    watched_since: datetime | None = None  # the first probe (uptime counts from here)

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
    degraded_ratio: float = 0.3  # this share of the window failing, without a DOWN, is DEGRADED
    degraded_window: int = 10  # probes; DEGRADED is judged only on a full window

    @property
    def clear_ratio(self) -> float:
        """Hysteresis: DEGRADED clears only well below the ratio that raised it, so it cannot flap."""
        return self.degraded_ratio / 2


def observe(
    target: Target, state: TargetState, result: ProbeResult, limits: Thresholds
) -> tuple[TargetState, list[Alert]]:
    """Fold one probe result into the state; return the alerts that flip, remind, degrade or clear."""
    state = replace(
        state,
        recent=(*state.recent, result.ok)[-limits.degraded_window :],
        watched_since=state.watched_since or result.at,
    )
    state, alerts = _up_or_down(target, state, result, limits)
    if state.status == "down":
        # A DOWN says more than DEGRADED and its RECOVERED closes both: no separate clear.
        return replace(state, degraded_since=None), alerts
    return _degraded(target, state, result.at, limits, alerts)


def _up_or_down(
    target: Target, state: TargetState, result: ProbeResult, limits: Thresholds
) -> tuple[TargetState, list[Alert]]:
    if result.ok:
        state = replace(state, successes=state.successes + 1, failures=0, last_success=result.at)
        if state.status == "down" and state.successes >= limits.successes_to_recover:
            alert = Alert(
                "RECOVERED", target.name, target.url, state.last_reason, result.at, state.down_since, result.at
            )
            # The outage's failures must not count towards DEGRADED afterwards.
            recovered = TargetState(
                status="up",
                successes=state.successes,
                last_success=result.at,
                since=result.at,
                watched_since=state.watched_since,
            )
            return recovered, [alert]
        if state.status == "unknown":
            state = replace(state, status="up", since=result.at)
        return state, []

    state = replace(state, failures=state.failures + 1, successes=0, last_reason=result.reason)
    if state.status != "down":
        if state.failures == 1:
            state = replace(state, down_since=result.at)
        if state.failures >= limits.failures_to_down:
            state = replace(state, status="down", last_alert_at=result.at, since=state.down_since)
            return state, [_alert("DOWN", target, state, result.at)]
        return state, []
    if state.last_alert_at is not None and result.at - state.last_alert_at >= limits.repeat:
        state = replace(state, last_alert_at=result.at)
        return state, [_alert("REMINDER", target, state, result.at)]
    return state, []


def failure_ratio(state: TargetState) -> float:
    return 0.0 if not state.recent else state.recent.count(False) / len(state.recent)


def _degraded(
    target: Target, state: TargetState, at: datetime, limits: Thresholds, alerts: list[Alert]
) -> tuple[TargetState, list[Alert]]:
    ratio = failure_ratio(state)
    window = f"{state.recent.count(False)} of the last {len(state.recent)} probes failed ({ratio:.0%})"
    if state.degraded_since is None:
        if len(state.recent) == limits.degraded_window and ratio >= limits.degraded_ratio:
            state = replace(state, degraded_since=at)
            reason = f"{window}; last failure: {state.last_reason}"
            return state, [*alerts, Alert("DEGRADED", target.name, target.url, reason, at, at, state.last_success)]
    elif ratio < limits.clear_ratio:
        cleared = Alert("CLEARED", target.name, target.url, window, at, state.degraded_since, state.last_success)
        return replace(state, degraded_since=None), [*alerts, cleared]
    return state, alerts


def _alert(kind: AlertKind, target: Target, state: TargetState, at: datetime) -> Alert:
    return Alert(kind, target.name, target.url, state.last_reason, at, state.down_since, state.last_success)
