"""Helpers for tests that run real servers: free ports, waiting with deadlines, clean shutdown."""

from __future__ import annotations

import csv
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port() -> int:
    """A port free now and outside the kernel's ephemeral range.

    A port the kernel hands out for bind(0) comes from the range outbound connections also use: the
    parallel lanes' clients can take it before the server (a subprocess, or Docker minutes later) binds it.
    Below that range only another explicit bind can, and the random choice makes two lanes unlikely to meet.
    """
    low = _ephemeral_start()
    candidates = list(range(max(1024, low - 12000), low))
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port below the ephemeral range (from {low})")


def wait_for_http(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None, status: int = 200) -> None:
    """Poll `url` until it answers `status`; fail early if the process died."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == status:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as error:
            last = repr(error)
        time.sleep(0.2)
    raise TimeoutError(f"{url} not answering {status} after {timeout} s ({last})")


def start_cli(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start `churnguard ARGS` as a real process with its output in a log file."""
    full_env = {**os.environ, **env}
    log = log_path.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", *args], cwd=REPO_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
    )


def stop(process: subprocess.Popen[bytes], timeout: float = 10) -> int:
    """SIGTERM, wait, then SIGKILL: never leave a server behind."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return int(process.returncode)


def run_weekly_list(url: str, output: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`churnguard weekly-list` over the whole shared data set, as the retention team runs it."""
    data = REPO_ROOT.parent / "shared" / "data" / "telco_customer_churn.csv"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "weekly-list",
            "--input",
            str(data),
            "--top",
            "100",
            "--output",
            str(output),
            "--url",
            url,
        ],
        cwd=REPO_ROOT,
        env={**env, "PREDICTOR_CONNECT_ATTEMPTS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def valid_customers() -> list[dict[str, Any]]:
    """The data set's customers that pass the schema, as records ready to send."""
    from services.common.customer import parse_csv_row
    from services.common.paths import SHARED_DATA_FILE
    from services.weekly_list.building import Rejected, check_row

    with SHARED_DATA_FILE.open(encoding="utf-8") as handle:
        rows = list(enumerate(csv.DictReader(handle), start=2))
    return [parse_csv_row(raw) for line, raw in rows if not isinstance(check_row(line, raw), Rejected)]


def shifted_week(customers: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """Real customers made new (tenure 1 to 3) and month-to-month: a week the model was not trained on."""
    return [
        {
            **c,
            "customerID": f"{prefix}-{i}",
            "tenure": 1 + i % 3,
            "Contract": "Month-to-month",
            "TotalCharges": c["MonthlyCharges"] * (1 + i % 3),
        }
        for i, c in enumerate(customers)
    ]


def serving_workers(pid: int) -> list[int]:
    """The worker processes of a `churnguard serve --workers N` (uvicorn spawns them), by pid."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]
