"""The pure Watch: every decision of the watchdog, driven with no thread, socket or clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.monitor.push import PushCheck
from services.monitor.state import ProbeResult, Target, Thresholds
from services.monitor.watch import NO_PUSH_TOKEN, Step, Watch, WatchConfig

T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
LIMITS = Thresholds(failures_to_down=3, successes_to_recover=2, repeat=timedelta(minutes=60), degraded_window=4)
API = Target("api", "http://api/health/ready")
MODEL = Target("model", "http://api/model", depends_on="api")
NIGHTLY = PushCheck.parse("nightly=1d+1h")


def config(**changes: object) -> WatchConfig:
    values: dict[str, object] = {
        "targets": (API, MODEL),
        "checks": (NIGHTLY,),
        "channels": ("email", "slack"),
        "limits": LIMITS,
        "channel_failing": timedelta(minutes=5),
        **changes,
    }
    return WatchConfig(**values)  # type: ignore[arg-type]


def fresh(**changes: object) -> Watch:
    return Watch.restore(config(**changes), {}, T0)


def result(ok: bool, at: datetime, reason: str = "HTTP 503: canary failing") -> ProbeResult:
    return ProbeResult(ok, "ok" if ok else reason, 0.01, at)


def run(watch: Watch, name: str, outcomes: str, start: datetime = T0) -> tuple[Watch, list[Step]]:
    """Feed probe results ('+' passed, '-' failed) one second apart."""
    steps = []
    for i, mark in enumerate(outcomes):
        step = watch.probed(name, result(mark == "+", start + timedelta(seconds=i)))
        watch = step.watch
        steps.append(step)
    return watch, steps


def kinds(steps: list[Step]) -> list[str]:
    return [send.alert.kind for step in steps for send in step.sends]


def test_down_after_the_confirmations_and_recovered_after_two_good_probes_to_every_channel() -> None:
    watch, steps = run(fresh(), "api", "+---++")
    assert kinds(steps) == ["DOWN", "RECOVERED"]
    assert all(send.channels == ("email", "slack") for step in steps for send in step.sends)
    assert [i.kind for i in watch.incidents] == ["DOWN"] and watch.incidents[0].ended is not None


def test_start_up_grace_hides_a_target_never_seen_up_and_only_while_it_lasts() -> None:
    watch = fresh(startup_grace=timedelta(seconds=30))
    watch, steps = run(watch, "api", "---")
    assert kinds(steps) == [] and watch.states["api"].status == "unknown"
    assert [note.message for step in steps for note in step.notes] == ["probe failed during start-up grace"] * 3
    _, later = run(watch, "api", "---", start=T0 + timedelta(seconds=31))
    assert kinds(later) == ["DOWN"]


def test_start_up_grace_never_hides_a_target_once_seen_up() -> None:
    watch = fresh(startup_grace=timedelta(minutes=10))
    _, steps = run(watch, "api", "+---")
    assert kinds(steps) == ["DOWN"]


def test_a_child_is_not_judged_while_its_parent_fails_so_one_outage_is_one_page() -> None:
    watch, _ = run(fresh(), "api", "+")
    watch, _ = run(watch, "model", "+")
    watch, steps = run(watch, "api", "---")
    assert kinds(steps) == ["DOWN"]
    watch, child = run(watch, "model", "----")
    assert kinds(child) == [] and watch.states["model"].status == "up"
    assert child[0].notes[0].message == "probe not judged: parent failing"
    watch, _ = run(watch, "api", "++")
    _, child = run(watch, "model", "---")
    assert kinds(child) == ["DOWN"]  # with the parent up again, the child's own failure pages


def test_a_paused_target_sends_nothing_and_its_window_ends_with_one_message_stating_its_state() -> None:
    watch, _ = run(fresh(), "api", "+")
    watch = watch.paused("api", 10, "upgrading PostgreSQL", T0).watch  # type: ignore[union-attr]
    watch, steps = run(watch, "api", "----", start=T0 + timedelta(minutes=1))
    assert kinds(steps) == [] and watch.states["api"].status == "down"  # judged, recorded, not sent
    assert watch.ticked(T0 + timedelta(minutes=5)).sends == ()
    end = watch.ticked(T0 + timedelta(minutes=10, seconds=1))
    [send] = end.sends
    assert send.alert.kind == "MAINTENANCE_ENDED" and send.alert.reason.startswith("DOWN: HTTP 503")
    assert "api" not in end.watch.maintenance
    assert [i.kind for i in end.watch.incidents if i.kind == "MAINTENANCE"] == ["MAINTENANCE"]


def test_resume_ends_a_window_at_once_and_unknown_names_are_refused() -> None:
    watch = fresh().paused("api", 60, "deploy", T0).watch  # type: ignore[union-attr]
    step = watch.resumed("api", T0 + timedelta(minutes=1))
    assert step is not None and [s.alert.kind for s in step.sends] == ["MAINTENANCE_ENDED"]
    assert fresh().resumed("api", T0) is None
    assert fresh().paused("nobody", 5, "x", T0) is None
    assert fresh().pinged("nobody", True, "", T0) is None


def test_a_push_check_is_down_after_its_deadline_and_recovers_on_the_next_ping() -> None:
    watch = fresh()
    assert watch.ticked(T0 + timedelta(hours=24, minutes=59)).sends == ()
    late = watch.ticked(T0 + timedelta(hours=25, seconds=1))
    [send] = late.sends
    assert send.alert.kind == "DOWN" and "no ping within 1d+1h" in send.alert.reason
    step = late.watch.pinged("nightly", True, "", T0 + timedelta(hours=26))
    assert step is not None and [s.alert.kind for s in step.sends] == ["RECOVERED"]
    failed = step.watch.pinged("nightly", False, "disk full", T0 + timedelta(hours=27))
    assert failed is not None and failed.sends[0].alert.reason == "the job reported a failure: disk full"


def test_without_a_push_token_each_push_check_is_down_naming_the_setting_once() -> None:
    watch = fresh(push_token_set=False)
    first = watch.ticked(T0)
    [send] = first.sends
    assert send.alert.kind == "DOWN" and send.alert.target == "nightly" and "MONITOR_PUSH_TOKEN" in send.alert.reason
    assert send.alert.reason == NO_PUSH_TOKEN
    assert first.watch.ticked(T0 + timedelta(minutes=1)).sends == ()  # once, then reminders on the repeat
    reminder = first.watch.ticked(T0 + timedelta(minutes=61))
    assert [s.alert.kind for s in reminder.sends] == ["REMINDER"]


def test_a_flapping_target_is_degraded_once_and_cleared_once() -> None:
    watch, steps = run(fresh(), "api", "+-+-+-++++++")
    assert kinds(steps) == ["DEGRADED", "CLEARED"]
    assert [i.kind for i in watch.incidents] == ["DEGRADED"]


def test_a_failing_channel_is_announced_through_the_others_after_the_window_and_its_recovery_too() -> None:
    watch = fresh()
    step = watch.delivered("email", "SMTP refused: 535", T0)
    assert step.sends == () and step.watch.channels["email"].state == "failing"
    assert step.watch.ticked(T0 + timedelta(minutes=4)).sends == ()
    announced = step.watch.ticked(T0 + timedelta(minutes=5))
    [send] = announced.sends
    assert send.alert.kind == "CHANNEL_FAILING" and send.channels == ("slack",)
    assert announced.watch.ticked(T0 + timedelta(minutes=6)).sends == ()  # once
    assert announced.watch.failing_channels(T0 + timedelta(minutes=6))  # what the heartbeat reports
    back = announced.watch.delivered("email", None, T0 + timedelta(minutes=7))
    assert [(s.alert.kind, s.channels) for s in back.sends] == [("CHANNEL_RECOVERED", ("slack",))]
    assert back.watch.failing_channels(T0 + timedelta(minutes=8)) == []


def test_a_refused_recipient_degrades_the_channel_and_is_told_to_everyone_the_channel_still_reaches() -> None:
    watch = fresh().delivered("email", None, T0, refused_recipients=("left@example.com (550 gone)",)).watch
    health = watch.channels["email"]
    assert health.state == "degraded" and health.refused == ("left@example.com (550 gone)",)
    [send] = watch.ticked(T0 + timedelta(minutes=5)).sends
    assert send.channels == ("email", "slack") and "left@example.com" in send.alert.reason


def test_the_only_channel_failing_sends_nowhere_and_says_so() -> None:
    watch = fresh(channels=("email",)).delivered("email", "connection refused", T0).watch
    step = watch.ticked(T0 + timedelta(minutes=5))
    assert step.sends == ()
    assert any("only MONITOR_HEARTBEAT_URL" in note.message for note in step.notes)
    assert watch.failing_channels(T0 + timedelta(minutes=5)) != []


def test_state_saved_by_the_previous_watchdog_loads() -> None:
    saved = {
        "targets": {"api": {"status": "down", "failures": 4, "down_since": T0.isoformat(), "last_reason": "x"}},
        "outbox": [],
        "maintenance": [
            {"target": "api", "reason": "r", "started": T0.isoformat(), "until": (T0 + timedelta(hours=1)).isoformat()}
        ],
        "incidents": [{"target": "api", "kind": "DOWN", "started": T0.isoformat(), "ended": None}],
        "gone-target": {},
    }
    watch = Watch.restore(config(), saved, T0 + timedelta(minutes=1))
    assert watch.states["api"].status == "down" and watch.states["model"].status == "unknown"
    assert "api" in watch.maintenance and watch.incidents[0].reason == ""
    assert Watch.restore(config(), watch.to_json(), T0).states == watch.states
