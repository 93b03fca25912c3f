"""The real stacks under docker-compose, on a Docker engine the tests start (scripts/docker-engine.sh).

Shared by the container drill (the one-machine stack) and the scale drill (deploy/compose/scale.yml).
They run in CI (CI=true) or with CHURNGUARD_CONTAINER_DRILL=1; when the engine cannot start here they
are reported as skipped with the reason, never as passed. Once the engine runs, nothing skips: a base image or a
build that fails is a failure naming its step, with its log's tail.

Time: a cold machine (no /tmp/churnguard-docker) first builds a Debian base with debootstrap and then every
image. That is the fixture's work, outside each drill test's own timeout (`DRILL_TIMEOUT`, func_only), and
bounded by budgets of its own: `BASE_BUDGET_SECONDS` and `BUILD_BUDGET_SECONDS`.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

from tests.support import REPO_ROOT, free_port

ENABLED = os.environ.get("CI") == "true" or os.environ.get("CHURNGUARD_CONTAINER_DRILL") == "1"
ENGINE_DIR = Path("/tmp/churnguard-docker")  # kept between runs on one machine: cached layers
BASE_BUDGET_SECONDS = 1200  # debootstrap of the Debian base (cold: measured in the README)
BUILD_BUDGET_SECONDS = 2400  # every image of a stack from a cold layer cache
STEP_TIMINGS = ENGINE_DIR / "step-timings.log"  # one line per step, for the README's measured times
# A drill test's own bound: the stack is already built and up when it starts (the fixture's budgets above).
DRILL_TIMEOUT = pytest.mark.timeout(300, func_only=True)
PORTS = (
    "TRACKER_PORT",
    "PREDICTOR_PORT",
    "MONITOR_PORT",
    "PROMETHEUS_PORT",
    "ALERTMANAGER_PORT",
    "MAILCATCHER_WEB_PORT",
)


class Compose:
    """docker-compose for one project (name, files, environment), with the logs in every failure."""

    def __init__(self, project: str, files: list[str], env: dict[str, str]) -> None:
        self.project = project
        self.files = [arg for name in files for arg in ("-f", name)]
        self.env = env

    def __call__(self, *args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = self._run(args, timeout)
        if check and result.returncode != 0:
            self.fail(args, result)
        return result

    def fail(self, args: tuple[str, ...], result: subprocess.CompletedProcess[str]) -> NoReturn:
        """Raise with the command's error output and the stack's logs."""
        logs = self._run(("logs", "--tail=40"), 60).stdout
        raise AssertionError(f"docker-compose {' '.join(args)} failed:\n{result.stderr[-3000:]}\n{logs[-6000:]}")

    def _run(self, args: tuple[str, ...], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker-compose", "-p", self.project, *self.files, *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def url(self, name: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.env[name]}"

    def logs(self, *services: str) -> str:
        return self("logs", "--tail=60", *services, check=False, timeout=60).stdout


def _engine(action: str, budget: float = 900) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["bash", "scripts/docker-engine.sh", action, str(ENGINE_DIR)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=budget,
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess([action], 124, "", f"over its budget of {budget:.0f} s\n{_tail(action)}")


def _tail(action: str, lines: int = 30) -> str:
    """The last lines of a step's log (docker-engine.sh writes debootstrap.log and dockerd.log)."""
    log = ENGINE_DIR / {"base": "debootstrap.log", "start": "dockerd.log"}.get(action, f"{action}.log")
    if not log.exists():
        return f"(no {log})"
    return f"last lines of {log}:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _timed(step: str, started: float) -> None:
    with STEP_TIMINGS.open("a") as out:
        out.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {step} {time.monotonic() - started:.0f}s\n")


def _build(compose: Compose, project: str) -> None:
    """Build every image of the stack within its own budget; a failure names the step and shows the log's tail."""
    log = ENGINE_DIR / f"build-{project}.log"
    started = time.monotonic()
    try:
        with log.open("w") as out:
            done = subprocess.run(
                ["docker-compose", "-p", project, *compose.files, "build"],
                cwd=REPO_ROOT,
                env=compose.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=BUILD_BUDGET_SECONDS,
            )
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"step 'docker-compose build' ({project}) over its budget of {BUILD_BUDGET_SECONDS} s\n"
            + _tail(f"build-{project}"),
            pytrace=False,
        )
    if done.returncode != 0:
        pytest.fail(
            f"step 'docker-compose build' ({project}) failed with exit {done.returncode}\n"
            + _tail(f"build-{project}", 60),
            pytrace=False,
        )
    _timed(f"build:{project}", started)


@contextmanager
def running_stack(
    project: str, files: list[str], settings: dict[str, str], ports: tuple[str, ...]
) -> Iterator[Compose]:
    """Start the engine, build every image here (FROM the local Debian base) and bring the stack up fresh;
    take it down, volumes included, and stop the engine afterwards."""
    if not ENABLED:
        pytest.skip("container drills run in CI (CI=true) or with CHURNGUARD_CONTAINER_DRILL=1")
    started = _engine("start")
    if started.returncode != 0:
        pytest.skip(f"Docker engine could not start here: {started.stderr.strip()[-800:]}")
    clock = time.monotonic()
    base = _engine("base", BASE_BUDGET_SECONDS)
    if base.returncode != 0:
        _engine("stop")
        pytest.fail(
            f"step 'base image' (debootstrap) failed: {base.stderr.strip()[-800:]}\n{_tail('base')}", pytrace=False
        )
    _timed("base", clock)
    env = {
        **os.environ,
        "DOCKER_HOST": f"unix://{ENGINE_DIR}/docker.sock",
        "COMPOSE_HTTP_TIMEOUT": "300",
        "BASE_IMAGE": "churnguard-base:bookworm",
        "PROMETHEUS_BASE_IMAGE": "churnguard-base:bookworm",
        "INFRA_BASE_IMAGE": "churnguard-base:bookworm",
        "CHURNGUARD_DATA_DIR": str(REPO_ROOT.parent / "shared" / "data"),
        **settings,
    }
    compose = Compose(project, files, env)
    compose("down", "-v", "-t", "3", check=False, timeout=120)  # a fresh start: no state from an earlier run
    try:
        _build(compose, project)
        clock = time.monotonic()
        _up_on_free_ports(compose, ports)
        _timed(f"up:{project}", clock)
        yield compose
    finally:
        compose("down", "-v", "-t", "3", check=False, timeout=120)
        _engine("stop")


def _up_on_free_ports(compose: Compose, ports: tuple[str, ...] | list[str], attempts: int = 3) -> None:
    """`up -d` on host ports chosen just before it; a port taken meanwhile by another lane means new ports."""
    for attempt in range(1, attempts + 1):
        compose.env.update({name: str(free_port()) for name in ports})
        result = compose("up", "-d", check=False)
        if result.returncode == 0:
            return
        if "address already in use" not in result.stderr or attempt == attempts:
            compose.fail(("up", "-d"), result)
        compose("down", "-t", "3", check=False, timeout=120)


def mail_and_hooks(compose: Compose) -> tuple[list[str], list[str]]:
    """What the mail catcher received: email subjects and Slack texts."""
    base = compose.url("MAILCATCHER_WEB_PORT")
    emails = [m["subject"] for m in httpx.get(f"{base}/messages", timeout=5).json()]
    hooks = [str(w["payload"].get("text")) for w in httpx.get(f"{base}/webhooks", timeout=5).json()]
    return emails, hooks


def text(url: str) -> str:
    try:
        return httpx.get(url, timeout=2).text
    except httpx.HTTPError:
        return ""


def answers_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
