"""Conditions, DEGRADED, push checks and maintenance end to end: real HTTP targets, real SMTP and webhook."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.monitor.conftest import PUSH, FakeTarget, MonitorFactory, RunningMonitor
from tests.receivers import MailBox, Webhook, eventually

pytestmark = pytest.mark.slow


def both(mailbox: MailBox, webhook: Webhook, word: str) -> tuple[list[str], list[str]]:
    return [s for s in mailbox.subjects() if word in s], [t for t in webhook.texts() if word in t]


def until_up(running: RunningMonitor, name: str = "predictor") -> None:
    eventually(lambda: running.monitor.states[name].status == "up", 5)


def test_a_flapping_target_raises_one_degraded_and_one_clear_per_channel(
    start_monitor: MonitorFactory, target: FakeTarget, mailbox: MailBox, webhook: Webhook
) -> None:
    running = start_monitor(monitor_interval_seconds=0.2)
    until_up(running)
    target.set("flap")
    eventually(lambda: all(both(mailbox, webhook, "DEGRADED")), 20)
    emails, slacks = both(mailbox, webhook, "DEGRADED")
    assert emails == slacks and len(emails) == 1
    assert "of the last 10 probes failed" in emails[0] and "HTTP 503: canary failing" in emails[0]
    time.sleep(2)  # still flapping: nothing more
    assert both(mailbox, webhook, "DEGRADED") == (emails, slacks)
    assert both(mailbox, webhook, "DOWN") == ([], [])
    target.set("healthy")
    eventually(lambda: all(both(mailbox, webhook, "CLEARED")), 20)
    time.sleep(1)
    assert [len(x) for x in both(mailbox, webhook, "CLEARED")] == [1, 1]
    assert len(mailbox.subjects()) == 2 and len(webhook.texts()) == 2
    kinds = [i["kind"] for i in running.monitor.status().to_json()["incidents"]]
    assert kinds == ["DEGRADED"] and running.monitor.status().to_json()["incidents"][0]["ended"] is not None


def test_a_200_whose_body_breaks_a_condition_is_down_naming_it(
    start_monitor: MonitorFactory, target: FakeTarget, mailbox: MailBox, webhook: Webhook, tmp_path: Path
) -> None:
    config = tmp_path / "targets.yml"
    config.write_text(
        f"""
targets:
  - name: predictor-model
    url: http://127.0.0.1:{target.port}/model
    bearer_key_env: TEST_PREDICTOR_KEY
    meaning: the served model differs from the registry
    conditions:
      - "[STATUS] == 200"
      - "[BODY].registry.matches == true"
      - "[RESPONSE_TIME] < 2000"
