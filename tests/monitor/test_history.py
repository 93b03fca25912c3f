"""Incidents follow the alerts; uptime is the share of the watched window not DOWN; maintenance messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.monitor.history import after_alert, uptime
from services.monitor.maintenance import Maintenance, end_message
from services.monitor.state import Alert, TargetState

T0 = datetime(2026, 11, 23, tzinfo=UTC)
HOUR = timedelta(hours=1)


def alert(kind: str, at: datetime, down_since: datetime | None = None) -> Alert:
    return Alert(kind, "predictor", "http://p", "HTTP 503", at, down_since, None)  # type: ignore[arg-type]


def test_an_outage_is_one_incident_with_its_duration() -> None:
    incidents = after_alert([], alert("DOWN", T0 + HOUR, down_since=T0))
    incidents = after_alert(incidents, alert("RECOVERED", T0 + 2 * HOUR, down_since=T0))
    assert [(i.kind, i.started, i.ended) for i in incidents] == [("DOWN", T0, T0 + 2 * HOUR)]
    assert incidents[0].seconds(T0 + 10 * HOUR) == 7200


def test_uptime_counts_only_down_time_within_the_window_watched() -> None:
    incidents = after_alert([], alert("DOWN", T0, down_since=T0))
    incidents = after_alert(incidents, alert("RECOVERED", T0 + 2 * HOUR))
    incidents = after_alert(incidents, alert("DEGRADED", T0 + 3 * HOUR))  # degraded is not down
    now = T0 + 24 * HOUR
    assert uptime(incidents, "predictor", T0, now, timedelta(days=1)) == 1 - 2 / 24
    assert uptime(incidents, "predictor", T0 + 12 * HOUR, now, timedelta(days=7)) == 1.0
    assert uptime(incidents, "predictor", None, now, timedelta(days=1)) is None
    ongoing = after_alert([], alert("DOWN", T0 + 18 * HOUR, down_since=T0 + 18 * HOUR))
    assert uptime(ongoing, "predictor", T0, now, timedelta(days=1)) == 1 - 6 / 24


def test_the_end_of_a_window_states_the_target_as_it_is_then() -> None:
    window = Maintenance("predictor", "deploy 1.4", T0, T0 + HOUR)
    up = end_message(window, "http://p", TargetState(status="up"), T0 + HOUR)
    assert (up.kind, up.reason) == ("MAINTENANCE_ENDED", "UP (after maintenance: deploy 1.4)")
    down = TargetState(status="down", last_reason="connection refused", down_since=T0 + 30 * timedelta(minutes=1))
    message = end_message(window, "http://p", down, T0 + HOUR)
    assert message.reason == "DOWN: connection refused (after maintenance: deploy 1.4)"
    assert message.down_since == down.down_since
    assert Maintenance.from_json(window.to_json()) == window
