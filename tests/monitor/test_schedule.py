"""The pure schedule: confirm quickly both ways, settle to the interval, grace only for never-seen targets."""

from __future__ import annotations

from datetime import UTC, datetime

from services.monitor.schedule import Schedule
from services.monitor.state import ProbeResult, TargetState

SCHEDULE = Schedule(interval=30.0, confirm_interval=2.0, startup_grace=300.0)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
FAILED = ProbeResult(False, "connection refused", 0.01, T0)
PASSED = ProbeResult(True, "ok", 0.01, T0)


def test_a_settled_target_waits_a_full_interval() -> None:
    assert SCHEDULE.next_probe_in(TargetState(status="up")) == 30.0
    assert SCHEDULE.next_probe_in(TargetState(status="down", failures=5)) == 30.0
    assert SCHEDULE.next_probe_in(TargetState()) == 30.0


def test_a_first_failure_is_confirmed_at_the_confirm_interval() -> None:
    assert SCHEDULE.next_probe_in(TargetState(status="up", failures=1)) == 2.0


def test_a_recovery_is_confirmed_at_the_confirm_interval_too() -> None:
    assert SCHEDULE.next_probe_in(TargetState(status="down", failures=0, successes=1)) == 2.0


def test_grace_silences_failures_of_a_target_never_seen_up_while_it_lasts() -> None:
    assert SCHEDULE.silenced(TargetState(), FAILED, seconds_since_start=10) is True
    assert SCHEDULE.silenced(TargetState(), FAILED, seconds_since_start=301) is False


def test_grace_never_hides_a_target_once_seen_up_nor_a_success() -> None:
    assert SCHEDULE.silenced(TargetState(status="up"), FAILED, seconds_since_start=10) is False
    assert SCHEDULE.silenced(TargetState(status="down"), FAILED, seconds_since_start=10) is False
    assert SCHEDULE.silenced(TargetState(), PASSED, seconds_since_start=10) is False


def test_no_grace_by_default() -> None:
    assert Schedule(30.0, 2.0, 0.0).silenced(TargetState(), FAILED, seconds_since_start=0.0) is False
