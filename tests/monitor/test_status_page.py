"""The status page in a real headless Chromium, at phone width: every kind of state the watchdog knows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.browser import PHONE, chromium, screenshot
from tests.monitor.conftest import PUSH, FakeTarget, MonitorFactory
from tests.receivers import MailBox, eventually
from tests.tools import needs_tool

pytestmark = pytest.mark.slow
TOKEN = "status-page-test-token"


@pytest.fixture
def tracker() -> Iterator[FakeTarget]:
    fake = FakeTarget()
    fake.start()
    yield fake
    fake.stop()


@needs_tool("chromium", "chromedriver")
def test_the_status_page_shows_each_state_since_when_incidents_push_checks_and_channels(
    start_monitor: MonitorFactory,
    target: FakeTarget,
    tracker: FakeTarget,
    mailbox: MailBox,
    tmp_path: Path,
) -> None:
    config = tmp_path / "targets.yml"
    config.write_text(
        f"""
targets:
  - name: predictor-model
    url: http://127.0.0.1:{target.port}/model
    meaning: the served model differs from the registry
    conditions: ["[STATUS] == 200", "[BODY].registry.matches == true"]
""",
        encoding="utf-8",
    )
    running = start_monitor(
        monitor_interval_seconds=0.2,
        monitor_config=config,
        monitor_targets=[f"predictor={target.url}", f"tracker={tracker.url}"],
        monitor_push_checks=["weekly-list=1s+1s", "nightly-backup=1d+1h"],
        monitor_admin_token=TOKEN,
        monitor_notice="No alert rule is evaluated here: only the watchdog pages",  # as make up says it
    )
    httpx.post(f"{running.url}/ping/nightly-backup", headers=PUSH)
    eventually(lambda: all(running.monitor.states[n].status == "up" for n in ("predictor", "tracker")), 5)
    httpx.post(
        f"{running.url}/maintenance/tracker",
        json={"minutes": 30, "reason": "tracker database upgrade"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    target.set("flap")
    target.model_matches = False
    states = {"predictor": "DEGRADED", "predictor-model": "DOWN", "tracker": "PAUSED"}
    eventually(
        lambda: all(running.monitor.status().to_json()["targets"][n]["state"] == s for n, s in states.items()), 20
    )
    eventually(lambda: running.monitor.status().to_json()["push_checks"]["weekly-list"]["state"] == "DOWN", 10)

    with chromium(PHONE) as browser:
        page: dict[str, str] = {}

        def degraded_on_the_page() -> bool:  # a flapping target may read UP for a moment between two probes
            browser.get(running.url + "/")
            page.clear()
            page.update(
                {
                    card.get_attribute("data-target"): card.text
                    for card in browser.find_elements(By.CSS_SELECTOR, "[data-target]")
                }
            )
            return "DEGRADED" in page.get("predictor", "")

        eventually(degraded_on_the_page, 30, interval=1)
        assert browser.title == "churnguard status"
        cards = dict(page)
        assert set(cards) == {"predictor", "predictor-model", "tracker", "weekly-list", "nightly-backup"}
        assert "DEGRADED" in cards["predictor"] and "degraded since" in cards["predictor"]
        assert "% of recent probes" in cards["predictor"] and "uptime 24 h" in cards["predictor"]
        assert "DOWN" in cards["predictor-model"]
        assert "the served model differs from the registry" in cards["predictor-model"]
        assert "PAUSED" in cards["tracker"] and "tracker database upgrade" in cards["tracker"]
        assert "DOWN" in cards["weekly-list"] and "last ping never" in cards["weekly-list"]
        assert "UP" in cards["nightly-backup"] and "every 1d+1h" in cards["nightly-backup"]
        incidents = browser.find_element(By.ID, "incidents").text
        for kind in ("DEGRADED", "DOWN", "MAINTENANCE"):
            assert kind in incidents
        assert "ongoing" in incidents
        assert {"email", "slack"} <= set(browser.find_element(By.ID, "channels").text.lower().split())
        assert "need attention" in browser.find_element(By.ID, "summary").text
        assert "No alert rule is evaluated here" in browser.find_element(By.ID, "notice").text
        assert running.monitor.status().to_json()["notice"].startswith("No alert rule is evaluated")
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, "the page scrolls sideways on a phone"
        assert screenshot(browser, tmp_path, "status-page.png").stat().st_size > 10_000
