"""Where a run's code and environment came from: git commit, dirty flag, interpreter and packages."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata

from services.common.paths import REPO_ROOT

KEY_PACKAGES = ("scikit-learn", "pandas", "numpy", "mlflow-skinny", "pydantic", "skops")


def _git(*args: str) -> str | None:
    try:
        result = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip()


def code_version() -> dict[str, str]:
    """Git commit and whether the tree had uncommitted changes ('unknown' outside a checkout)."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "git_commit": commit or "unknown",
        "git_dirty": "unknown" if status is None else str(bool(status)).lower(),
    }


def environment() -> dict[str, str]:
    """Python and key package versions as installed, not as pinned."""
    versions = {"python_version": platform.python_version()}
    for package in KEY_PACKAGES:
        try:
            versions[f"version.{package}"] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[f"version.{package}"] = "absent"
    return versions
