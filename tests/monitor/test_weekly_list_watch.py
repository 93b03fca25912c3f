"""The list waits for the team: the scheduled job archives it and pings its push check; a missed or failed
run alerts; with the predictor stopped, the status page still offers the last list, to admins only."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from services.common.paths import SHARED_DATA_FILE
from tests.conftest import PredictorProcess
from tests.monitor.conftest import PUSH_TOKEN, MonitorFactory
from tests.receivers import MailBox, Webhook, eventually
from tests.support import REPO_ROOT

pytestmark = pytest.mark.slow
TOKEN = "lists-admin-token-for-this-test"


def job(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "weekly-list-job", "--once"],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_job_archives_pings_and_alerts_on_a_missed_or_failed_run(
    start_monitor: MonitorFactory,
    predictor_process: PredictorProcess,
    mailbox: MailBox,
    webhook: Webhook,
    tmp_path: Path,
) -> None:
    archive = tmp_path / "weekly-lists"
    export = tmp_path / "customers.csv"
    export.write_text("\n".join(SHARED_DATA_FILE.read_text(encoding="utf-8").splitlines()[:301]) + "\n")
    running = start_monitor(
        monitor_push_checks=["weekly-list=4s+2s"], monitor_lists_dir=archive, monitor_admin_token=TOKEN
    )
    predictor_process.start()
    env = {
        "PREDICTOR_URL": predictor_process.url,
        "WEEKLY_LIST_INPUT": str(export),
        "WEEKLY_LIST_TOP": "25",
        "WEEKLY_LIST_ARCHIVE_DIR": str(archive),
        "WEEKLY_LIST_PING_URL": f"{running.url}/ping/weekly-list",
        "WEEKLY_LIST_PUSH_TOKEN": PUSH_TOKEN,
    }
    done = job(env)
    assert done.returncode == 0, done.stderr
    [facts_file] = archive.glob("*-W*.json")
    facts = json.loads(facts_file.read_text())
    assert facts["customers_listed"] == 25 and facts["customers_scored"] == 300 and facts["model_version"]
    assert (archive / facts["file"]).is_file() and facts["file"] == f"{facts['iso_week']}.csv"
    assert running.monitor.states["weekly-list"].last_success is not None

    # The next run does not come: the push check's deadline alerts, once.
    eventually(lambda: any("DOWN weekly-list: no ping within 4s+2s" in s for s in mailbox.subjects()), 15)
    done = job(env)
    eventually(lambda: any("RECOVERED weekly-list" in s for s in mailbox.subjects()), 10)

    # A run that fails (the predictor is stopped) says so at once, with its reason.
    predictor_process.stop()
    failed = job({**env, "PREDICTOR_CONNECT_ATTEMPTS": "1"})
    assert failed.returncode == 1 and "cannot reach the predictor" in failed.stderr
    eventually(
        lambda: any("the job reported a failure: cannot reach the predictor" in s for s in mailbox.subjects()), 10
    )
    eventually(lambda: len([t for t in webhook.texts() if "DOWN weekly-list" in t]) == 2, 10)  # Slack: its own pace

    # The predictor is down: the status page still shows and serves last week's list, to admins only.
    status = httpx.get(f"{running.url}/status").json()
    assert status["weekly_list"]["model_version"] == facts["model_version"]
    page = httpx.get(f"{running.url}/").text
    assert facts["iso_week"] in page and "25 customers listed" in page and 'href="/lists/latest"' in page
    refused = httpx.get(f"{running.url}/lists/latest")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
    assert "customerID" not in refused.text
    basic = base64.b64encode(f"retention:{TOKEN}".encode()).decode()
    download = httpx.get(f"{running.url}/lists/latest", headers={"Authorization": f"Basic {basic}"})
    assert download.status_code == 200 and download.text.startswith("rank,customerID,churn_probability")
    assert "attachment" in download.headers["content-disposition"]
    bearer = httpx.get(f"{running.url}/lists/latest", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.content == download.content
    wrong = base64.b64encode(b"retention:not-the-token").decode()
    assert httpx.get(f"{running.url}/lists/latest", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
