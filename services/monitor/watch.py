"""The watchdog's whole state and every decision it makes, pure: no thread, socket, clock or file.

A `Watch` holds the targets' and push checks' states, maintenance windows, incidents and the alert channels'
health. Each transition (a probe result, a ping, a tick of the clock, pause and resume, a delivery outcome)
returns a `Step`: the new Watch, the alerts to send (with the channels that must carry each) and what to log.
The loop (watchdog.py) only does I/O around it: probing, saving, delivering, HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from services.monitor.channel_health import ChannelHealth, after_delivery, after_failure, due_announcement
from services.monitor.history import Incident, after_alert, closed, opened
from services.monitor.maintenance import Maintenance, end_message, state_in_words
from services.monitor.push import PushCheck, on_ping, on_tick, refused, watch
from services.monitor.state import Alert, AlertKind, ProbeResult, Target, TargetState, Thresholds, observe
from services.monitor.store import state_from_json, state_to_json

NO_PUSH_TOKEN = (
    "MONITOR_PUSH_TOKEN is not set, so every ping of this job is refused: set it on the watchdog and give the same "
    "token to the job (bearer or ?token=)"
)


@dataclass(frozen=True)
class WatchConfig:
    """What the settings fix for the watchdog's lifetime."""

    targets: tuple[Target, ...]
    checks: tuple[PushCheck, ...]
    channels: tuple[str, ...]
    limits: Thresholds
    startup_grace: timedelta = timedelta(0)  # after start, failures of a target never seen up are not judged
    channel_failing: timedelta = timedelta(minutes=5)  # a channel failing this long is announced
    push_token_set: bool = True

    def url(self, name: str) -> str:
        check = next((c for c in self.checks if c.name == name), None)
        return check.url if check else next(t.url for t in self.targets if t.name == name)


@dataclass(frozen=True)
class Send:
    """One alert and the channels that must carry it."""

    alert: Alert
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Note:
    """A line for the log: level, message and its fields."""

    level: str
    message: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    watch: Watch
    sends: tuple[Send, ...] = ()
    notes: tuple[Note, ...] = ()
    changed: bool = True  # anything worth persisting

    def then(self, other: Step) -> Step:
        return Step(other.watch, self.sends + other.sends, self.notes + other.notes, self.changed or other.changed)


