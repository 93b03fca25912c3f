"""The background task that keeps a model loaded: first load, retries while none, polling the alias."""

from __future__ import annotations

import asyncio
import gc
import logging
import os

from services.predictor.model.store import ModelStore
from services.predictor.settings import PredictorSettings
from services.predictor.shadow.challenger import ChallengerStore

log = logging.getLogger(__name__)


async def keep_model_fresh(store: ModelStore, challenger: ChallengerStore, settings: PredictorSettings) -> None:
    """First load, then: retry while there is no model; poll the alias when configured (the challenger's
    alias with it, once the champion serves). Never dies."""
    # The MLflow client reads these itself; otherwise it retries a dead tracker for minutes.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(settings.tracker_timeout_seconds))
    delay = 0.0
    while True:
        await asyncio.sleep(delay)
        try:
            if store.current is None:
                await asyncio.to_thread(store.load_initial)
                if store.current is not None:
                    # Move the long-lived heap (sklearn, pandas, the model) out of the collector's
                    # reach: full collections would otherwise rescan it under load (p99 spikes).
                    gc.freeze()
                    await asyncio.to_thread(challenger.reload)
            elif settings.poll_seconds > 0:
                await asyncio.to_thread(store.reload)
                await asyncio.to_thread(challenger.reload)
        except Exception:  # noqa: BLE001 - a dead keeper would silently stop retries and polling
            log.exception("model keeper iteration failed; retrying")
        delay = settings.retry_seconds if store.current is None or settings.poll_seconds <= 0 else settings.poll_seconds
