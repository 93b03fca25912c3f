"""The watchdog's pure schedule: when to probe next, and when a failure is silenced by the start-up grace.

Beside the pure state machine (state.py) and unit-tested like it; the loop only asks.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.monitor.state import ProbeResult, TargetState


@dataclass(frozen=True)
class Schedule:
    interval: float  # seconds between probes of a settled target
    confirm_interval: float  # seconds between probes while a flip is being confirmed
    startup_grace: float  # seconds after start in which a target never seen up is not alerted on

    def next_probe_in(self, state: TargetState) -> float:
        """Re-probe soon while confirming a flip (either way); otherwise wait a full interval."""
        return self.confirm_interval if state.suspect else self.interval

    def silenced(self, state: TargetState, result: ProbeResult, seconds_since_start: float) -> bool:
        """A stack still starting (the first model being trained) is not an outage; a target once up is."""
        return not result.ok and state.status == "unknown" and seconds_since_start < self.startup_grace
