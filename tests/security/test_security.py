"""No secrets in what we ship, no API key in any log, dependencies audited where the service is reachable."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import PredictorProcess
from tests.predictor.conftest import VALID_RECORD
from tests.support import REPO_ROOT

SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (RSA |EC |OPENSSH |)PRIVATE KEY-----"),
    "AWS access key": re.compile(r"AKIA[0-9A-Z]{16}"),
    "Slack webhook": re.compile(r"hooks\.slack\.com/services/T[0-9A-Z]+/B[0-9A-Z]+/[0-9A-Za-z]{20,}"),
    "Slack token": re.compile(r"xox[baprs]-[0-9A-Za-z-]{10,}"),
    # A quoted value assigned to a password/secret/key name, except the placeholders examples use.
    "assigned password": re.compile(
        r"(?i)(password|secret|api_key)\w*\s*[:=]\s*['\"](?!replace-me|example|changeme)[^'\"\s]{8,}['\"]"
    ),
}


def build_context() -> list[Path]:
    """Files git tracks, minus what .dockerignore keeps out of image builds."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    ignored = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return [
        REPO_ROOT / f
        for f in tracked
        if not any(fnmatch.fnmatch(f, p) or f.startswith(p.rstrip("/") + "/") for p in ignored)
    ]


def find_secrets(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        for name, pattern in SECRET_PATTERNS.items():
            if pattern.search(text):
                found.append(f"{path}: {name}")
    return found


def test_no_secret_in_the_repository_or_the_image_build_context() -> None:
    files = build_context()
    assert any(p.name == "Dockerfile" for p in files)
    assert find_secrets(files) == []


def test_the_secret_scan_catches_a_planted_secret(tmp_path: Path) -> None:
    planted = tmp_path / "settings.py"
    planted.write_text('ALERT_SLACK = "https://hooks.slack.com/services/T0001/B0002/abcdefghijklmnopqrstuvwx"\n')
    assert find_secrets([planted]) == [f"{planted}: Slack webhook"]


@pytest.mark.slow
def test_api_keys_are_never_logged(predictor_process: PredictorProcess, tmp_path: Path) -> None:
    key = "very-secret-key-0123456789"
    predictor_process.env["PREDICTOR_API_KEYS"] = key
    predictor_process.start()
    for header in (f"Bearer {key}", "Bearer wrong-key-9876543210", key):
        httpx.post(f"{predictor_process.url}/predict", json=VALID_RECORD, headers={"Authorization": header}, timeout=10)
    httpx.post(
        f"{predictor_process.url}/predict", json={"bad": 1}, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    predictor_process.stop()
    log = (tmp_path / "predictor.log").read_text()
    assert key not in log and "wrong-key-9876543210" not in log
    assert "Application shutdown complete" in log


def test_pinned_dependencies_have_no_unlisted_known_vulnerabilities() -> None:
    """pip-audit over the pins; justified exceptions live in security/pip-audit-allowlist.txt."""
    allowed = {
        line.split()[0]
        for line in (REPO_ROOT / "security" / "pip-audit-allowlist.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    command = [str(REPO_ROOT / ".venv" / "bin" / "pip-audit"), "-r", "constraints.txt", "--no-deps", "--disable-pip"]
    result = subprocess.run(
        [*command, "--progress-spinner", "off", "--format", "json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    dependencies = json.loads(result.stdout)["dependencies"]
    audited = [d for d in dependencies if "skip_reason" not in d]
    if not audited:
        pytest.skip(
            f"nothing could be audited here (vulnerability service unreachable): {dependencies[0]['skip_reason']}"
        )
    findings = [
        f"{d['name']} {d['version']}: {v['id']}" for d in audited for v in d.get("vulns", []) if v["id"] not in allowed
    ]
    assert findings == [], "known vulnerabilities not listed in security/pip-audit-allowlist.txt"
