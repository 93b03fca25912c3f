"""The watchdog loop: probe what is due, fold results into states, queue the alerts flips call for."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from services.monitor.channel_health import ChannelHealth, after_delivery, after_failure, due_announcement
from services.monitor.delivery import DeliveryWorkers
from services.monitor.heartbeat import Heartbeat
from services.monitor.history import Incident, after_alert, closed, opened, uptime
from services.monitor.http_api import serve_http
from services.monitor.lists import latest_facts, latest_file
from services.monitor.maintenance import Maintenance, end_message, state_in_words
from services.monitor.metrics import MonitorMetrics
from services.monitor.notifiers import Notifier, configured_notifiers
from services.monitor.outbox import Delivery, Outbox
from services.monitor.probe import probe
from services.monitor.probing import ProbeFn, probe_all
from services.monitor.push import on_ping, on_tick, watch
from services.monitor.schedule import Schedule
from services.monitor.settings import MonitorSettings
from services.monitor.state import (
    Alert,
    AlertKind,
    ProbeResult,
    Target,
    TargetState,
    Thresholds,
    failure_ratio,
    observe,
)
from services.monitor.store import StateFile, state_from_json, state_to_json
from services.monitor.targets import configured_targets, push_checks

log = logging.getLogger(__name__)
IDLE_WAKE_SECONDS = 1.0  # the loop wakes at least this often, so liveness does not depend on the interval
DAY, WEEK = timedelta(days=1), timedelta(days=7)


class Monitor:
    """The watchdog. `run()` blocks until `stop()`; everything it knows is persisted after each change."""

    def __init__(
        self,
        settings: MonitorSettings,
        registry: CollectorRegistry | None = None,
        probe_fn: ProbeFn = probe,
        notifiers: list[Notifier] | None = None,
    ) -> None:
        self.settings = settings
        self.targets = configured_targets(settings)
        self.checks = {check.name: check for check in push_checks(settings)}
        self.metrics = MonitorMetrics(
            registry or CollectorRegistry(), [t.name for t in self.targets] + list(self.checks)
        )
        self.probe_fn = probe_fn
        self.notifiers = configured_notifiers(settings) if notifiers is None else notifiers
        self.limits = Thresholds(
            failures_to_down=settings.failures_to_down,
            successes_to_recover=settings.monitor_recovery_probes,
            repeat=timedelta(minutes=settings.alert_repeat_minutes),
            degraded_ratio=settings.monitor_degraded_ratio,
            degraded_window=settings.monitor_degraded_window,
        )
        self.schedule = Schedule(
            interval=settings.monitor_interval_seconds,
            confirm_interval=settings.monitor_confirm_interval_seconds,
            startup_grace=settings.monitor_startup_grace_seconds,
        )
        self.state_file = StateFile(settings.monitor_state_dir)
        saved = self.state_file.load()
        names = [t.name for t in self.targets] + list(self.checks)
        self.states = {
            name: state_from_json(saved["targets"][name]) if name in saved["targets"] else TargetState()
            for name in names
        }
        now = datetime.now(UTC)
        for name, check in self.checks.items():
            self.states[name] = watch(check, self.states[name], now)
        self.maintenance = {
            window.target: window
            for window in (Maintenance.from_json(raw) for raw in saved.get("maintenance", []))
            if window.target in self.states
        }
        self.incidents = [Incident.from_json(raw) for raw in saved.get("incidents", [])]
        self._lock = threading.RLock()  # states, windows and incidents: the loop and HTTP pings both change them
        self.outbox = Outbox(
            [Delivery.from_json(raw) for raw in saved["outbox"]],
            quick_attempts=settings.alert_delivery_attempts,
            slow_retry_seconds=settings.alert_retry_seconds,
        )
        self.stopping = threading.Event()
        self.started = self.last_cycle = time.monotonic()
        self.server: ThreadingHTTPServer | None = None
        self.channels = {n.name: ChannelHealth() for n in self.notifiers}
        self._channels_lock = threading.Lock()
        for name in self.channels:
            self.metrics.channel_up.labels(name).set(1)
        self.delivery = DeliveryWorkers(
            self.notifiers, self.outbox, self.metrics, self.stopping, self._save, self._channel_result
        )
        self.heartbeat = Heartbeat(
            settings.monitor_heartbeat_url, settings.monitor_heartbeat_seconds, settings.monitor_timeout_seconds
        )
        self._save_lock = threading.Lock()
        self._next_probe = {t.name: 0.0 for t in self.targets}
        self._http = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))  # each probe connects anew
        for name in self.states:
            self._show_status(name)

    def run(self) -> None:
        self.server = serve_http(self.settings.monitor_host, self.settings.monitor_port, self)
        self.delivery.start()
        log.info(
            "monitor started",
            extra={
                "targets": [t.url for t in self.targets],
                "channels": [n.name for n in self.notifiers],
                "port": self.server.server_address[1],
            },
        )
        try:
            while not self.stopping.is_set():
                self.cycle()
                self.stopping.wait(self._seconds_to_next_probe())
        finally:
            self.server.shutdown()
            self.server.server_close()
            self.delivery.join(1)
            self._save()
            log.info("monitor stopped")

    def stop(self) -> None:
        self.stopping.set()

    def metrics_text(self) -> bytes:
        return self.metrics.exposition()

    def admin_token(self) -> SecretStr | None:
        return self.settings.monitor_admin_token

    def latest_list(self) -> Path | None:
        lists = self.settings.monitor_lists_dir
        return None if lists is None else latest_file(lists)

    def healthy(self) -> bool:
        """Making progress: the loop finished a cycle within MONITOR_STUCK_SECONDS."""
        return time.monotonic() - self.last_cycle < self.settings.monitor_stuck_seconds

    def cycle(self) -> None:
        now = time.monotonic()
        due = [t for t in self.targets if self._next_probe[t.name] <= now]
        results = probe_all(self.probe_fn, self._http, due, self.settings.monitor_timeout_seconds, self.stopping)
        for target in sorted(due, key=lambda t: t.depends_on is not None):  # a parent's result first
            result = results.get(target.name)
            if result is None:  # stopping while a probe was in flight
                continue
            self._record(target, result)
            self._next_probe[target.name] = now + self.schedule.next_probe_in(self.states[target.name])
        changed = self._tick_push_checks() | self._end_maintenance()
        if due or changed:
            self._save()
        self._announce_failing_channels()
        self.heartbeat.maybe_ping(self._http)
        self.last_cycle = time.monotonic()
        self.metrics.last_cycle.set(time.time())

    def _record(self, target: Target, result: ProbeResult) -> None:
        before = self.states[target.name]
        if self.schedule.silenced(before, result, time.monotonic() - self.started):
            log.info("probe failed during start-up grace", extra={"target": target.name, "reason": result.reason})
            return
        parent = self.states[target.depends_on] if target.depends_on else None
        if parent is not None and (parent.status != "up" or parent.failures > 0):
            # The parent's DOWN already explains this target: judging it too would page twice per outage.
            log.info("probe not judged: parent failing", extra={"target": target.name, "parent": target.depends_on})
            return
        with self._lock:
            after, alerts = observe(target, before, result, self.limits)
            self.states[target.name] = after
            self._emit(alerts)
        self.metrics.probes.labels(target.name, "success" if result.ok else "failure").inc()
        self.metrics.probe_success.labels(target.name).set(1 if result.ok else 0)
        self.metrics.probe_duration.labels(target.name).set(result.seconds)
        self._show_status(target.name)
        if not result.ok:
            log.warning(
                "probe failed", extra={"target": target.name, "reason": result.reason, "consecutive": after.failures}
            )

    def _emit(self, alerts: list[Alert]) -> None:
        """Log and record every flip; queue it for the channels unless its target is in maintenance."""
        now = datetime.now(UTC)
        for alert in alerts:
            self.incidents = after_alert(self.incidents, alert)
            window = self.maintenance.get(alert.target)
            paused = window is not None and window.active(now) and alert.kind != "MAINTENANCE_ENDED"
            log.warning(
                "status flip" if alert.kind != "REMINDER" else "still down",
                extra={"target": alert.target, "kind": alert.kind, "reason": alert.reason, "paused": paused},
            )
            self._show_status(alert.target)
            if paused:
                continue
            superseded = self.outbox.enqueue(alert, [n.name for n in self.notifiers])
            for old in superseded:
                log.info(
                    "reminder superseded before delivery", extra={"channel": old.channel, "target": old.alert.target}
                )

    def _tick_push_checks(self) -> bool:
        now, changed = datetime.now(UTC), False
        with self._lock:
            for name, check in self.checks.items():
                after, alerts = on_tick(check, self.states[name], now, self.limits)
                changed |= after != self.states[name]
                self.states[name] = after
                self._emit(alerts)
        return changed

    def ping(self, name: str, ok: bool, note: str) -> bool:
        """A job's ping (POST /ping/{name}[/fail]); False for a name that is not a push check."""
        check = self.checks.get(name)
        if check is None:
            return False
        with self._lock:
            self.states[name], alerts = on_ping(check, self.states[name], ok, note, datetime.now(UTC))
            self._emit(alerts)
            self._show_status(name)
        log.info("ping", extra={"check": name, "ok": ok, "note": note})
        self._save()
        return True

    def pause(self, name: str, minutes: float, reason: str) -> Maintenance | None:
        """Start (or replace) a maintenance window; None for an unknown target."""
        if name not in self.states:
            return None
        now = datetime.now(UTC)
        window = Maintenance(name, reason, now, now + timedelta(minutes=minutes))
        with self._lock:
            self.maintenance[name] = window
            self.incidents = opened(
                closed(self.incidents, name, "MAINTENANCE", now), Incident(name, "MAINTENANCE", now, None, reason)
            )
        log.warning("maintenance started", extra={"target": name, "until": window.until.isoformat(), "reason": reason})
        self._save()
        return window

    def resume(self, name: str) -> bool:
        """End a window early (the end message goes out now); False when the target is not paused."""
        with self._lock:
            window = self.maintenance.get(name)
            if window is None:
                return False
            self.maintenance[name] = Maintenance(name, window.reason, window.started, datetime.now(UTC))
        self._end_maintenance()
        self._save()
        return True

    def _end_maintenance(self) -> bool:
        now = datetime.now(UTC)
        with self._lock:
            ended = [w for w in self.maintenance.values() if not w.active(now)]
            for window in ended:
                del self.maintenance[window.target]
                self.incidents = closed(self.incidents, window.target, "MAINTENANCE", now)
                log.warning(
                    "maintenance ended",
                    extra={"target": window.target, "state": state_in_words(self.states[window.target])},
                )
                self._emit([end_message(window, self._url(window.target), self.states[window.target], now)])
        return bool(ended)

    def _url(self, name: str) -> str:
        check = self.checks.get(name)
        return check.url if check else next(t.url for t in self.targets if t.name == name)

    def _channel_result(self, channel: str, error: str | None) -> None:
        """Called by the delivery workers after each attempt."""
        with self._channels_lock:
            before = self.channels[channel]
            if error is None:
                self.channels[channel], recovered = after_delivery(before)
            else:
                self.channels[channel], recovered = after_failure(before, error, datetime.now(UTC)), False
        self.metrics.channel_up.labels(channel).set(1 if error is None else 0)
        if recovered:
            self._tell_the_others(channel, "CHANNEL_RECOVERED", before)

    def _announce_failing_channels(self) -> None:
        window = timedelta(minutes=self.settings.alert_channel_failing_minutes)
        with self._channels_lock:
            due = [
                name for name, health in self.channels.items() if due_announcement(health, datetime.now(UTC), window)
            ]
            for name in due:
                self.channels[name] = replace(self.channels[name], announced=True)
        for name in due:
            self._tell_the_others(name, "CHANNEL_FAILING", self.channels[name])

    def _tell_the_others(self, channel: str, kind: AlertKind, health: ChannelHealth) -> None:
        others = [n.name for n in self.notifiers if n.name != channel]
        now = datetime.now(UTC)
        log.error(
            "alert channel failing" if kind == "CHANNEL_FAILING" else "alert channel delivers again",
            extra={"channel": channel, "since": str(health.failing_since), "error": health.last_error, "told": others},
        )
        if others:
            self.outbox.enqueue(Alert(kind, channel, "", health.last_error, now, health.failing_since, None), others)

    def status(self) -> dict[str, Any]:
        """What /status answers and the status page shows: targets, push checks, incidents, channels."""
        now = datetime.now(UTC)
        with self._channels_lock:
            channels = dict(self.channels)
        with self._lock:
            targets = {t.name: self._entry(t.name, t.url, now) for t in self.targets}
            checks = {
                name: {
                    **self._entry(name, check.url, now),
                    "period": check.spec,
                    "last_ping": _iso(self.states[name].last_success),
                    "deadline": _iso(check.deadline(self.states[name])),
                }
                for name, check in self.checks.items()
            }
            incidents = sorted(self.incidents, key=lambda i: i.started, reverse=True)[:50]
        lists = self.settings.monitor_lists_dir
        return {
            "generated_at": now.isoformat(),
            **({} if lists is None else {"weekly_list": latest_facts(lists)}),
            "targets": targets,
            "push_checks": checks,
            "incidents": [
                {**incident.to_json(), "duration_seconds": round(incident.seconds(now), 1)} for incident in incidents
            ],
            "channels": {
                name: {
                    "up": health.up,
                    "failing_since": _iso(health.failing_since),
                    "last_error": health.last_error,
                    "announced": health.announced,
                }
                for name, health in channels.items()
            },
        }

    def _entry(self, name: str, url: str, now: datetime) -> dict[str, Any]:
        state = self.states[name]
        window = self.maintenance.get(name)
        degraded = state.status == "up" and state.degraded_since is not None
        return {
            "url": url,
            "status": state.status,
            "state": ("PAUSED" if window else "DEGRADED" if degraded else state.status.upper()),
            "since": _iso(state.since),
            "down_since": _iso(state.down_since if state.status == "down" else None),
            "degraded_since": _iso(state.degraded_since),
            "last_success": _iso(state.last_success),
            "last_reason": state.last_reason,
            "failure_ratio": round(failure_ratio(state), 3),
            "uptime_24h": uptime(self.incidents, name, state.watched_since, now, DAY),
            "uptime_7d": uptime(self.incidents, name, state.watched_since, now, WEEK),
            "maintenance": None if window is None else window.to_json(),
        }

    def _show_status(self, name: str) -> None:
        state = self.states[name]
        self.metrics.target_up.labels(name).set({"up": 1, "down": 0, "unknown": -1}[state.status])
        self.metrics.degraded.labels(name).set(1 if state.degraded_since is not None else 0)

    def _seconds_to_next_probe(self) -> float:
        return max(0.05, min(IDLE_WAKE_SECONDS, min(self._next_probe.values()) - time.monotonic()))

    def _save(self) -> None:
        with self._save_lock:
            with self._lock:
                data: dict[str, Any] = {
                    "targets": {name: state_to_json(state) for name, state in self.states.items()},
                    "outbox": self.outbox.to_json(),
                    "maintenance": [window.to_json() for window in self.maintenance.values()],
                    "incidents": [incident.to_json() for incident in self.incidents],
                }
            try:
                self.state_file.save(data)
            except OSError as error:
                log.error("cannot persist monitor state", extra={"error": str(error)})


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
