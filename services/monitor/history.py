"""Incidents and uptime for the status page, pure: incidents follow the alerts (a DOWN opens one, its
RECOVERED closes it), so the page and the pager tell the same story.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from services.monitor.state import Alert

IncidentKind = Literal["DOWN", "DEGRADED", "MAINTENANCE"]
KEEP = 500  # closed incidents beyond this are forgotten, oldest first


@dataclass(frozen=True)
class Incident:
    target: str
    kind: IncidentKind
    started: datetime
    ended: datetime | None
    reason: str

    def seconds(self, now: datetime) -> float:
        return ((self.ended or now) - self.started).total_seconds()

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "kind": self.kind,
            "started": self.started.isoformat(),
            "ended": None if self.ended is None else self.ended.isoformat(),
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Incident:
        ended = raw.get("ended")
        return cls(
            raw["target"],
            raw["kind"],
            datetime.fromisoformat(raw["started"]),
            None if ended is None else datetime.fromisoformat(ended),
            raw.get("reason", ""),
        )


def opened(incidents: list[Incident], incident: Incident) -> list[Incident]:
    kept = [*incidents, incident]
    closed = [i for i in kept if i.ended is not None]
    excess = len(kept) - KEEP
    if excess > 0:
        drop = {id(i) for i in sorted(closed, key=lambda i: i.started)[:excess]}
        kept = [i for i in kept if id(i) not in drop]
    return kept


def closed(incidents: list[Incident], target: str, kind: IncidentKind, at: datetime) -> list[Incident]:
    return [replace(i, ended=at) if i.target == target and i.kind == kind and i.ended is None else i for i in incidents]


def after_alert(incidents: list[Incident], alert: Alert) -> list[Incident]:
    """The incident log after an alert about a target (channel alerts are not incidents)."""
    if alert.kind == "DOWN":
        incidents = closed(incidents, alert.target, "DEGRADED", alert.at)
        return opened(incidents, Incident(alert.target, "DOWN", alert.down_since or alert.at, None, alert.reason))
    if alert.kind == "RECOVERED":
        return closed(incidents, alert.target, "DOWN", alert.at)
    if alert.kind == "DEGRADED":
        return opened(incidents, Incident(alert.target, "DEGRADED", alert.at, None, alert.reason))
    if alert.kind == "CLEARED":
        return closed(incidents, alert.target, "DEGRADED", alert.at)
    return incidents


def uptime(
    incidents: list[Incident], target: str, watched_since: datetime | None, now: datetime, window: timedelta
) -> float | None:
    """Share of the window (or of the time watched, if shorter) the target was not DOWN; None if never watched."""
    if watched_since is None:
        return None
    start = max(now - window, watched_since)
    span = (now - start).total_seconds()
    if span <= 0:
        return None
    down = sum(
        max(0.0, (min(i.ended or now, now) - max(i.started, start)).total_seconds())
        for i in incidents
        if i.target == target and i.kind == "DOWN"
    )
    return max(0.0, 1 - down / span)
