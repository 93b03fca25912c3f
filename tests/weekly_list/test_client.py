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
    assert list(rows[0]) == [
        "rank",
        "customerID",
        "churn_probability",
        "model_version",
        "prediction_id",
        "warnings",
        "reasons",
    ]
    assert all(r["reasons"] for r in rows)  # the riskiest customers: each has factors raising the risk
    assert len({r["model_version"] for r in rows}) == 1 and "model version" in result.stdout
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


def test_a_bad_row_is_skipped_and_listed_and_strict_refuses_the_list(
    predictor_process: PredictorProcess, tmp_path: Path
) -> None:
    predictor_process.start()
    path = customers_csv(tmp_path, 30)
    lines = path.read_text().splitlines()
    lines[4] = lines[4].replace(",Yes,", ",Perhaps,", 1)  # line 5 of the file
    lines[9] = ",".join(["-3" if i == 5 else cell for i, cell in enumerate(lines[9].split(","))])  # tenure -3
    path.write_text("\n".join(lines) + "\n")
    output = tmp_path / "week.csv"
    result = weekly_list("--input", str(path), "--top", "10", "--output", str(output), "--url", predictor_process.url)
    assert result.returncode == 0, result.stderr
    assert len(list(csv.DictReader(output.open()))) == 10
    rejected = list(csv.DictReader((tmp_path / "week.rejected.csv").open()))
    assert [r["line"] for r in rejected] == ["5", "10"] and rejected[1]["field"] == "tenure"
    assert rejected[1]["rule"] == "greater_than_equal" and "skipped 2 invalid rows" in result.stdout

    strict_output = tmp_path / "strict.csv"
    strict = weekly_list(
        "--input", str(path), "--top", "10", "--output", str(strict_output), "--url", predictor_process.url, "--strict"
    )
    assert strict.returncode == 1 and f"line 5: {rejected[0]['field']}" in strict.stderr
    assert not strict_output.exists() and "Traceback" not in strict.stderr


def test_excel_exports_csv_with_a_byte_order_mark_and_xlsx_in_and_out(
    predictor_process: PredictorProcess, tmp_path: Path
) -> None:
    from openpyxl import Workbook, load_workbook

    predictor_process.start()
    source = customers_csv(tmp_path, 40)
    with_bom = tmp_path / "excel.csv"
    with_bom.write_text(source.read_text(encoding="utf-8"), encoding="utf-8-sig")  # Excel's "CSV UTF-8"
    assert with_bom.read_bytes().startswith(b"\xef\xbb\xbf")
    from_bom = weekly_list(
        "--input", str(with_bom), "--top", "5", "--output", str(tmp_path / "a.csv"), "--url", predictor_process.url
    )
    assert from_bom.returncode == 0, from_bom.stderr
    assert not (tmp_path / "a.rejected.csv").exists()

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in csv.reader(source.open(encoding="utf-8")):
        sheet.append(
            [float(c) if c.replace(".", "", 1).isdigit() and "." in c else (int(c) if c.isdigit() else c) for c in row]
        )
    xlsx = tmp_path / "export.xlsx"
    workbook.save(xlsx)
    output = tmp_path / "week.xlsx"
    from_xlsx = weekly_list("--input", str(xlsx), "--top", "5", "--output", str(output), "--url", predictor_process.url)
    assert from_xlsx.returncode == 0, from_xlsx.stderr
    rows = list(load_workbook(output, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("rank", "customerID", "churn_probability") and len(rows) == 6
    bom_rows = list(csv.DictReader((tmp_path / "a.csv").open()))
    assert [r[1] for r in rows[1:]] == [r["customerID"] for r in bom_rows]  # same customers, same order


def test_a_hundred_thousand_customers_give_a_list(predictor_process: PredictorProcess, tmp_path: Path) -> None:
    predictor_process.start()
    source = SHARED_DATA_FILE.read_text(encoding="utf-8").splitlines()
    header, body = source[0], source[1:]
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(header + "\n")
        for n in range(100_000):
            row = body[n % len(body)]
            handle.write(f"BIG-{n:06d}{row[row.index(',') :]}\n")
    output = tmp_path / "big-list.csv"
    result = weekly_list(
        "--input",
        str(path),
        "--top",
        "500",
        "--output",
        str(output),
        "--url",
        predictor_process.url,
        PREDICTOR_BATCH_SIZE="5000",
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 500 of 100000 customers" in result.stdout
