"""`churnguard drift-report`: an HTML report of a shifted week against the training data, worst feature first,
logged on the version's MLflow run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from selenium.webdriver.common.by import By

from services.tracker.experiment import ExperimentOutcome
from tests.browser import LAPTOP, chromium, screenshot
from tests.conftest import Tracker
from tests.predictor.conftest import AppFactory
from tests.support import REPO_ROOT, shifted_week, valid_customers
from tests.tools import needs_tool

pytestmark = pytest.mark.slow


@needs_tool("chromium", "chromedriver")
def test_a_shifted_week_is_reported_and_logged_on_the_run(
    start_app: AppFactory, tracker: Tracker, champion: ExperimentOutcome, tmp_path: Path
) -> None:
    audit = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    client = start_app(audit_url=audit, audit_durable=True)
    week = shifted_week(valid_customers()[:600], "W")
    assert client.post("/predict/batch", json={"customers": week}).status_code == 200
    output = tmp_path / "reports" / "drift.html"
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "drift-report", "--output", str(output), "--audit-url", audit],
        cwd=REPO_ROOT,
        env={**os.environ, "MLFLOW_TRACKING_URI": tracker.url},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert f"drift report for version {champion.version} (600 recent records)" in done.stdout
    html = output.read_text(encoding="utf-8")
    table = html.split("<tbody>")[1].split("</tbody>")[0]
    psi = {cells[0]: float(cells[1]) for cells in (row.split("</td><td>")[:2] for row in table.split("<tr><td>")[1:])}
    assert max(psi, key=psi.__getitem__) in {"tenure", "Contract", "TotalCharges"}
    assert psi["tenure"] > 0.2 and psi["Contract"] > 0.2 and psi["gender"] < 0.1
    assert html.count("<img") == 1 + len(psi)
    logged = MlflowClient(tracker.url).list_artifacts(champion.run_id, "drift-reports")
    assert [a.path for a in logged] == ["drift-reports/drift.html"]
    with chromium(LAPTOP) as browser:  # the report renders, charts included (the README's picture)
        browser.get(output.as_uri())
        assert all(img.size["width"] > 100 for img in browser.find_elements(By.TAG_NAME, "img"))
        screenshot(browser, tmp_path, "drift-report.png")
