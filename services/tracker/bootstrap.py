"""First start: when the registry has no champion, train the baseline and promote it through the gate."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx

from services.tracker.config import load_config
from services.tracker.experiment import run_experiment
from services.tracker.registry import promote, upgrade_registry
from services.tracker.settings import TrackerSettings

log = logging.getLogger(__name__)


def wait_for_tracker(settings: TrackerSettings, timeout_seconds: float) -> None:
    """Block until the tracking server's /health answers, or fail loudly after the timeout."""
    deadline = time.monotonic() + timeout_seconds
    url = settings.mlflow_tracking_uri.rstrip("/") + "/health"
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"tracking server {url} not healthy after {timeout_seconds:.0f} s")
        time.sleep(0.5)


def bootstrap(settings: TrackerSettings, config_path: Path, timeout_seconds: float = 120) -> str:
    """Return the champion version, training and promoting the baseline first if there is none."""
    wait_for_tracker(settings, timeout_seconds)
    champion = upgrade_registry(settings)  # approves nothing, except once in a registry older than approvals
    if champion is not None:
        log.info("champion already set", extra={"version": champion})
        return champion
    outcome = run_experiment(load_config(config_path), settings, config_path)
    promote(settings, outcome.version, reason=f"bootstrap: first model from {config_path.name}")
    log.info("bootstrapped champion", extra={"version": outcome.version, "run_id": outcome.run_id})
    return outcome.version
