"""The pure schedule: confirm quickly both ways, settle to the interval."""

from __future__ import annotations

from services.monitor.schedule import Schedule
from services.monitor.state import TargetState

SCHEDULE = Schedule(interval=30.0, confirm_interval=2.0)


def test_a_settled_target_waits_a_full_interval() -> None:
    assert SCHEDULE.next_probe_in(TargetState(status="up")) == 30.0
    assert SCHEDULE.next_probe_in(TargetState(status="down", failures=5)) == 30.0
    assert SCHEDULE.next_probe_in(TargetState()) == 30.0


def test_a_first_failure_is_confirmed_at_the_confirm_interval() -> None:
    assert SCHEDULE.next_probe_in(TargetState(status="up", failures=1)) == 2.0


def test_a_recovery_is_confirmed_at_the_confirm_interval_too() -> None:
    assert SCHEDULE.next_probe_in(TargetState(status="down", failures=0, successes=1)) == 2.0
