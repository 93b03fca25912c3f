"""What GET /status answers and the status page shows, as one typed view of a `Watch`.

Its JSON keeps the shape other tools read (`targets` keyed by name with `state` and `url`, `push_checks`,
`incidents`, `channels`); fields are only ever added.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, PlainSerializer

from services.common.weekly_list_facts import WeeklyListFacts
from services.monitor.history import uptime
from services.monitor.maintenance import Maintenance
from services.monitor.state import failure_ratio
from services.monitor.watch import Watch

Time = Annotated[datetime, PlainSerializer(lambda value: value.isoformat(), return_type=str)]
State = Literal["UP", "DOWN", "DEGRADED", "PAUSED", "UNKNOWN"]
DAY, WEEK = timedelta(days=1), timedelta(days=7)


class WindowView(BaseModel):
    target: str
    reason: str
    started: Time
    until: Time


class TargetView(BaseModel):
    url: str
    status: Literal["unknown", "up", "down"]
    state: State
    since: Time | None
    down_since: Time | None
    degraded_since: Time | None
    last_success: Time | None
    last_reason: str
    failure_ratio: float
    uptime_24h: float | None
    uptime_7d: float | None
    maintenance: WindowView | None


class PushCheckView(TargetView):
    period: str
    last_ping: Time | None
    deadline: Time | None


class IncidentView(BaseModel):
    target: str
    kind: str
    started: Time
    ended: Time | None
    reason: str
    duration_seconds: float


class ChannelView(BaseModel):
    up: bool
    state: Literal["up", "degraded", "failing"]
    failing_since: Time | None
    last_error: str
    announced: bool
    refused_recipients: list[str]


class StatusView(BaseModel):
    generated_at: Time
    notice: str | None = None  # MONITOR_NOTICE: what this deployment does not watch, said first
    weekly_list: WeeklyListFacts | None = None  # present in JSON only while MONITOR_LISTS_DIR is set
    lists_configured: bool = False
    targets: dict[str, TargetView]
    push_checks: dict[str, PushCheckView]
    incidents: list[IncidentView]
    channels: dict[str, ChannelView]

    def to_json(self) -> dict[str, Any]:
        exclude = {"lists_configured"} | (set() if self.lists_configured else {"weekly_list"})
        return self.model_dump(mode="json", exclude=exclude)


def status_view(
    watch: Watch,
    now: datetime,
    weekly_list: WeeklyListFacts | None,
    lists_configured: bool,
    notice: str | None = None,
) -> StatusView:
    targets = {t.name: TargetView(**_entry(watch, t.name, t.url, now)) for t in watch.config.targets}
    checks = {
        c.name: PushCheckView(
            **_entry(watch, c.name, c.url, now),
            period=c.spec,
            last_ping=watch.states[c.name].last_success,
            deadline=c.deadline(watch.states[c.name]),
        )
        for c in watch.config.checks
    }
    incidents = sorted(watch.incidents, key=lambda i: i.started, reverse=True)[:50]
    return StatusView(
        generated_at=now,
        notice=notice,
        weekly_list=weekly_list,
        lists_configured=lists_configured,
        targets=targets,
        push_checks=checks,
        incidents=[IncidentView(**{**i.__dict__, "duration_seconds": round(i.seconds(now), 1)}) for i in incidents],
        channels={
            name: ChannelView(
                up=health.up,
                state=health.state,
                failing_since=health.failing_since,
                last_error=health.last_error,
                announced=health.announced,
                refused_recipients=list(health.refused),
            )
            for name, health in watch.channels.items()
        },
    )


def _entry(watch: Watch, name: str, url: str, now: datetime) -> dict[str, Any]:
    state = watch.states[name]
    window: Maintenance | None = watch.maintenance.get(name)
    degraded = state.status == "up" and state.degraded_since is not None
    return {
        "url": url,
        "status": state.status,
        "state": "PAUSED" if window else "DEGRADED" if degraded else state.status.upper(),
        "since": state.since,
        "down_since": state.down_since if state.status == "down" else None,
        "degraded_since": state.degraded_since,
        "last_success": state.last_success,
        "last_reason": state.last_reason,
        "failure_ratio": round(failure_ratio(state), 3),
        "uptime_24h": uptime(list(watch.incidents), name, state.watched_since, now, DAY),
        "uptime_7d": uptime(list(watch.incidents), name, state.watched_since, now, WEEK),
        "maintenance": None if window is None else WindowView(**window.__dict__),
    }
