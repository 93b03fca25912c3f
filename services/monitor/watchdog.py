"""The watchdog loop: probe what is due, fold results into states, queue the alerts flips call for."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import Any

import httpx
from prometheus_client import CollectorRegistry

from services.monitor.channel_health import ChannelHealth, after_delivery, after_failure, due_announcement
from services.monitor.delivery import DeliveryWorkers
from services.monitor.heartbeat import Heartbeat
from services.monitor.http_api import serve_http
from services.monitor.metrics import MonitorMetrics
from services.monitor.notifiers import Notifier, configured_notifiers
from services.monitor.outbox import Delivery, Outbox
from services.monitor.probe import probe
from services.monitor.probing import ProbeFn, probe_all
from services.monitor.schedule import Schedule
from services.monitor.settings import MonitorSettings
from services.monitor.state import Alert, AlertKind, ProbeResult, Target, TargetState, Thresholds, observe
from services.monitor.store import StateFile, state_from_json, state_to_json

log = logging.getLogger(__name__)
IDLE_WAKE_SECONDS = 1.0  # the loop wakes at least this often, so liveness does not depend on the interval


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
        self.targets = [Target.parse(spec) for spec in settings.monitor_targets]
        self.metrics = MonitorMetrics(registry or CollectorRegistry(), [t.name for t in self.targets])
        self.probe_fn = probe_fn
        self.notifiers = configured_notifiers(settings) if notifiers is None else notifiers
        self.limits = Thresholds(
            failures_to_down=settings.failures_to_down,
            successes_to_recover=settings.monitor_recovery_probes,
            repeat=timedelta(minutes=settings.alert_repeat_minutes),
        )
        self.schedule = Schedule(
            interval=settings.monitor_interval_seconds,
            confirm_interval=settings.monitor_confirm_interval_seconds,
            startup_grace=settings.monitor_startup_grace_seconds,
        )
        self.state_file = StateFile(settings.monitor_state_dir)
        saved = self.state_file.load()
        self.states = {
            t.name: state_from_json(saved["targets"][t.name]) if t.name in saved["targets"] else TargetState()
            for t in self.targets
        }
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
        for target in self.targets:
            self._show_status(target.name)

    def run(self) -> None:
        self.server = serve_http(
            self.settings.monitor_host, self.settings.monitor_port, self.healthy, self.metrics.exposition, self.status
        )
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

    def healthy(self) -> bool:
        """Making progress: the loop finished a cycle within MONITOR_STUCK_SECONDS."""
        return time.monotonic() - self.last_cycle < self.settings.monitor_stuck_seconds

    def cycle(self) -> None:
        now = time.monotonic()
        due = [t for t in self.targets if self._next_probe[t.name] <= now]
        results = probe_all(self.probe_fn, self._http, due, self.settings.monitor_timeout_seconds, self.stopping)
        for target in due:
            result = results.get(target.name)
            if result is None:  # stopping while a probe was in flight
                continue
            self._record(target, result)
            self._next_probe[target.name] = now + self.schedule.next_probe_in(self.states[target.name])
        if due:
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
        after, alerts = observe(target, before, result, self.limits)
        self.states[target.name] = after
        self.metrics.probes.labels(target.name, "success" if result.ok else "failure").inc()
        self.metrics.probe_success.labels(target.name).set(1 if result.ok else 0)
        self.metrics.probe_duration.labels(target.name).set(result.seconds)
        self._show_status(target.name)
        if not result.ok:
            log.warning(
                "probe failed", extra={"target": target.name, "reason": result.reason, "consecutive": after.failures}
            )
        for alert in alerts:
            log.warning(
                "status flip" if alert.kind != "REMINDER" else "still down",
                extra={"target": alert.target, "kind": alert.kind, "reason": alert.reason},
            )
            superseded = self.outbox.enqueue(alert, [n.name for n in self.notifiers])
            for old in superseded:
                log.info(
                    "reminder superseded before delivery", extra={"channel": old.channel, "target": old.alert.target}
                )

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
        """What /status answers: each target's state and each channel's."""
        with self._channels_lock:
            channels = dict(self.channels)
        return {
            "targets": {
                target.name: {
                    "url": target.url,
                    "status": self.states[target.name].status,
                    "down_since": _iso(self.states[target.name].down_since),
                    "last_success": _iso(self.states[target.name].last_success),
                    "last_reason": self.states[target.name].last_reason,
                }
                for target in self.targets
            },
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

    def _show_status(self, name: str) -> None:
        status = self.states[name].status
        self.metrics.target_up.labels(name).set({"up": 1, "down": 0, "unknown": -1}[status])

    def _seconds_to_next_probe(self) -> float:
        return max(0.05, min(IDLE_WAKE_SECONDS, min(self._next_probe.values()) - time.monotonic()))

    def _save(self) -> None:
        with self._save_lock:
            data: dict[str, Any] = {
                "targets": {name: state_to_json(state) for name, state in self.states.items()},
                "outbox": self.outbox.to_json(),
            }
            try:
                self.state_file.save(data)
            except OSError as error:
                log.error("cannot persist monitor state", extra={"error": str(error)})


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
