"""`churnguard weekly-list` against a live predictor and a dead one."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.common.paths import SHARED_DATA_FILE
from tests.conftest import PredictorProcess
from tests.support import REPO_ROOT, free_port

pytestmark = pytest.mark.slow


def weekly_list(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "weekly-list", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "PREDICTOR_BATCH_SIZE": "500", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def customers_csv(directory: Path, rows: int) -> Path:
    lines = SHARED_DATA_FILE.read_text(encoding="utf-8").splitlines()[: rows + 1]
    path = directory / "customers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_weekly_list_ranks_the_riskiest_customers(predictor_process: PredictorProcess, tmp_path: Path) -> None:
    predictor_process.start()
    output = tmp_path / "out" / "list.csv"
    result = weekly_list(
        "--input",
        str(customers_csv(tmp_path, 1200)),
        "--top",
        "50",
        "--output",
        str(output),
        "--url",
        predictor_process.url,
    )
    assert result.returncode == 0, result.stderr
    assert "scoring" in result.stderr  # the progress bar
    rows = list(csv.DictReader(output.open()))
    assert len(rows) == 50
    assert list(rows[0]) == ["rank", "customerID", "churn_probability", "model_version", "prediction_id"]
    probabilities = [float(r["churn_probability"]) for r in rows]
    assert probabilities == sorted(probabilities, reverse=True)
    assert [int(r["rank"]) for r in rows] == list(range(1, 51))
    assert len({r["prediction_id"] for r in rows}) == 50


def test_weekly_list_says_plainly_when_the_predictor_is_unreachable(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    output = tmp_path / "list.csv"
    result = weekly_list(
        "--input",
        str(customers_csv(tmp_path, 20)),
        "--top",
        "5",
        "--output",
        str(output),
        "--url",
        url,
        PREDICTOR_CONNECT_ATTEMPTS="2",
    )
    assert result.returncode == 3
    assert f"cannot reach the predictor at {url}" in result.stderr
    assert "failing since" in result.stderr and "what to do" in result.stderr
    assert "Traceback" not in result.stderr
    assert not output.exists()


def test_weekly_list_names_bad_rows_by_line(tmp_path: Path) -> None:
    path = customers_csv(tmp_path, 10)
    lines = path.read_text().splitlines()
    lines[4] = lines[4].replace(",Yes,", ",Perhaps,", 1)
    path.write_text("\n".join(lines) + "\n")
    result = weekly_list(
        "--input", str(path), "--top", "5", "--output", str(tmp_path / "l.csv"), "--url", "http://127.0.0.1:1"
    )
    assert result.returncode == 2
    assert "line 5" in result.stderr and "Traceback" not in result.stderr