""",
        encoding="utf-8",
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TEST_PREDICTOR_KEY", "probe-key-from-env")
        running = start_monitor(monitor_config=config)
    until_up(running, "predictor-model")
    assert list(running.monitor.status().to_json()["targets"]) == [
        "predictor-model",
        "predictor",
    ]  # file + MONITOR_TARGETS
    target.model_matches = False
    eventually(lambda: all(both(mailbox, webhook, "DOWN")), 10)
    expected = (
        "[churnguard] DOWN predictor-model: the served model differs from the registry: "
        "[BODY].registry.matches (false) == true"
    )
    assert mailbox.subjects() == [expected] and webhook.texts() == [expected]  # the plain target stays quiet
    assert {a for a, path in zip(target.authorizations, target.hits, strict=True) if path == "/model"} == {
        "Bearer probe-key-from-env"
    }
    assert None in target.authorizations  # the key goes only to the target it belongs to
    target.model_matches = True
    eventually(lambda: all(both(mailbox, webhook, "RECOVERED")), 10)


def test_a_dependent_target_is_not_paged_while_its_parent_is_down(
    start_monitor: MonitorFactory, target: FakeTarget, mailbox: MailBox, webhook: Webhook, tmp_path: Path
) -> None:
    """One page per outage: /model is refused too when the predictor is gone, but only `predictor` is DOWN."""
    config = tmp_path / "targets.yml"
    config.write_text(
        f"targets:\n  - name: predictor-model\n    url: http://127.0.0.1:{target.port}/model\n"
        "    depends_on: predictor\n    conditions: ['[BODY].registry.matches == true']\n",
        encoding="utf-8",
    )
    running = start_monitor(monitor_config=config)
    eventually(lambda: running.monitor.states["predictor-model"].status == "up", 5)
    target.set("gone")
    eventually(lambda: all(both(mailbox, webhook, "DOWN")), 10)
    time.sleep(2)
    assert mailbox.subjects() == webhook.texts() == ["[churnguard] DOWN predictor: connection refused"]
    target.set("healthy")
    eventually(lambda: all(both(mailbox, webhook, "RECOVERED")), 10)
    time.sleep(1)
    assert len(mailbox.subjects()) == len(webhook.texts()) == 2
    target.model_matches = False  # with the parent up, the child is judged again
    eventually(lambda: len(mailbox.subjects()) == 3, 10)
    assert mailbox.subjects()[2].startswith("[churnguard] DOWN predictor-model: [BODY].registry.matches")


def test_a_missed_push_check_alerts_once_and_the_next_ping_recovers_once(
    start_monitor: MonitorFactory, mailbox: MailBox, webhook: Webhook
) -> None:
    running = start_monitor(monitor_push_checks=["weekly-list=2s+1s"])
    assert httpx.post(f"{running.url}/ping/weekly-list", headers=PUSH).json() == {
        "check": "weekly-list",
        "recorded": "ok",
    }
    eventually(lambda: all(both(mailbox, webhook, "DOWN")), 10)
    time.sleep(1.5)
    emails, slacks = both(mailbox, webhook, "DOWN")
    assert emails == slacks == [f"[churnguard] DOWN weekly-list: {running.monitor.states['weekly-list'].last_reason}"]
    assert "no ping within 2s+1s (last ping: " in emails[0]
    assert httpx.post(f"{running.url}/ping/weekly-list", headers=PUSH).status_code == 200
    eventually(lambda: all(both(mailbox, webhook, "RECOVERED")), 10)
    assert (
        httpx.post(f"{running.url}/ping/weekly-list/fail", headers=PUSH, content=b"predictor unreachable").status_code
        == 200
    )
    eventually(lambda: len(both(mailbox, webhook, "DOWN")[0]) == 2, 10)
    assert both(mailbox, webhook, "DOWN")[0][1].endswith("the job reported a failure: predictor unreachable")
    assert httpx.post(f"{running.url}/ping/nobody", headers=PUSH).status_code == 404
    assert httpx.get(f"{running.url}/ping/weekly-list").status_code == 405


def test_push_checks_survive_a_restart(start_monitor: MonitorFactory, mailbox: MailBox) -> None:
    first = start_monitor(monitor_push_checks=["nightly=1h+1h"])
    httpx.post(f"{first.url}/ping/nightly", headers=PUSH)
    pinged = first.monitor.states["nightly"].last_success
    first.stop()
    second = start_monitor(monitor_push_checks=["nightly=1h+1h"])
    assert second.monitor.states["nightly"].last_success == pinged
    assert second.monitor.status().to_json()["push_checks"]["nightly"]["state"] == "UP"


def test_a_paused_target_sends_nothing_during_the_window_and_one_message_after(
    start_monitor: MonitorFactory, target: FakeTarget, mailbox: MailBox, webhook: Webhook
) -> None:
    token = "maintenance-token-for-this-test"
    running = start_monitor(monitor_admin_token=token)
    until_up(running)
    pause = {"minutes": 0.08, "reason": "deploy 1.4"}
    assert httpx.post(f"{running.url}/maintenance/predictor", json=pause).status_code == 401
    wrong = httpx.post(f"{running.url}/maintenance/predictor", json=pause, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    bad = httpx.post(f"{running.url}/maintenance/predictor", json={"minutes": -1}, headers=_bearer(token))
    assert bad.status_code == 422 and {d["field"] for d in bad.json()["detail"]} == {"minutes", "reason"}
    answer = httpx.post(f"{running.url}/maintenance/predictor", json=pause, headers=_bearer(token))
    assert answer.status_code == 200 and answer.json()["maintenance"]["reason"] == "deploy 1.4"
    assert running.monitor.status().to_json()["targets"]["predictor"]["state"] == "PAUSED"
    target.set("503")
    eventually(lambda: running.monitor.states["predictor"].status == "down", 10)
    time.sleep(1)
    assert mailbox.subjects() == [] and webhook.texts() == []
    eventually(lambda: len(mailbox.subjects()) == 1 and len(webhook.texts()) == 1, 15)
    expected = (
        "[churnguard] MAINTENANCE ENDED predictor: DOWN: HTTP 503: canary failing (after maintenance: deploy 1.4)"
    )
    assert mailbox.subjects() == [expected] and webhook.texts() == [expected]
    target.set("healthy")
    eventually(lambda: len(mailbox.subjects()) == 2, 10)
    assert mailbox.subjects()[1].startswith("[churnguard] RECOVERED predictor after")
    kinds = sorted(i["kind"] for i in running.monitor.status().to_json()["incidents"])
    assert kinds == ["DOWN", "MAINTENANCE"]


def test_maintenance_is_closed_without_a_token_and_can_end_early(
    start_monitor: MonitorFactory, target: FakeTarget, mailbox: MailBox
) -> None:
    closed = start_monitor()
    refused = httpx.post(f"{closed.url}/maintenance/predictor", json={"minutes": 5, "reason": "x"})
    assert refused.status_code == 403 and "MONITOR_ADMIN_TOKEN" in refused.json()["message"]
    closed.stop()
    token = "another-maintenance-token"
    running = start_monitor(monitor_admin_token=token)
    until_up(running)
    assert (
        httpx.post(
            f"{running.url}/maintenance/ghost", json={"minutes": 5, "reason": "x"}, headers=_bearer(token)
        ).status_code
        == 404
    )
    httpx.post(
        f"{running.url}/maintenance/predictor", json={"minutes": 60, "reason": "db upgrade"}, headers=_bearer(token)
    )
    assert httpx.delete(f"{running.url}/maintenance/predictor", headers=_bearer(token)).status_code == 200
    eventually(lambda: len(mailbox.subjects()) == 1, 10)
    assert mailbox.subjects() == ["[churnguard] MAINTENANCE ENDED predictor: UP (after maintenance: db upgrade)"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
