"""The load balancer's start script and its certificate: a self-made one is long-lived and renewed before
the watchdog's `[CERTIFICATE_EXPIRATION] > 240h` check could fire; a mounted one is never touched.
Run with the real openssl; HAProxy itself is replaced by a stub that only says it was started."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

START = REPO_ROOT / "deploy" / "lb" / "start.sh"
DAY = 86400


def make_certificate(directory: Path, days: int, name: str = "lb") -> None:
    key, certificate = directory / "key", directory / "lb.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(days), "-subj", f"/CN={name}"]
        + ["-keyout", str(key), "-out", str(certificate)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    (directory / "lb.pem").write_bytes(certificate.read_bytes() + key.read_bytes())
    key.unlink()


def days_left(directory: Path) -> float:
    end = (
        subprocess.run(
            ["openssl", "x509", "-noout", "-enddate", "-in", str(directory / "lb.crt")],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .removeprefix("notAfter=")
    )
    return (time.mktime(time.strptime(end, "%b %d %H:%M:%S %Y %Z")) - time.time()) / DAY


def start(certs: Path, tmp_path: Path) -> None:
    stub = tmp_path / "bin"
    stub.mkdir(exist_ok=True)
    (stub / "haproxy").write_text("#!/bin/sh\necho started\n")
    (stub / "haproxy").chmod(0o755)
    env = {**os.environ, "CERTS_DIR": str(certs), "PATH": f"{stub}:{os.environ['PATH']}"}
    done = subprocess.run(["sh", str(START)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "started", done.stderr


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    directory = tmp_path / "certs"
    directory.mkdir()
    return directory


def test_a_first_start_makes_a_long_lived_certificate_and_a_trust_file(certs: Path, tmp_path: Path) -> None:
    start(certs, tmp_path)
    assert days_left(certs) > 820 and (certs / "self-made").exists()
    assert (certs / "lb.crt").read_bytes() in (certs / "trust.crt").read_bytes()


def test_a_self_made_certificate_near_its_end_is_renewed_at_start(certs: Path, tmp_path: Path) -> None:
    make_certificate(certs, days=20)
    (certs / "self-made").touch()
    start(certs, tmp_path)
    assert days_left(certs) > 820


def test_one_made_by_an_earlier_release_is_recognised_and_renewed(certs: Path, tmp_path: Path) -> None:
    make_certificate(certs, days=20)  # 30-day certificates, no marker: what stacks made before
    start(certs, tmp_path)
    assert days_left(certs) > 820 and (certs / "self-made").exists()


def test_a_mounted_certificate_is_never_replaced_the_watchdog_warns_instead(certs: Path, tmp_path: Path) -> None:
    make_certificate(certs, days=5, name="churn.example.com")
    before = (certs / "lb.pem").read_bytes()
    start(certs, tmp_path)
    assert (certs / "lb.pem").read_bytes() == before and not (certs / "self-made").exists()
    assert 4 < days_left(certs) < 5  # within 240h: deploy/monitor/scale-targets.yml's check fires
