"""`churnguard monitor`: probe targets, fold results into states, deliver flips; serve /health and /metrics."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from services.monitor.metrics import MonitorMetrics
from services.monitor.notifiers import DeliveryError, Notifier, configured_notifiers
from services.monitor.outbox import Delivery, Outbox
from services.monitor.probe import probe
from services.monitor.settings import MonitorSettings
from services.monitor.state import Alert, ProbeResult, Target, TargetState, Thresholds, observe
from services.monitor.store import StateFile, state_from_json, state_to_json

log = logging.getLogger(__name__)

ProbeFn = Callable[[httpx.Client, Target, float], ProbeResult]


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
        self.state_file = StateFile(settings.monitor_state_dir)
        saved = self.state_file.load()
        self.states = {
            t.name: state_from_json(saved["targets"][t.name]) if t.name in saved["targets"] else TargetState()
            for t in self.targets
        }
        self.outbox = Outbox(
            [Delivery.from_json(raw) for raw in saved["outbox"]],
            quick_attempts=settings.alert_delivery_attempts,
            slow_retry_seconds=settings.monitor_interval_seconds,
        )
        self.stopping = threading.Event()
        self.started = self.last_cycle = time.monotonic()
        self.server: ThreadingHTTPServer | None = None
        self._save_lock = threading.Lock()
        self._next_probe = {t.name: 0.0 for t in self.targets}
        self._last_heartbeat = 0.0
        self._http = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))  # each probe connects anew
        for target in self.targets:
            self._show_status(target.name)

    # -- lifecycle -------------------------------------------------------------------------------
    def run(self) -> None:
        self.server = serve_http(self, self.settings.monitor_host, self.settings.monitor_port)
        workers = [
            threading.Thread(target=self._deliver_loop, args=(n,), name=f"deliver-{n.name}", daemon=True)
            for n in self.notifiers
        ]
        for worker in workers:
            worker.start()
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
            for worker in workers:
                worker.join(1)
            self._save()
            log.info("monitor stopped")

    def stop(self) -> None:
        self.stopping.set()

    def healthy(self) -> bool:
        """Making progress: the loop finished a cycle within two intervals."""
        return time.monotonic() - self.last_cycle < 2 * self.settings.monitor_interval_seconds

    # -- the loop --------------------------------------------------------------------------------
    def cycle(self) -> None:
        now = time.monotonic()
        due = [t for t in self.targets if self._next_probe[t.name] <= now]
        results = self._probe_all(due)
        for target in due:
            result = results.get(target.name)
            if result is None:  # stopping while a probe was in flight
                continue
            self._record(target, result)
            interval = (
                self.settings.monitor_confirm_interval_seconds
                if self.states[target.name].suspect
                else self.settings.monitor_interval_seconds
            )
            self._next_probe[target.name] = now + interval
        if due:
            self._save()
        self._heartbeat()
        self.last_cycle = time.monotonic()
        self.metrics.last_cycle.set(time.time())

    def _probe_all(self, targets: list[Target]) -> dict[str, ProbeResult]:
        """Probe concurrently in daemon threads, so a hung target neither delays the others nor shutdown."""
        results: dict[str, ProbeResult] = {}

        def run(target: Target) -> None:
            started = datetime.now(UTC)
            try:
                results[target.name] = self.probe_fn(self._http, target, self.settings.monitor_timeout_seconds)
            except Exception as error:  # noqa: BLE001 - a probe bug is a failed probe, never a dead thread
                log.exception("probe raised", extra={"target": target.name})
                results[target.name] = ProbeResult(False, f"probe error: {type(error).__name__}", 0.0, started)

        threads = [threading.Thread(target=run, args=(t,), daemon=True) for t in targets]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + self.settings.monitor_timeout_seconds + 2
        for thread in threads:
            while thread.is_alive() and not self.stopping.is_set() and time.monotonic() < deadline:
                thread.join(0.1)
        return dict(results)

    def _record(self, target: Target, result: ProbeResult) -> None:
        before = self.states[target.name]
        if not result.ok and before.status == "unknown" and self._in_startup_grace():
            # A stack still starting (e.g. the first model being trained) is not an outage.
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

    def _in_startup_grace(self) -> bool:
        return time.monotonic() - self.started < self.settings.monitor_startup_grace_seconds

    def _show_status(self, name: str) -> None:
        status = self.states[name].status
        self.metrics.target_up.labels(name).set({"up": 1, "down": 0, "unknown": -1}[status])

    def _seconds_to_next_probe(self) -> float:
        return max(0.05, min(self._next_probe.values()) - time.monotonic())

    def _heartbeat(self) -> None:
        url = self.settings.monitor_heartbeat_url
        if url is None or time.monotonic() - self._last_heartbeat < self.settings.monitor_heartbeat_seconds:
            return
        self._last_heartbeat = time.monotonic()
        try:
            self._http.get(url, timeout=self.settings.monitor_timeout_seconds).raise_for_status()
        except httpx.HTTPError as error:
            log.error("heartbeat ping failed", extra={"error": str(error)})

    # -- delivery --------------------------------------------------------------------------------
    def _deliver_loop(self, notifier: Notifier) -> None:
        while not self.stopping.is_set():
            for delivery in self.outbox.due(notifier.name, time.time()):
                if self.stopping.is_set():
                    break
                self._deliver(notifier, delivery)
            self.metrics.alerts_pending.labels(notifier.name).set(self.outbox.pending(notifier.name))
            self.stopping.wait(0.2)

    def _deliver(self, notifier: Notifier, delivery: Delivery) -> None:
        alert: Alert = delivery.alert
        try:
            notifier.send(alert)
        except DeliveryError as error:
            kind = "permanent" if error.permanent else "transient"
            self.metrics.alerts_failed.labels(notifier.name, alert.kind, kind).inc()
            self.outbox.failed(delivery, str(error), error.permanent, time.time())
            log.error(
                "alert delivery failed" + ("; not retried" if error.permanent else "; will retry"),
                extra={
                    "channel": notifier.name,
                    "kind": alert.kind,
                    "target": alert.target,
                    "error": str(error),
                    "attempt": delivery.attempts + 1,
                },
            )
        else:
            self.outbox.delivered(delivery)
            self.metrics.alerts_sent.labels(notifier.name, alert.kind).inc()
            log.info(
                "alert delivered",
                extra={
                    "channel": notifier.name,
                    "kind": alert.kind,
                    "target": alert.target,
                    "attempt": delivery.attempts + 1,
                },
            )
        self._save()

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


def serve_http(monitor: Monitor, host: str, port: int) -> ThreadingHTTPServer:
    """/health (200 only while the loop makes progress) and /metrics, on the monitor's own port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path == "/health":
                ok = monitor.healthy()
                body = b'{"status": "ok"}' if ok else b'{"status": "stuck", "message": "probe loop made no progress"}'
                self._answer(200 if ok else 503, body, "application/json")
            elif self.path == "/metrics":
                self._answer(200, monitor.metrics.exposition(), "text/plain; version=0.0.4; charset=utf-8")
            else:
                self._answer(404, b'{"error": "not_found"}', "application/json")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence per-request logs
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="monitor-http", daemon=True).start()
    return server


def run_monitor() -> int:
    """Entry point: settings validated first (a bad combination is a clear startup error), then the loop."""
    from services.common.logs import configure_logging

    try:
        settings = MonitorSettings()
    except ValidationError as error:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())
        print(f"monitor: invalid settings: {problems}", file=sys.stderr)
        return 2
    configure_logging(settings.monitor_log_level)
    monitor = Monitor(settings)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: monitor.stop())
    monitor.run()
    return 0
