"""The watchdog's I/O around the pure `Watch`: probe what is due, feed each event to the Watch, queue the alerts
it returns, log its notes, save, and answer HTTP. Every decision is in watch.py."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from services.monitor.delivery import DeliveryWorkers
from services.monitor.heartbeat import Heartbeat
from services.monitor.http_api import serve_http
from services.monitor.lists import latest_facts, latest_file
from services.monitor.maintenance import Maintenance
from services.monitor.metrics import MonitorMetrics
from services.monitor.notifiers import Notifier, configured_notifiers
from services.monitor.outbox import Delivery, Outbox
from services.monitor.probe import probe
from services.monitor.probing import ProbeFn, probe_all
from services.monitor.schedule import Schedule
from services.monitor.settings import MonitorSettings
from services.monitor.state import TargetState, Thresholds
from services.monitor.status_view import StatusView, status_view
from services.monitor.store import StateFile
from services.monitor.targets import configured_targets, push_checks
from services.monitor.watch import Step, Watch, WatchConfig

log = logging.getLogger(__name__)
IDLE_WAKE_SECONDS = 1.0  # the loop wakes at least this often, so liveness does not depend on the interval
ONE_CHANNEL = (
    "only one alert channel is configured: if it fails, no one is told. Configure a second channel "
    "(ALERT_SMTP_HOST + ALERT_EMAIL_TO, or ALERT_SLACK_WEBHOOK_URL), or set MONITOR_HEARTBEAT_URL to an outside "
    "dead-man's switch (it gets <url>/fail while a channel fails)"
)


def watch_config(settings: MonitorSettings, channels: list[str]) -> WatchConfig:
    return WatchConfig(
        targets=tuple(configured_targets(settings)),
        checks=tuple(push_checks(settings)),
        channels=tuple(channels),
        limits=Thresholds(
            failures_to_down=settings.failures_to_down,
            successes_to_recover=settings.monitor_recovery_probes,
            repeat=timedelta(minutes=settings.alert_repeat_minutes),
            degraded_ratio=settings.monitor_degraded_ratio,
            degraded_window=settings.monitor_degraded_window,
        ),
        startup_grace=timedelta(seconds=settings.monitor_startup_grace_seconds),
        channel_failing=timedelta(minutes=settings.alert_channel_failing_minutes),
        push_token_set=settings.monitor_push_token is not None,
    )


class Monitor:
    """The watchdog. `run()` blocks until `stop()`; everything the Watch knows is saved after each change."""

    def __init__(
        self,
        settings: MonitorSettings,
        registry: CollectorRegistry | None = None,
        probe_fn: ProbeFn = probe,
        notifiers: list[Notifier] | None = None,
    ) -> None:
        self.settings = settings
        self.notifiers = configured_notifiers(settings) if notifiers is None else notifiers
        config = watch_config(settings, [n.name for n in self.notifiers])
        self.state_file = StateFile(settings.monitor_state_dir)
        saved = self.state_file.load()
        self.watch = Watch.restore(config, saved, datetime.now(UTC))
        self._lock = threading.RLock()  # the Watch: the loop, HTTP pings and delivery workers all step it
        self.metrics = MonitorMetrics(registry or CollectorRegistry(), list(self.watch.states))
        self.probe_fn = probe_fn
        self.outbox = Outbox(
            [Delivery.from_json(raw) for raw in saved.get("outbox", [])],
            quick_attempts=settings.alert_delivery_attempts,
            slow_retry_seconds=settings.alert_retry_seconds,
        )
        self.schedule = Schedule(
            interval=settings.monitor_interval_seconds,
            confirm_interval=settings.monitor_confirm_interval_seconds,
        )
        self.stopping = threading.Event()
        self.last_cycle = time.monotonic()
        self.server: ThreadingHTTPServer | None = None
        for name in self.watch.channels:
            self.metrics.channel_up.labels(name).set(1)
        self.delivery = DeliveryWorkers(
            self.notifiers, self.outbox, self.metrics, self.stopping, self._save, self._delivery_outcome
        )
        self.heartbeat = Heartbeat(
            settings.monitor_heartbeat_url, settings.monitor_heartbeat_seconds, settings.monitor_timeout_seconds
        )
        self._save_lock = threading.Lock()
        self._next_probe = {t.name: 0.0 for t in config.targets}
        self._http = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))  # each probe connects anew
        self._show_states()

    @property
    def states(self) -> Mapping[str, TargetState]:
        return self.watch.states

    def run(self) -> None:
        self.server = serve_http(self.settings.monitor_host, self.settings.monitor_port, self)
        self.delivery.start()
        if len(self.notifiers) == 1 and self.settings.monitor_heartbeat_url is None:
            log.warning(ONE_CHANNEL, extra={"channel": self.notifiers[0].name})
        if self.watch.config.checks and not self.watch.config.push_token_set:
            log.error("MONITOR_PUSH_TOKEN is not set: every ping is refused and each push check is DOWN")
        log.info(
            "monitor started",
            extra={
                "targets": [t.url for t in self.watch.config.targets],
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

    def cycle(self) -> None:
        """Probe what is due (each judged within MONITOR_TIMEOUT_SECONDS), then let the clock tick."""
        now = time.monotonic()
        due = [t for t in self.watch.config.targets if self._next_probe[t.name] <= now]
        results = probe_all(self.probe_fn, self._http, due, self.settings.monitor_timeout_seconds)
        for target in sorted(due, key=lambda t: t.depends_on is not None):  # a parent's result first
            result = results[target.name]
            self._step(partial(Watch.probed, name=target.name, result=result))
            self.metrics.probes.labels(target.name, "success" if result.ok else "failure").inc()
            self.metrics.probe_success.labels(target.name).set(1 if result.ok else 0)
            self.metrics.probe_duration.labels(target.name).set(result.seconds)
            self._next_probe[target.name] = now + self.schedule.next_probe_in(self.watch.states[target.name])
        self._step(lambda watch: watch.ticked(datetime.now(UTC)))
        self.heartbeat.maybe_ping(self._http, self.watch.failing_channels(datetime.now(UTC)))
        self.last_cycle = time.monotonic()
        self.metrics.last_cycle.set(time.time())

    # --- what the HTTP port asks (http_api.MonitorApi) ---------------------------------------------------

    def healthy(self) -> bool:
        """Making progress (a cycle within MONITOR_STUCK_SECONDS) and every delivery worker alive."""
        progressing = time.monotonic() - self.last_cycle < self.settings.monitor_stuck_seconds
        return progressing and (self.delivery.alive() or self.stopping.is_set())

    def status(self) -> StatusView:
        lists = self.settings.monitor_lists_dir
        with self._lock:
            watch = self.watch
        facts = None if lists is None else latest_facts(lists)
        return status_view(watch, datetime.now(UTC), facts, lists is not None, self.settings.monitor_notice)

    def metrics_text(self) -> bytes:
        return self.metrics.exposition()

    def admin_token(self) -> SecretStr | None:
        return self.settings.monitor_admin_token

    def push_token(self) -> SecretStr | None:
        return self.settings.monitor_push_token

    def latest_list(self) -> Path | None:
        lists = self.settings.monitor_lists_dir
        return None if lists is None else latest_file(lists)

    def ping(self, name: str, ok: bool, note: str) -> bool:
        """An authenticated job's ping; False for a name that is not a push check."""
        return self._step(lambda watch: watch.pinged(name, ok, note, datetime.now(UTC)))

    def pause(self, name: str, minutes: float, reason: str) -> Maintenance | None:
        if not self._step(lambda watch: watch.paused(name, minutes, reason, datetime.now(UTC))):
            return None
        return self.watch.maintenance[name]

    def resume(self, name: str) -> bool:
        return self._step(lambda watch: watch.resumed(name, datetime.now(UTC)))

    # --- inside ------------------------------------------------------------------------------------------

    def _step(self, transition: Callable[[Watch], Step | None]) -> bool:
        """Apply one transition: queue its alerts, log its notes, show and save the result."""
        with self._lock:
            step = transition(self.watch)
            if step is None:
                return False
            self.watch = step.watch
            for send in step.sends:
                for old in self.outbox.enqueue(send.alert, list(send.channels)):
                    log.info(
                        "reminder superseded before delivery",
                        extra={"channel": old.channel, "target": old.alert.target},
                    )
        for note in step.notes:
            log.log(logging.getLevelName(note.level.upper()), note.message, extra=dict(note.extra))
        self._show_states()
        if step.changed or step.sends:
            self._save()
        return True

    def _delivery_outcome(self, channel: str, error: str | None, refused: tuple[str, ...]) -> None:
        """Called by the delivery workers after each attempt."""
        self._step(lambda watch: watch.delivered(channel, error, datetime.now(UTC), refused))

    def _show_states(self) -> None:
        for name, state in self.watch.states.items():
            self.metrics.target_up.labels(name).set({"up": 1, "down": 0, "unknown": -1}[state.status])
            self.metrics.degraded.labels(name).set(1 if state.degraded_since is not None else 0)
        for name, health in self.watch.channels.items():
            self.metrics.channel_up.labels(name).set(1 if health.up else 0)

    def _seconds_to_next_probe(self) -> float:
        if not self._next_probe:
            return IDLE_WAKE_SECONDS
        return max(0.05, min(IDLE_WAKE_SECONDS, min(self._next_probe.values()) - time.monotonic()))

    def _save(self) -> None:
        with self._save_lock:
            with self._lock:
                data = {**self.watch.to_json(), "outbox": self.outbox.to_json()}
            try:
                self.state_file.save(data)
            except OSError as error:
                log.error("cannot persist monitor state", extra={"error": str(error)})
