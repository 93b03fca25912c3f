"""The pure state machine: flips only, confirmed both ways, reminders on the repeat interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.monitor.state import ProbeResult, Target, TargetState, Thresholds, observe

TARGET = Target("predictor", "http://p/health/ready")
LIMITS = Thresholds(failures_to_down=3, successes_to_recover=2, repeat=timedelta(minutes=60))
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def run(
    results: list[bool], start: TargetState | None = None, step: timedelta = timedelta(seconds=1)
) -> tuple[TargetState, list[str]]:
    state, kinds = start or TargetState(), []
    for i, ok in enumerate(results):
        state, alerts = observe(
            TARGET, state, ProbeResult(ok, "ok" if ok else "connection refused", 0.01, T0 + i * step), LIMITS
        )
        kinds += [a.kind for a in alerts]
    return state, kinds


def test_first_success_marks_up_without_alert() -> None:
    assert run([True]) == (TargetState(status="up", successes=1, last_success=T0), [])


def test_down_needs_the_confirming_failures() -> None:
    assert run([True, False, False])[1] == []
    state, kinds = run([True, False, False, False])
    assert kinds == ["DOWN"] and state.status == "down" and state.down_since == T0 + timedelta(seconds=1)


def test_blips_never_alert() -> None:
    assert run([True, False, True, False, False, True, False])[1] == []


def test_recovery_needs_consecutive_successes_and_reports_downtime() -> None:
    state, kinds = run([True, False, False, False, True, False, True, True])
    assert kinds == ["DOWN", "RECOVERED"] and state.status == "up"


def test_target_down_from_the_start_alerts_with_no_last_success() -> None:
    state, kinds = run([False, False, False])
    assert kinds == ["DOWN"] and state.last_success is None


def test_reminder_after_the_repeat_interval_only() -> None:
    _, kinds = run([True] + [False] * 200, step=timedelta(minutes=1))
    assert kinds.count("DOWN") == 1
    assert kinds.count("REMINDER") == 3  # at 60, 120, 180 minutes after the DOWN


def test_target_names_come_from_the_spec() -> None:
    assert Target.parse("tracker=http://t:5000/health") == Target("tracker", "http://t:5000/health")
    assert Target.parse("http://p:8000/health/ready").name == "p:8000/health/ready"
