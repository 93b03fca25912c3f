"""`churnguard tracker` runs MLflow's server lean: no job runner, no Huey consumers (churnguard submits no
MLflow jobs), whoever starts it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support import free_port, start_cli, stop, wait_for_http

pytestmark = pytest.mark.slow

SETTLE_SECONDS = 15  # MLflow forks its job runner and consumers right after start; give them time to show


def process_tree(pid: int) -> list[int]:
    """`pid` and every descendant, from /proc."""
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        for task in Path(f"/proc/{current}/task").iterdir():
            pending.extend(int(child) for child in (task / "children").read_text().split())
    return tree


def rss_bytes(pid: int) -> int:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) * 1024


def test_the_tracker_is_two_processes_under_700_mb_with_no_job_runner(tmp_path: Path) -> None:
    port = free_port()
    # An environment that does not mention MLFLOW_SERVER_ENABLE_JOB_EXECUTION: the tracker sets it itself.
    process = start_cli(
        ["tracker", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(tmp_path)],
        env={},
        log_path=tmp_path / "tracker.log",
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", timeout=90, process=process)
        time.sleep(SETTLE_SECONDS)
        tree = process_tree(process.pid)
        commands = [Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode() for pid in tree]
        total = sum(rss_bytes(pid) for pid in tree)
        assert not [c for c in commands if "huey" in c or "job" in c.lower()], commands
        assert len(tree) <= 2, commands
        assert total < 700 * 2**20, f"{total / 2**20:.0f} MB in {len(tree)} processes"
    finally:
        stop(process)
