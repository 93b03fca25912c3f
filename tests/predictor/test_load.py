"""A short bounded load run against a real predictor process: no 5xx, nothing lost, memory bounded."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PredictorProcess
from tests.support import REPO_ROOT

pytestmark = pytest.mark.slow
RSS_GROWTH_LIMIT_MB = 60


def test_mixed_load_has_no_server_errors_loses_no_audit_record_and_bounded_memory(
    predictor_process: PredictorProcess, tmp_path: Path
) -> None:
    predictor_process.start()
    assert predictor_process.process is not None
    result = subprocess.run(
        [
            sys.executable,
            "bench/load.py",
            "--url",
            predictor_process.url,
            "--clients",
            "8",
            "--seconds",
            "6",
            "--pid",
            str(predictor_process.process.pid),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout)
    predictor_process.stop()  # SIGTERM flushes the audit log
    assert report["requests"] > 500
    assert report["server_errors"] == 0 and report["connection_errors"] == 0
    assert set(report["status_counts"]) <= {"200", "422"}  # JSON object keys are strings
    with sqlite3.connect(tmp_path / "audit.sqlite3") as connection:
        audited = connection.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]
    assert audited == report["predictions_served"]
    assert report["rss_after_mb"] - report["rss_before_mb"] < RSS_GROWTH_LIMIT_MB, report
    (REPO_ROOT / "var").mkdir(exist_ok=True)
    (REPO_ROOT / "var" / "load-report.json").write_text(json.dumps(report, indent=2))
