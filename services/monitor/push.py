"""Push checks (a dead-man's switch for scheduled jobs), pure like state.py: a job pings
`/ping/{name}` (or `/ping/{name}/fail`); no ping within period + grace is DOWN, the next good ping RECOVERED.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.monitor.state import Alert, AlertKind, TargetState, Thresholds

PUSH_URL_PREFIX = "push check:"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `6h`, `7d`."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration: a number with s, m, h or d (e.g. 7d)")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


@dataclass(frozen=True)
class PushCheck:
    name: str
    period: timedelta
    grace: timedelta
    spec: str  # as configured, for messages: "7d+6h"

    @classmethod
    def parse(cls, spec: str) -> PushCheck:
        """`name=PERIOD+GRACE`, e.g. `weekly-list=7d+6h`."""
        name, sep, timing = spec.partition("=")
        period, plus, grace = timing.partition("+")
        if not sep or not plus or not name.strip():
            raise ValueError(f"push check {spec!r} is not name=PERIOD+GRACE (e.g. weekly-list=7d+6h)")
        return cls(name.strip(), parse_duration(period), parse_duration(grace), timing.strip())

    @property
    def url(self) -> str:
        """Push checks have no URL; alerts show how they are fed instead."""
        return f"{PUSH_URL_PREFIX} POST /ping/{self.name} every {self.spec}"

    def deadline(self, state: TargetState) -> datetime | None:
        """The last good ping (or when watching began) plus period and grace."""
        start = state.last_success or state.watched_since
        return None if start is None else start + self.period + self.grace


def watch(check: PushCheck, state: TargetState, now: datetime) -> TargetState:
    """Start the clock for a check never seen before (its first deadline counts from now)."""
    return state if state.watched_since is not None else replace(state, watched_since=now)


def on_ping(
    check: PushCheck, state: TargetState, ok: bool, note: str, now: datetime
) -> tuple[TargetState, list[Alert]]:
    """A good ping recovers at once (one is proof the job ran); a fail ping is DOWN at once."""
    if ok:
        after = replace(
            state, last_success=now, failures=0, successes=state.successes + 1, watched_since=state.watched_since or now
        )
        if state.status == "down":
            alert = Alert("RECOVERED", check.name, check.url, state.last_reason, now, state.down_since, now)
            return replace(after, status="up", since=now, down_since=None, last_alert_at=None), [alert]
        return replace(after, status="up", since=state.since if state.status == "up" else now), []
    reason = f"the job reported a failure: {note}" if note else "the job reported a failure"
    return _down(check, replace(state, failures=state.failures + 1, successes=0), reason, now)


def on_tick(check: PushCheck, state: TargetState, now: datetime, limits: Thresholds) -> tuple[TargetState, list[Alert]]:
    """DOWN once the deadline passes without a ping; reminders on the repeat interval while it stays down."""
    if state.status == "down":
        if state.last_alert_at is not None and now - state.last_alert_at >= limits.repeat:
            state = replace(state, last_alert_at=now)
            return state, [_alert("REMINDER", check, state, now)]
        return state, []
    deadline = check.deadline(state)
    if deadline is None or now <= deadline:
        return state, []
    last = "never" if state.last_success is None else state.last_success.strftime("%Y-%m-%d %H:%M:%S UTC")
    return _down(check, state, f"no ping within {check.spec} (last ping: {last})", now, since=deadline)


def refused(
    check: PushCheck, state: TargetState, reason: str, now: datetime, limits: Thresholds
) -> tuple[TargetState, list[Alert]]:
    """A check whose pings cannot be accepted (no MONITOR_PUSH_TOKEN): DOWN at once, reminded like any DOWN."""
    if state.status == "down" and state.last_reason == reason:
        return on_tick(check, state, now, limits)
    return _down(check, replace(state, status="unknown") if state.status == "down" else state, reason, now)


def _down(
    check: PushCheck, state: TargetState, reason: str, now: datetime, since: datetime | None = None
) -> tuple[TargetState, list[Alert]]:
    if state.status == "down":
        return replace(state, last_reason=reason), []
    since = since or now
    state = replace(state, status="down", since=since, down_since=since, last_reason=reason, last_alert_at=now)
    return state, [_alert("DOWN", check, state, now)]


def _alert(kind: AlertKind, check: PushCheck, state: TargetState, now: datetime) -> Alert:
    return Alert(kind, check.name, check.url, state.last_reason, now, state.down_since, state.last_success)


def is_push_check(alert: Alert) -> bool:
    """An alert about a scheduled job (what to do differs: its logs and schedule, not a health endpoint)."""
    return alert.url.startswith(PUSH_URL_PREFIX)
