"""The watchdog's pure schedule: when to probe next. Beside the pure Watch and unit-tested like it."""

from __future__ import annotations

from dataclasses import dataclass

from services.monitor.state import TargetState


@dataclass(frozen=True)
class Schedule:
    interval: float  # seconds between probes of a settled target
    confirm_interval: float  # seconds between probes while a flip is being confirmed

    def next_probe_in(self, state: TargetState) -> float:
        """Re-probe soon while confirming a flip (either way); otherwise wait a full interval."""
        return self.confirm_interval if state.suspect else self.interval
