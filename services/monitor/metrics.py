"""The watchdog's own metrics, on a registry passed in: probes, target status, alert deliveries."""

from __future__ import annotations

from typing import get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from services.monitor.state import AlertKind

CHANNELS = ("email", "slack")
KINDS = tuple(kind for kind in get_args(AlertKind) if kind != "TEST")  # test alerts are not counted


class MonitorMetrics:
    def __init__(self, registry: CollectorRegistry, targets: list[str]) -> None:
        self.registry = registry
        self.probe_success = Gauge(
            "churnguard_monitor_probe_success", "1 when the last probe passed.", ["target"], registry=registry
        )
        self.probe_duration = Gauge(
            "churnguard_monitor_probe_duration_seconds", "Duration of the last probe.", ["target"], registry=registry
        )
        self.probes = Counter(
            "churnguard_monitor_probes_total", "Probes made, by result.", ["target", "result"], registry=registry
        )
        self.target_up = Gauge(
            "churnguard_monitor_target_up", "1 up, 0 down, -1 not yet known.", ["target"], registry=registry
        )
        self.degraded = Gauge(
            "churnguard_monitor_target_degraded",
            "1 while too many of the target's recent probes fail without a DOWN.",
            ["target"],
            registry=registry,
        )
        self.alerts_sent = Counter(
            "churnguard_monitor_alerts_sent_total", "Alerts delivered.", ["channel", "kind"], registry=registry
        )
        self.alerts_failed = Counter(
            "churnguard_monitor_alerts_failed_total",
            "Failed delivery attempts (permanent ones are not retried).",
            ["channel", "kind", "failure"],
            registry=registry,
        )
        self.alerts_pending = Gauge(
            "churnguard_monitor_alerts_pending", "Alerts waiting for delivery.", ["channel"], registry=registry
        )
        self.channel_up = Gauge(
            "churnguard_monitor_channel_up",
            "1 while the alert channel delivers; 0 from its first failed delivery until it delivers again.",
            ["channel"],
            registry=registry,
        )
        self.last_cycle = Gauge(
            "churnguard_monitor_last_cycle_timestamp_seconds",
            "When the probe loop last finished a cycle.",
            registry=registry,
        )
        for target in targets:
            self.target_up.labels(target).set(-1)
            self.degraded.labels(target).set(0)
            self.probe_success.labels(target)
            for result in ("success", "failure"):
                self.probes.labels(target, result)
        for channel in CHANNELS:
            self.alerts_pending.labels(channel)
            for kind in KINDS:
                self.alerts_sent.labels(channel, kind)
                for failure in ("transient", "permanent"):
                    self.alerts_failed.labels(channel, kind, failure)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
