"""Push checks, pure: no ping within period + grace is one DOWN; the next good ping is one RECOVERED."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.monitor.push import PushCheck, on_ping, on_tick, parse_duration, watch
from services.monitor.state import Alert, TargetState, Thresholds

CHECK = PushCheck.parse("weekly-list=7d+6h")
LIMITS = Thresholds(failures_to_down=3, successes_to_recover=2, repeat=timedelta(hours=24))
T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def ticks(
    state: TargetState, until: datetime, step: timedelta = timedelta(minutes=30)
) -> tuple[TargetState, list[Alert]]:
    alerts: list[Alert] = []
    now = T0
    while now <= until:
        state, new = on_tick(CHECK, state, now, LIMITS)
        alerts += new
        now += step
    return state, alerts


def test_specs_parse_with_units() -> None:
    assert (CHECK.period, CHECK.grace) == (timedelta(days=7), timedelta(hours=6))
    assert parse_duration("90s") == timedelta(seconds=90) and parse_duration("1.5m") == timedelta(seconds=90)
    for bad in ("weekly-list=7d", "=7d+1h", "x=7w+1h", "x=7d+"):
        with pytest.raises(ValueError, match="PERIOD\\+GRACE|duration"):
            PushCheck.parse(bad)


def test_a_missed_run_alerts_once_and_the_next_ping_recovers_once() -> None:
    state = watch(CHECK, TargetState(), T0)
    state, _ = on_ping(CHECK, state, True, "", T0)
    state, alerts = ticks(state, T0 + timedelta(days=7, hours=6))
    assert alerts == []  # exactly at the deadline: still in time
    state, alerts = ticks(state, T0 + timedelta(days=7, hours=20))
    assert [a.kind for a in alerts] == ["DOWN"]
    assert alerts[0].reason == "no ping within 7d+6h (last ping: 2026-11-23 06:00:00 UTC)"
    assert alerts[0].down_since == T0 + timedelta(days=7, hours=6)
    state, alerts = on_ping(CHECK, state, True, "", T0 + timedelta(days=8))
    assert [a.kind for a in alerts] == ["RECOVERED"] and state.status == "up"
    assert on_ping(CHECK, state, True, "", T0 + timedelta(days=8, minutes=1))[1] == []


def test_a_check_never_pinged_counts_from_when_watching_began() -> None:
    state = watch(CHECK, TargetState(), T0)
    assert watch(CHECK, state, T0 + timedelta(days=3)).watched_since == T0  # a restart keeps the clock
    _, alerts = ticks(state, T0 + timedelta(days=7, hours=7))
    assert [a.kind for a in alerts] == ["DOWN"] and "last ping: never" in alerts[0].reason


def test_a_fail_ping_is_down_at_once_with_the_jobs_words() -> None:
    state, _ = on_ping(CHECK, watch(CHECK, TargetState(), T0), True, "", T0)
    state, alerts = on_ping(CHECK, state, False, "predictor unreachable", T0 + timedelta(days=7))
    assert [a.reason for a in alerts] == ["the job reported a failure: predictor unreachable"]
    assert on_ping(CHECK, state, False, "again", T0 + timedelta(days=7, minutes=5))[1] == []
    assert [a.kind for a in on_ping(CHECK, state, True, "", T0 + timedelta(days=7, hours=1))[1]] == ["RECOVERED"]


def test_reminders_follow_the_repeat_interval() -> None:
    state = watch(CHECK, TargetState(), T0)
    _, alerts = ticks(state, T0 + timedelta(days=10), step=timedelta(hours=1))
    assert [a.kind for a in alerts] == ["DOWN", "REMINDER", "REMINDER"]
