"""`churnguard serve` with several workers: each listens on a socket of its own (SO_REUSEPORT).

On one shared socket the first worker to wake took every waiting connection: keep-alive clients could
all land on one worker while the other idled (3 runs in 6 of the worker benchmark).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import PredictorProcess
from tests.predictor.conftest import record
from tests.support import REPO_ROOT, serving_workers

LISTEN = "0A"  # the TCP state in /proc/net/tcp


def listening_sockets(port: int) -> set[int]:
    """Inodes of the sockets listening on `port`, from the kernel's own table."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == LISTEN:
                inodes.add(int(fields[9]))
    return inodes


def sockets_of(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(int(target.removeprefix("socket:[").removesuffix("]")))
    return inodes


def listeners_by_process(supervisor: int, port: int) -> dict[int, set[int]]:
    listening = listening_sockets(port)
    return {pid: sockets_of(pid) & listening for pid in [supervisor, *serving_workers(supervisor)]}


def wait_for_own_listeners(supervisor: int, port: int, workers: int) -> dict[int, set[int]]:
    """Until each worker listens on exactly one socket, none shared, and the supervisor on none."""
    deadline = time.monotonic() + 60
    while True:
        found = listeners_by_process(supervisor, port)
        own = [inodes for pid, inodes in found.items() if pid != supervisor]
        if len(own) == workers and all(len(inodes) == 1 for inodes in own) and not found[supervisor]:
            if len(set.union(*own)) == workers:
                return found
        assert time.monotonic() < deadline, f"listening sockets by process: {found}"
        time.sleep(0.2)


def test_each_worker_listens_on_its_own_socket_a_replaced_worker_too_and_the_port_stays_ours(
    predictor_process: PredictorProcess,
) -> None:
    predictor_process.env["PREDICTOR_WORKERS"] = "2"
    predictor_process.start()
    assert predictor_process.process is not None
    supervisor, port = predictor_process.process.pid, predictor_process.port
    before = wait_for_own_listeners(supervisor, port, workers=2)

    killed = next(pid for pid in before if pid != supervisor)
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while killed in serving_workers(supervisor) or len(serving_workers(supervisor)) < 2:
        assert time.monotonic() < deadline, "the killed worker was not replaced"
        time.sleep(0.2)
    after = wait_for_own_listeners(supervisor, port, workers=2)
    assert killed not in after

    with httpx.Client(timeout=10) as http:  # fresh connections reach both workers, the new one included
        deadline = time.monotonic() + 60
        answers = []
        while len(answers) < 20:
            assert time.monotonic() < deadline, answers
            reply = http.post(f"{predictor_process.url}/predict", json=record(), headers={"connection": "close"})
            answers = [*answers, reply.status_code] if reply.status_code == 200 else []

    # SO_REUSEPORT would let a second server of the same user join this one: it must be refused instead.
    second = subprocess.run(
        [sys.executable, "-m", "services.cli", "serve", "--workers", "2"],
        cwd=REPO_ROOT,
        env={**os.environ, **predictor_process.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode != 0
    assert f"cannot serve on 127.0.0.1:{port}: Address already in use" in second.stderr
    assert listeners_by_process(supervisor, port) == after


def test_a_bad_setting_is_a_clear_startup_error_naming_the_variable() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "serve"],
        cwd=REPO_ROOT,
        env={**os.environ, "PREDICTOR_LOG_LEVEL": "verbose", "PREDICTOR_PORT": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "serve: invalid settings: PREDICTOR_PORT: Input should be greater than or equal to 1" in result.stderr
    assert "PREDICTOR_LOG_LEVEL: Input should be 'DEBUG'" in result.stderr  # every problem, in one go
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [
        (["rollback"], "CHURNGUARD_PROMOTION_AUC_TOLERANCE", "a lot"),
        (["shadow", "--stop"], "CHURNGUARD_PUSH_TIMEOUT_SECONDS", "-1"),
        (["weekly-list-job", "--once"], "WEEKLY_LIST_TOP", "many"),
    ],
)
def test_every_command_names_a_bad_setting_in_one_line(command: list[str], variable: str, value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", *command],
        cwd=REPO_ROOT,
        env={**os.environ, variable: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert f"{command[0]}: invalid settings: {variable}: " in result.stderr
    assert "Traceback" not in result.stderr