@dataclass(frozen=True)
class Watch:
    config: WatchConfig
    started: datetime
    states: Mapping[str, TargetState]
    maintenance: Mapping[str, Maintenance] = field(default_factory=dict)
    incidents: tuple[Incident, ...] = ()
    channels: Mapping[str, ChannelHealth] = field(default_factory=dict)

    @classmethod
    def restore(cls, config: WatchConfig, saved: Mapping[str, Any], now: datetime) -> Watch:
        """From state.json as every earlier version wrote it (missing keys and unknown names are fine)."""
        names = [t.name for t in config.targets] + [c.name for c in config.checks]
        raw = saved.get("targets", {})
        states = {n: state_from_json(raw[n]) if n in raw else TargetState() for n in names}
        for check in config.checks:
            states[check.name] = watch(check, states[check.name], now)
        windows = (Maintenance.from_json(w) for w in saved.get("maintenance", []))
        return cls(
            config=config,
            started=now,
            states=states,
            maintenance={w.target: w for w in windows if w.target in states},
            incidents=tuple(Incident.from_json(i) for i in saved.get("incidents", [])),
            channels={name: ChannelHealth() for name in config.channels},
        )

    def to_json(self) -> dict[str, Any]:
        """The watch's part of state.json (the outbox is saved beside it)."""
        return {
            "targets": {name: state_to_json(state) for name, state in self.states.items()},
            "maintenance": [window.to_json() for window in self.maintenance.values()],
            "incidents": [incident.to_json() for incident in self.incidents],
        }

    # --- transitions -------------------------------------------------------------------------------------

    def probed(self, name: str, result: ProbeResult) -> Step:
        """A probe's verdict. Not judged during the start-up grace (a target never seen up) or while the
        target's parent is failing (the parent's DOWN already explains it: one page per outage)."""
        target = next(t for t in self.config.targets if t.name == name)
        before = self.states[name]
        if self.in_grace(before, result):
            return Step(
                self, notes=(Note("info", "probe failed during start-up grace", _why(name, result)),), changed=False
            )
        parent = self.states.get(target.depends_on) if target.depends_on else None
        if parent is not None and (parent.status != "up" or parent.failures > 0):
            extra = {"target": name, "parent": target.depends_on}
            return Step(self, notes=(Note("info", "probe not judged: parent failing", extra),), changed=False)
        after, alerts = observe(target, before, result, self.config.limits)
        step = self._with_state(name, after).emit(alerts, result.at)
        if result.ok:
            return step
        failed = Note("warning", "probe failed", {**_why(name, result), "consecutive": after.failures})
        return step.then(Step(step.watch, notes=(failed,)))

    def in_grace(self, state: TargetState, result: ProbeResult) -> bool:
        return not result.ok and state.status == "unknown" and result.at - self.started < self.config.startup_grace

    def pinged(self, name: str, ok: bool, note: str, now: datetime) -> Step | None:
        """A job's ping (already authenticated); None for a name that is not a push check."""
        check = next((c for c in self.config.checks if c.name == name), None)
        if check is None:
            return None
        after, alerts = on_ping(check, self.states[name], ok, note, now)
        step = self._with_state(name, after).emit(alerts, now)
        return step.then(Step(step.watch, notes=(Note("info", "ping", {"check": name, "ok": ok, "note": note}),)))

    def ticked(self, now: datetime) -> Step:
        """The clock moved: push-check deadlines, ended maintenance windows, channels failing long enough."""
        step = Step(self, changed=False)
        for check in self.config.checks:
            current = step.watch
            before = current.states[check.name]
            if self.config.push_token_set:
                after, alerts = on_tick(check, before, now, self.config.limits)
            else:
                after, alerts = refused(check, before, NO_PUSH_TOKEN, now, self.config.limits)
            if after != before:
                step = step.then(current._with_state(check.name, after).emit(alerts, now))
        step = step.then(step.watch._end_maintenance(now))
        return step.then(step.watch._announce_failing_channels(now))

    def paused(self, name: str, minutes: float, reason: str, now: datetime) -> Step | None:
        """Start or replace a maintenance window; None for an unknown target."""
        if name not in self.states:
            return None
        window = Maintenance(name, reason, now, now + timedelta(minutes=minutes))
        incidents = closed(list(self.incidents), name, "MAINTENANCE", now)
        incidents = opened(incidents, Incident(name, "MAINTENANCE", now, None, reason))
        watch_ = replace(self, maintenance={**self.maintenance, name: window}, incidents=tuple(incidents))
        extra = {"target": name, "until": window.until.isoformat(), "reason": reason}
        return Step(watch_, notes=(Note("warning", "maintenance started", extra),))

    def resumed(self, name: str, now: datetime) -> Step | None:
        """End a window early (its end message goes out now); None when the target is not paused."""
        window = self.maintenance.get(name)
        if window is None:
            return None
        shortened = replace(self, maintenance={**self.maintenance, name: replace(window, until=now)})
        return shortened._end_maintenance(now)

    def delivered(
        self, channel: str, error: str | None, now: datetime, refused_recipients: tuple[str, ...] = ()
    ) -> Step:
        """A delivery attempt's outcome: error None and no refused recipient is a working channel. A recipient
        refused among several leaves the channel degraded (the others got it): reported like a failure."""
        before = self.channels[channel]
        if error is None and not refused_recipients:
            health, recovered = after_delivery(before)
            step = Step(replace(self, channels={**self.channels, channel: health}), changed=False)
            if recovered:
                return step.then(step.watch._tell(channel, "CHANNEL_RECOVERED", before, now))
            return step
        problem = error or "recipients refused: " + ", ".join(refused_recipients)
        health = after_failure(before, problem, now, refused_recipients)
        return Step(replace(self, channels={**self.channels, channel: health}), changed=False)

    # --- what the others read ----------------------------------------------------------------------------

    def failing_channels(self, now: datetime) -> list[str]:
        """Channels failing for the whole ALERT_CHANNEL_FAILING_MINUTES: what the heartbeat reports."""
        window = self.config.channel_failing
        return [
            f"alert channel {name} failing since {health.failing_since.isoformat()}: {health.last_error}"
            for name, health in self.channels.items()
            if health.failing_since is not None and now - health.failing_since >= window
        ]

    def state_in_words(self, name: str) -> str:
        return state_in_words(self.states[name])

    # --- inside ------------------------------------------------------------------------------------------

    def _with_state(self, name: str, state: TargetState) -> Watch:
        return replace(self, states={**self.states, name: state})

    def emit(self, alerts: list[Alert], now: datetime) -> Step:
        """Record each alert as an incident; send it to every channel unless its target is paused."""
        incidents, sends, notes = list(self.incidents), [], []
        for alert in alerts:
            incidents = after_alert(incidents, alert)
            window = self.maintenance.get(alert.target)
            paused = window is not None and window.active(now) and alert.kind != "MAINTENANCE_ENDED"
            extra = {"target": alert.target, "kind": alert.kind, "reason": alert.reason, "paused": paused}
            notes.append(Note("warning", "status flip" if alert.kind != "REMINDER" else "still down", extra))
            if not paused:
                sends.append(Send(alert, self.config.channels))
        return Step(replace(self, incidents=tuple(incidents)), tuple(sends), tuple(notes))

    def _end_maintenance(self, now: datetime) -> Step:
        ended = [w for w in self.maintenance.values() if not w.active(now)]
        if not ended:
            return Step(self, changed=False)
        maintenance = {k: w for k, w in self.maintenance.items() if w.active(now)}
        incidents = list(self.incidents)
        for window in ended:
            incidents = closed(incidents, window.target, "MAINTENANCE", now)
        step = Step(replace(self, maintenance=maintenance, incidents=tuple(incidents)))
        for window in ended:
            state = self.states[window.target]
            note = Note("warning", "maintenance ended", {"target": window.target, "state": state_in_words(state)})
            message = end_message(window, self.config.url(window.target), state, now)
            step = step.then(step.watch.emit([message], now))
            step = step.then(Step(step.watch, notes=(note,)))
        return step

    def _announce_failing_channels(self, now: datetime) -> Step:
        step = Step(self, changed=False)
        for name, health in self.channels.items():
            if due_announcement(health, now, self.config.channel_failing):
                marked = replace(step.watch, channels={**step.watch.channels, name: replace(health, announced=True)})
                step = step.then(marked._tell(name, "CHANNEL_FAILING", health, now))
        return step

    def _tell(self, channel: str, kind: AlertKind, health: ChannelHealth, now: datetime) -> Step:
        """Through every other channel; a channel that still reaches some recipients also carries it."""
        told = tuple(c for c in self.config.channels if c != channel or health.refused)
        message = "alert channel failing" if kind == "CHANNEL_FAILING" else "alert channel delivers again"
        extra = {"channel": channel, "since": str(health.failing_since), "error": health.last_error, "told": told}
        notes = [Note("error", message, extra)]
        if not told:
            notes.append(Note("error", "no other channel to tell: only MONITOR_HEARTBEAT_URL reports it", extra))
            return Step(self, notes=tuple(notes), changed=False)
        alert = Alert(kind, channel, "", health.last_error, now, health.failing_since, None)
        return Step(self, (Send(alert, told),), tuple(notes), changed=False)


def _why(name: str, result: ProbeResult) -> dict[str, Any]:
    return {"target": name, "reason": result.reason}
