"""The pure state machine: flips only, confirmed both ways, reminders on the repeat interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.monitor.state import Alert, ProbeResult, Target, TargetState, Thresholds, observe

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
    state, kinds = run([True])
    assert kinds == [] and (state.status, state.successes, state.last_success) == ("up", 1, T0)
    assert state.since == state.watched_since == T0


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


def flapping(cycles: int) -> list[bool]:
    """One probe in three fails: never enough in a row for a DOWN."""
    return [True, True, False] * cycles


def alerts_of(results: list[bool], start: TargetState | None = None) -> tuple[TargetState, list[Alert]]:
    state, alerts = start or TargetState(), []
    for i, ok in enumerate(results):
        state, new = observe(
            TARGET, state, ProbeResult(ok, "ok" if ok else "HTTP 503", 0.01, T0 + timedelta(seconds=i)), LIMITS
        )
        alerts += new
    return state, alerts


def test_a_flapping_target_raises_one_degraded_with_its_ratio_and_one_clear() -> None:
    state, alerts = alerts_of(flapping(20) + [True] * 20)
    assert [a.kind for a in alerts] == ["DEGRADED", "CLEARED"]
    assert alerts[0].reason.startswith("3 of the last 10 probes failed (30%)")
    assert alerts[0].reason.endswith("last failure: HTTP 503")
    assert state.degraded_since is None and state.status == "up"


def test_degraded_needs_a_full_window_and_the_ratio() -> None:
    assert run([True, False, True, False, True])[1] == []  # 40% of 5: the window is not full yet
    assert run([True, True, True, True, False] * 10)[1] == []  # at most 2 of any 10 fail: 20% < 30%


def test_degraded_does_not_flap_around_the_ratio() -> None:
    """2 failures in 10 is below the raising ratio but above the clearing one: still degraded, no new alert."""
    _, kinds = run(flapping(10) + [True, True, True, True, False] * 10)
    assert kinds == ["DEGRADED"]


def test_a_down_supersedes_degraded_and_its_recovery_closes_both() -> None:
    state, kinds = run(flapping(10) + [False, False, False] + [True] * 30)
    assert kinds == ["DEGRADED", "DOWN", "RECOVERED"]
    assert state.degraded_since is None


def test_the_outage_does_not_count_towards_degraded_after_recovery() -> None:
    _, kinds = run([True] * 10 + [False] * 5 + [True] * 12)
    assert kinds == ["DOWN", "RECOVERED"]


def test_degraded_uses_the_configured_window_and_ratio() -> None:
    limits = Thresholds(
        failures_to_down=3, successes_to_recover=2, repeat=timedelta(minutes=60), degraded_ratio=0.5, degraded_window=4
    )
    state, kinds = TargetState(), []
    for i, ok in enumerate([True, False, True, False]):
        state, alerts = observe(TARGET, state, ProbeResult(ok, "HTTP 503", 0.01, T0 + timedelta(seconds=i)), limits)
        kinds += [a.kind for a in alerts]
    assert kinds == ["DEGRADED"] and run([True, False, True, False])[1] == []  # the default window is not full
