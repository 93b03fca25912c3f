"""A real headless browser for page tests: Debian's Chromium driven by its chromedriver through selenium."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

PHONE = (390, 844)
LAPTOP = (1280, 900)


@contextmanager
def chromium(size: tuple[int, int] = LAPTOP, downloads: Path | None = None) -> Iterator[webdriver.Chrome]:
    """Fails (never skips) when Chromium is missing: scripts/system-packages.sh installs it."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert binary and driver, "chromium and chromium-driver are missing: run scripts/system-packages.sh"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={size[0]},{size[1]}")
    if downloads is not None:
        options.add_experimental_option("prefs", {"download.default_directory": str(downloads)})
    browser = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    if downloads is not None:  # headless Chromium downloads only when told where
        browser.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    try:
        yield browser
    finally:
        browser.quit()


def screenshot(browser: webdriver.Chrome, directory: Path, name: str) -> Path:
    """Save the whole page; also into $CHURNGUARD_SCREENSHOTS when set (how the README's pictures are made)."""
    height = int(browser.execute_script("return document.documentElement.scrollHeight"))
    width = int(browser.execute_script("return window.innerWidth"))
    browser.set_window_size(width, max(height + 120, 400))
    path = directory / name
    browser.save_screenshot(str(path))
    published = os.environ.get("CHURNGUARD_SCREENSHOTS")
    if published:
        Path(published).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(published) / name)
    return path
