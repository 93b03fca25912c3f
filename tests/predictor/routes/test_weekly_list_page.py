"""The retention team's page in a real headless Chromium: a real upload, a real download (CSV and XLSX),
skipped rows and the model version on screen; the key asked for as HTTP Basic when keys are set."""

from __future__ import annotations

import base64
import csv
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from services.common.paths import SHARED_DATA_FILE
from tests.browser import LAPTOP, chromium, screenshot
from tests.conftest import PredictorProcess
from tests.predictor.conftest import AppFactory
from tests.receivers import eventually
from tests.tools import needs_tool

pytestmark = pytest.mark.slow


def export_with_a_bad_row(directory: Path, rows: int) -> Path:
    lines = SHARED_DATA_FILE.read_text(encoding="utf-8").splitlines()[: rows + 1]
    cells = lines[3].split(",")
    cells[5] = "-3"  # tenure on line 4
    lines[3] = ",".join(cells)
    path = directory / "export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")  # as Excel saves "CSV UTF-8"
    return path


@needs_tool("chromium", "chromedriver")
def test_upload_an_export_and_download_the_list_as_csv_and_xlsx(
    predictor_process: PredictorProcess, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    predictor_process.start()
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    export = export_with_a_bad_row(tmp_path, 400)
    with chromium(LAPTOP, downloads) as browser:
        browser.get(f"{predictor_process.url}/weekly-list")
        browser.find_element(By.ID, "export").send_keys(str(export))
        browser.find_element(By.ID, "top").clear()
        browser.find_element(By.ID, "top").send_keys("50")
        browser.find_element(By.ID, "make").click()
        eventually(lambda: browser.find_elements(By.ID, "summary"), 30)
        summary = browser.find_element(By.ID, "summary").text
        assert "50 customers to call, of 399 scored" in summary
        version = browser.find_element(By.ID, "model-version").text
        assert version.isdigit()
        skipped = browser.find_element(By.ID, "skipped").text
        assert "tenure" in skipped and "4" in skipped
        assert "month-to-month contract" in browser.find_element(By.ID, "top").text
        screenshot(browser, tmp_path, "weekly-list-page.png")
        browser.find_element(By.ID, "download").click()
        eventually(lambda: list(downloads.glob("*.csv")), 20)
        [listed] = downloads.glob("churnguard-weekly-list.csv")
        rows = list(csv.DictReader(listed.open(encoding="utf-8")))
        assert len(rows) == 50 and {r["model_version"] for r in rows} == {version}

        browser.get(f"{predictor_process.url}/weekly-list")
        browser.find_element(By.ID, "export").send_keys(str(export))
        Select(browser.find_element(By.ID, "format")).select_by_value("xlsx")
        browser.find_element(By.ID, "make").click()
        eventually(lambda: browser.find_elements(By.ID, "download"), 30)
        browser.find_element(By.ID, "download").click()
        eventually(lambda: list(downloads.glob("*.xlsx")), 20)
    [workbook] = downloads.glob("*.xlsx")
    sheet = list(load_workbook(workbook, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert sheet[0][:2] == ("rank", "customerID") and len(sheet) == 1 + 399  # the default top (500) > customers


def test_the_page_asks_for_the_key_as_http_basic(predictor_process: PredictorProcess, tmp_path: Path) -> None:
    predictor_process.env["PREDICTOR_API_KEYS"] = "page-key"
    predictor_process.start()
    url = f"{predictor_process.url}/weekly-list"
    refused = httpx.get(url)
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
    basic = base64.b64encode(b"retention:page-key").decode()
    assert httpx.get(url, headers={"Authorization": f"Basic {basic}"}).status_code == 200
    assert httpx.get(url, headers={"Authorization": "Bearer page-key"}).status_code == 200
    wrong = base64.b64encode(b"retention:nope").decode()
    assert httpx.get(url, headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    export = export_with_a_bad_row(tmp_path, 30)
    made = httpx.post(
        url,
        headers={"Authorization": f"Basic {basic}"},
        files={"export": ("export.csv", export.read_bytes())},
        data={"top": "5", "format": "csv"},
        timeout=60,
    )
    assert made.status_code == 200 and "5</strong> customers to call" in made.text
    link = made.text.split('id="download" href="')[1].split('"')[0]
    assert httpx.get(f"{predictor_process.url}{link}").status_code == 401
    assert httpx.get(f"{predictor_process.url}{link}", headers={"Authorization": f"Basic {basic}"}).status_code == 200


def test_only_the_page_takes_a_large_upload(start_app: AppFactory, tmp_path: Path) -> None:
    """The page's limit is its own: an export far above PREDICTOR_MAX_BODY_BYTES is taken there, not elsewhere."""
    client = start_app(max_body_bytes=4096, weekly_list_max_upload_bytes=8 * 1024 * 1024)
    export = export_with_a_bad_row(tmp_path, 600)  # ~80 KB
    assert export.stat().st_size > 16 * 4096
    made = client.post(
        "/weekly-list", files={"export": ("export.csv", export.read_bytes())}, data={"top": "10", "format": "csv"}
    )
    assert made.status_code == 200 and "599 scored" in made.text
    big = client.post(
        "/predict/batch", content=b"{" + b" " * 200_000 + b"}", headers={"content-type": "application/json"}
    )
    assert big.status_code == 413
