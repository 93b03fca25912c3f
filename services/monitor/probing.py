"""Probe several targets at once, each in its own daemon thread, all judged by one deadline."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from services.monitor.probe import Progress, incomplete
from services.monitor.state import ProbeResult, Target

log = logging.getLogger(__name__)

ProbeFn = Callable[[httpx.Client, Target, float, Progress], ProbeResult]
THREAD_START_SLACK = 0.05  # seconds: a probe thread's start is not the target's fault


def probe_all(probe_fn: ProbeFn, client: httpx.Client, targets: list[Target], timeout: float) -> dict[str, ProbeResult]:
    """A result for every target, by name, within `timeout`: a probe still running then (a hung or dribbling
    target, a resolver that does not answer) is a failure saying how far it got. Nothing is left unjudged."""
    results: dict[str, ProbeResult] = {}
    progress = {t.name: Progress() for t in targets}
    started = datetime.now(UTC)

    def run(target: Target) -> None:
        try:
            results[target.name] = probe_fn(client, target, timeout, progress[target.name])
        except Exception as error:  # noqa: BLE001 - a probe bug is a failed probe, never a dead thread
            log.exception("probe raised", extra={"target": target.name})
            results[target.name] = ProbeResult(False, f"probe error: {type(error).__name__}", 0.0, started)

    threads = [threading.Thread(target=run, args=(t,), daemon=True, name=f"probe-{t.name}") for t in targets]
    clock = time.monotonic()
    for thread in threads:
        thread.start()
    deadline = clock + timeout + THREAD_START_SLACK
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    verdicts = dict(results)  # a late result, after the deadline, is not read
    for target in targets:
        if target.name not in verdicts:
            verdicts[target.name] = incomplete(timeout, progress[target.name], time.monotonic() - clock, started)
    return verdicts
