"""The pure channel rules: failing since the first failure, announced once after the window, recovery once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.monitor.channel_health import ChannelHealth, after_delivery, after_failure, due_announcement

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = timedelta(minutes=5)


def test_a_working_channel_is_up_and_never_due() -> None:
    assert ChannelHealth().up and not due_announcement(ChannelHealth(), T0, WINDOW)


def test_failing_since_is_the_first_failure_and_the_error_the_last() -> None:
    health = after_failure(after_failure(ChannelHealth(), "refused", T0), "timeout", T0 + timedelta(minutes=1))
    assert (health.up, health.failing_since, health.last_error) == (False, T0, "timeout")


def test_the_announcement_is_due_only_after_the_whole_window() -> None:
    health = after_failure(ChannelHealth(), "SMTP refused", T0)
    assert not due_announcement(health, T0 + WINDOW - timedelta(seconds=1), WINDOW)
    assert due_announcement(health, T0 + WINDOW, WINDOW)


def test_an_announced_failure_is_not_announced_again() -> None:
    health = ChannelHealth(T0, "SMTP refused", announced=True)
    assert not due_announcement(health, T0 + 10 * WINDOW, WINDOW)


def test_a_delivery_clears_the_failure_and_asks_for_a_recovery_message_only_if_it_was_announced() -> None:
    assert after_delivery(ChannelHealth(T0, "x", announced=True)) == (ChannelHealth(), True)
    assert after_delivery(ChannelHealth(T0, "x", announced=False)) == (ChannelHealth(), False)
