"""One worker thread per alert channel: take due deliveries from the outbox, send, report back.

To add an alert channel: a `Notifier` in notifiers.py (and its settings); delivery, retries,
persistence and metrics come from here and the outbox unchanged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from services.monitor.metrics import MonitorMetrics
from services.monitor.notifiers import DeliveryError, Notifier, describe
from services.monitor.outbox import Delivery, Outbox

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2


class DeliveryWorkers:
    """Channels are independent: a dead SMTP server never delays Slack. No exception ends a worker: whatever a
    notifier raises is a failed delivery of that channel, counted, retried and reported."""

    def __init__(
        self,
        notifiers: list[Notifier],
        outbox: Outbox,
        metrics: MonitorMetrics,
        stopping: threading.Event,
        persist: Callable[[], None],
        report: Callable[[str, str | None, tuple[str, ...]], None],
    ) -> None:
        """`report(channel, error, refused)` hears every attempt's outcome (error None and nothing refused:
        delivered to everyone)."""
        self.notifiers, self.outbox, self.metrics = notifiers, outbox, metrics
        self.stopping, self.persist, self.report = stopping, persist, report
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._loop, args=(n,), name=f"deliver-{n.name}", daemon=True)
            for n in self.notifiers
        ]
        for thread in self._threads:
            thread.start()

    def alive(self) -> bool:
        return all(thread.is_alive() for thread in self._threads)

    def join(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self, notifier: Notifier) -> None:
        while not self.stopping.is_set():
            for delivery in self.outbox.due(notifier.name, time.time()):
                if self.stopping.is_set():
                    break
                self._deliver(notifier, delivery)
            self.metrics.alerts_pending.labels(notifier.name).set(self.outbox.pending(notifier.name))
            self.stopping.wait(POLL_SECONDS)

    def _deliver(self, notifier: Notifier, delivery: Delivery) -> None:
        alert = delivery.alert
        try:
            refused = notifier.send(alert)
        except Exception as error:  # noqa: BLE001 - any failure of a channel is a failed delivery, never a dead worker
            permanent = isinstance(error, DeliveryError) and error.permanent
            self._failed(notifier, delivery, describe(error), permanent)
        else:
            self.outbox.delivered(delivery)  # the recipients reached have it: never sent twice
            self.report(notifier.name, None, refused)
            self.metrics.alerts_sent.labels(notifier.name, alert.kind).inc()
            if refused:
                self.metrics.alerts_failed.labels(notifier.name, alert.kind, "permanent").inc()
                log.error("alert refused for some recipients", extra={"channel": notifier.name, "refused": refused})
            log.info(
                "alert delivered",
                extra={
                    "channel": notifier.name,
                    "kind": alert.kind,
                    "target": alert.target,
                    "attempt": delivery.attempts + 1,
                },
            )
        self.persist()

    def _failed(self, notifier: Notifier, delivery: Delivery, error: str, permanent: bool) -> None:
        alert = delivery.alert
        self.metrics.alerts_failed.labels(notifier.name, alert.kind, "permanent" if permanent else "transient").inc()
        self.outbox.failed(delivery, error, permanent, time.time())
        self.report(notifier.name, error, ())
        log.error(
            "alert delivery failed" + ("; refused, not retried" if permanent else "; will retry"),
            extra={
                "channel": notifier.name,
                "kind": alert.kind,
                "target": alert.target,
                "error": error,
                "attempt": delivery.attempts + 1,
            },
        )
