"""Debian tools the tests run (Prometheus, promtool, Alertmanager, amtool, Chromium, PostgreSQL).

A test that needs one says so with `needs_tool(...)` (tests using the `postgres_cluster` fixture are marked
for `initdb` automatically). A missing tool is a failure in CI and for root, who can install it
(scripts/system-packages.sh does): such a test never skips there. Only a developer outside CI and without
root sees it skipped. `pytest --collect-only -q --missing-tools` lists exactly which tests would skip or
fail on this machine (scripts/system-packages.sh prints it when it cannot install).
"""

from __future__ import annotations

import glob
import os
import shutil

import pytest

# binary -> the Debian package that provides it
PACKAGES = {
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "amtool": "prometheus-alertmanager",
    "chromium": "chromium",
    "chromedriver": "chromium-driver",
    "initdb": "postgresql",
}


def needs_tool(*binaries: str) -> pytest.MarkDecorator:
    """Mark a test that runs these binaries (each a key of PACKAGES)."""
    unknown = [b for b in binaries if b not in PACKAGES]
    assert not unknown, f"unknown tools {unknown}: add them to PACKAGES and scripts/system-packages.sh"
    return pytest.mark.needs_tool(*binaries)


def installed(binary: str) -> bool:
    if binary == "initdb":  # Debian keeps PostgreSQL's server binaries off PATH
        return bool(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return shutil.which(binary) is not None


def must_have_tools() -> bool:
    """In CI or as root a missing tool is a defect of the setup, not a reason to skip."""
    return os.environ.get("CI") == "true" or os.geteuid() == 0


def verdict(item: pytest.Item) -> tuple[str, list[str]] | None:
    """('fail' or 'skip', the missing binaries) for a test whose tools are missing; None when it can run."""
    wanted = [b for mark in item.iter_markers("needs_tool") for b in mark.args]
    missing = sorted({b for b in wanted if not installed(b)})
    if not missing:
        return None
    return ("fail" if must_have_tools() else "skip"), missing


def message(missing: list[str]) -> str:
    packages = " ".join(sorted({PACKAGES[b] for b in missing}))
    return f"missing {', '.join(missing)}: scripts/system-packages.sh installs Debian's {packages} (as root)"
