"""Probe several targets at once, each in its own daemon thread, within a deadline."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from services.monitor.state import ProbeResult, Target

log = logging.getLogger(__name__)

ProbeFn = Callable[[httpx.Client, Target, float], ProbeResult]


def probe_all(
    probe_fn: ProbeFn, client: httpx.Client, targets: list[Target], timeout: float, stopping: threading.Event
) -> dict[str, ProbeResult]:
    """Results by target name; a hung target neither delays the others nor shutdown (it is left out)."""
    results: dict[str, ProbeResult] = {}

    def run(target: Target) -> None:
        started = datetime.now(UTC)
        try:
            results[target.name] = probe_fn(client, target, timeout)
        except Exception as error:  # noqa: BLE001 - a probe bug is a failed probe, never a dead thread
            log.exception("probe raised", extra={"target": target.name})
            results[target.name] = ProbeResult(False, f"probe error: {type(error).__name__}", 0.0, started)

    threads = [threading.Thread(target=run, args=(t,), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout + 2
    for thread in threads:
        while thread.is_alive() and not stopping.is_set() and time.monotonic() < deadline:
            thread.join(0.1)
    return dict(results)
