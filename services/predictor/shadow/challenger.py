"""Follow the registry's `challenger` alias: load the version it designates beside the champion, or none.

A challenger needs no approval (it never answers anyone), but it must load and reproduce its canary on the
scorer it will run with, exactly as a champion must; one that cannot is reported, never half-used.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from services.common.model_bundle import load_bundle
from services.common.registry_names import CHALLENGER_ALIAS
from services.predictor.model.prepare_version import describe_error, prepare_in_child
from services.predictor.model.registry_lookup import NothingDesignated, resolve
from services.predictor.model.store import cache_lock
from services.predictor.scoring.scorers.linear import SIDECAR_NAME
from services.predictor.scoring.served_model import ServedModel
from services.predictor.settings import PredictorSettings

log = logging.getLogger(__name__)
PREPARED = "prepared.json"  # written last in a version's folder: the copy is complete


@dataclass(frozen=True)
class ChallengerState:
    """What /model/shadow and /admin/reload say about the challenger."""

    designated: str | None  # the version the alias points at, when the registry last answered
    error: str | None  # why the designated version is not being scored (refused, registry unreachable)
    checked_at: str | None


class ChallengerStore:
    """The challenger model of this worker (None when the alias is absent); swapped atomically."""

    def __init__(self, settings: PredictorSettings, name: str) -> None:
        self.settings = settings
        self.name = name
        self.current: ServedModel | None = None
        self.state = ChallengerState(None, None, None)
        self._lock = threading.Lock()

    @property
    def cache_root(self) -> Path:
        return self.settings.cache_dir / self.name / CHALLENGER_ALIAS

    def reload(self) -> ChallengerState:
        """Ask the registry which version is the challenger; load it if new, drop it if the alias is gone."""
        with self._lock:
            self.state = self._follow()
        return self.state

    def _follow(self) -> ChallengerState:
        s = self.settings
        now = datetime.now(UTC).isoformat()
        try:
            target = resolve(s.mlflow_tracking_uri, self.name, CHALLENGER_ALIAS, None, s.tracker_timeout_seconds)
        except NothingDesignated:
            if self.current is not None:
                log.info("shadow lane stopped", extra={"model_version": self.current.bundle.version})
            self.current = None
            return ChallengerState(None, None, now)
        except Exception as error:  # noqa: BLE001 - the registry unreachable: keep what we have
            return ChallengerState(self.state.designated, f"registry: {describe_error(error)}", now)
        if self.current is not None and self.current.bundle.version == target.version:
            return ChallengerState(target.version, None, now)
        try:
            model = self._fetch(target.version, target.run_id)
        except Exception as error:  # noqa: BLE001 - a bad challenger is reported, and scores nothing
            self.current = None
            reason = f"version {target.version} refused: {describe_error(error)}"
            log.error("challenger refused", extra={"model_version": target.version, "reason": reason})
            return ChallengerState(target.version, reason, now)
        self.current = model
        log.info("shadow lane scoring", extra={"model_version": target.version, "scorer": model.scorer.name})
        return ChallengerState(target.version, None, now)

    def _fetch(self, version: str, run_id: str) -> ServedModel:
        """Download and check in a child process once per server (the workers share the folder), then
        load here and check the canary on this worker's scorer."""
        started = time.perf_counter()
        folder = self.cache_root / version
        with cache_lock(self.cache_root):
            prepared = folder / PREPARED
            if not prepared.is_file():
                staging = self.cache_root / f".staging-{uuid.uuid4().hex}"
                try:
                    s = self.settings
                    relative = prepare_in_child(
                        s.mlflow_tracking_uri, self.name, version, run_id, staging, s.prepare_timeout_seconds
                    )
                    shutil.rmtree(folder, ignore_errors=True)
                    staging.rename(folder)
                finally:
                    shutil.rmtree(staging, ignore_errors=True)
                prepared.write_text(json.dumps({"path": str(relative), "run_id": run_id}), encoding="utf-8")
            directory = folder / json.loads(prepared.read_text(encoding="utf-8"))["path"]
        kept = (directory / SIDECAR_NAME).is_file()
        bundle = load_bundle(directory, self.name, version, run_id, check_pipeline=not kept)
        return ServedModel.build(bundle, "registry", datetime.now(UTC), time.perf_counter() - started)
