"""The real stacks under docker-compose, on a Docker engine the tests start (scripts/docker-engine.sh).

Shared by the container drill (the one-machine stack) and the scale drill (deploy/compose/scale.yml).
They run in CI (CI=true) or with CHURNGUARD_CONTAINER_DRILL=1; when the engine cannot start here they
are reported as skipped with the reason, never as passed.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support import REPO_ROOT, free_port

ENABLED = os.environ.get("CI") == "true" or os.environ.get("CHURNGUARD_CONTAINER_DRILL") == "1"
ENGINE_DIR = Path("/tmp/churnguard-docker")  # kept between runs on one machine: cached layers
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
            logs = self._run(("logs", "--tail=40"), 60).stdout
            raise AssertionError(f"docker-compose {' '.join(args)} failed:\n{result.stderr[-3000:]}\n{logs[-6000:]}")
        return result

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


def _engine(action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "scripts/docker-engine.sh", action, str(ENGINE_DIR)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


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
    base = _engine("base")
    if base.returncode != 0:
        _engine("stop")
        pytest.skip(f"local base image could not be built (debootstrap): {base.stderr.strip()[-800:]}")
    env = {
        **os.environ,
        "DOCKER_HOST": f"unix://{ENGINE_DIR}/docker.sock",
        "COMPOSE_HTTP_TIMEOUT": "300",
        "BASE_IMAGE": "churnguard-base:bookworm",
        "PROMETHEUS_BASE_IMAGE": "churnguard-base:bookworm",
        "INFRA_BASE_IMAGE": "churnguard-base:bookworm",
        "CHURNGUARD_DATA_DIR": str(REPO_ROOT.parent / "shared" / "data"),
        **{name: str(free_port()) for name in ports},
        **settings,
    }
    compose = Compose(project, files, env)
    compose("down", "-v", "-t", "3", check=False, timeout=120)  # a fresh start: no state from an earlier run
    try:
        compose("up", "-d", "--build")
        yield compose
    finally:
        compose("down", "-v", "-t", "3", check=False, timeout=120)
        _engine("stop")


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
