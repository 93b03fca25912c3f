"""Resolve MODEL_URI to a concrete version, keep a local copy, and swap models atomically.

Only one model is ever "current"; a candidate is fully loaded and its canary checked before the
single-reference swap, so a bad candidate never replaces a good model.
"""

from __future__ import annotations

import fcntl
import gc
import json
import logging
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from services.common.model_bundle import load_bundle
from services.common.registry_names import APPROVAL_TAG
from services.predictor.model.prepare_version import describe_error, prepare_in_child
from services.predictor.model.registry_lookup import NothingDesignated, Target, last_approved_champion, resolve
from services.predictor.model.registry_status import RegistryStatus
from services.predictor.scoring.scorers.linear import SIDECAR_NAME
from services.predictor.scoring.served_model import ServedModel, Source
from services.predictor.settings import PredictorSettings
from services.predictor.telemetry.metrics import PredictorMetrics

log = logging.getLogger(__name__)

DEFAULT_MODEL_URI = "models:/churn-model@champion"
MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>\d+))$")


class ReloadOutcome(StrEnum):
    """What one reload did; the HTTP status `/admin/reload` answers with it."""

    SWAPPED = "swapped"
    UNCHANGED = "unchanged"
    REFUSED = "refused"  # the candidate failed its checks; the old model keeps serving
    FAILED = "failed"  # the registry could not be asked

    @property
    def http_status(self) -> int:
        return {"swapped": 200, "unchanged": 200, "refused": 409, "failed": 503}[self.value]


@dataclass(frozen=True)
class ReloadResult:
    outcome: ReloadOutcome
    detail: str
    version: str | None


class ModelStore:
    """Holds the current model; loads from the registry, falls back to the local cache."""

    def __init__(self, settings: PredictorSettings, metrics: PredictorMetrics) -> None:
        match = MODEL_URI.match(settings.model_uri)
        if match is None:
            raise ValueError(
                f"MODEL_URI must be models:/NAME@ALIAS or models:/NAME/VERSION, got {settings.model_uri!r}"
            )
        self.name = match["name"]
        self.alias = match["alias"]
        self.pinned_version = match["version"]
        self.settings = settings
        self.metrics = metrics
        self.current: ServedModel | None = None
        self.last_error: str | None = None
        self.last_reload: dict[str, str] | None = None
        self.registry = RegistryStatus.not_checked(settings.model_uri)
        self._lock = threading.Lock()

    @property
    def cache_root(self) -> Path:
        return self.settings.cache_dir / self.name

    def load_initial(self) -> bool:
        """Cached last good model first (ready in seconds, even with the tracker down), then the registry."""
        if self.current is None and (self.cache_root / "current.json").exists():
            try:
                self._swap(self._from_cache())
            except Exception as error:  # noqa: BLE001 - a bad cache must not stop the registry attempt
                log.error("cached model unusable", extra={"reason": describe_error(error)})
        self.reload()
        if self.current is None:
            log.error("no model could be loaded", extra={"reason": self.last_error})
        return self.current is not None

    def reload(self) -> ReloadResult:
        """Resolve the URI; load and check a new version beside the old one; swap only if it passes."""
        with self._lock:
            result = self._reload_locked()
        self.metrics.reloads.labels(result.outcome).inc()
        self.last_reload = {"outcome": result.outcome.value, "detail": result.detail, "at": _now().isoformat()}
        log.info("model reload", extra={"outcome": result.outcome.value, "detail": result.detail})
        return result

    def _reload_locked(self) -> ReloadResult:
        result = self._follow_registry()
        served = None if self.current is None else self.current.bundle.version
        if result.outcome is ReloadOutcome.FAILED:  # unreachable: compare with the last target we knew
            target = self.registry.target_version
            self._report(target, served is not None and served == target, False, result.detail)
        else:
            self._report(result.version, served is not None and served == result.version, True, result.detail)
        return result

    def _follow_registry(self) -> ReloadResult:
        try:
            target = self._resolve()
        except NothingDesignated as error:
            self.last_error = f"{self.settings.model_uri} designates no version: {error}"
            return ReloadResult(ReloadOutcome.REFUSED, self.last_error, None)
        except Exception as error:  # noqa: BLE001 - tracker unreachable or URI unknown: keep serving
            self.last_error = f"cannot resolve {self.settings.model_uri}: {describe_error(error)}"
            if self.current is None and not (self.cache_root / "current.json").exists():
                self.last_error += "; no cached model either"
            return ReloadResult(ReloadOutcome.FAILED, self.last_error, None)
        version = target.version
        if self.settings.require_approval and not target.approved:
            self.last_error = (
                f"version {version} refused: not approved ({APPROVAL_TAG} is not true); "
                "only `churnguard promote` or `churnguard rollback` designate a servable version"
            )
            if self.current is None:  # nothing served yet: the last approved champion rather than nothing
                return self._serve_last_approved(version)
            return ReloadResult(ReloadOutcome.REFUSED, self.last_error, version)
        current = self.current
        if current is not None and current.bundle.version == version:
            return ReloadResult(
                ReloadOutcome.UNCHANGED, f"version {version} already served (from the {current.source})", version
            )
        try:
            candidate = self._fetch(version, target.run_id)
        except Exception as error:  # noqa: BLE001 - a bad candidate is refused whatever went wrong
            self.last_error = f"version {version} refused: {describe_error(error)}"
            return ReloadResult(ReloadOutcome.REFUSED, self.last_error, version)
        self._swap(candidate)
        return ReloadResult(ReloadOutcome.SWAPPED, f"now serving version {version}", version)

    def _serve_last_approved(self, designated: str) -> ReloadResult:
        """REFUSED either way (the designated version is not served, and the registry block says so)."""
        refusal = self.last_error or ""
        try:
            fallback = last_approved_champion(
                self.settings.mlflow_tracking_uri, self.name, self.settings.tracker_timeout_seconds
            )
            if fallback is None:
                return ReloadResult(
                    ReloadOutcome.REFUSED, f"{refusal}; no version was ever an approved champion", designated
                )
            self._swap(self._fetch(fallback.version, fallback.run_id))
        except Exception as error:  # noqa: BLE001 - the refusal stands; the next retry tries again
            return ReloadResult(
                ReloadOutcome.REFUSED, f"{refusal}; last approved champion: {describe_error(error)}", designated
            )
        detail = f"{refusal}; serving the last approved champion, version {fallback.version}"
        return ReloadResult(ReloadOutcome.REFUSED, detail, designated)

    def _resolve(self) -> Target:
        timeout = self.settings.tracker_timeout_seconds
        return resolve(self.settings.mlflow_tracking_uri, self.name, self.alias, self.pinned_version, timeout)

    def _report(self, target: str | None, matches: bool, reachable: bool, detail: str) -> None:
        """Keep /model's registry block and the two gauges equal to what was just learned."""
        if matches:
            detail = f"serving version {target}, the one {self.settings.model_uri} designates"
        elif reachable and target is not None and self.current is not None:
            detail = f"serving version {self.current.bundle.version}, not the designated {target}: {detail}"
        self.registry = RegistryStatus(self.settings.model_uri, target, matches, reachable, _now(), detail)
        self.metrics.registry_reachable.set(1 if reachable else 0)
        self.metrics.model_matches_registry.set(1 if matches else 0)

    def _fetch(self, version: str, run_id: str) -> ServedModel:
        """Download and check in a child process (MLflow's client and sklearn stay out of this worker),
        move it into the cache, load it here and check again; drop it if refused.

        The workers of one server share the cache and start together: one fetches at a time, and a
        worker that finds the version just fetched by another loads that copy. Without the lock the
        second rename failed ("Directory not empty") and that worker served nothing."""
        started = time.perf_counter()
        with cache_lock(self.cache_root):
            if self._pointer_names(version, run_id):
                try:
                    return self._from_cache()
                except Exception as error:  # noqa: BLE001 - an unusable copy is fetched again
                    log.warning("cached copy unusable, fetching again", extra={"reason": describe_error(error)})
            target = self.cache_root / version
            staging = self.cache_root / f".staging-{uuid.uuid4().hex}"
            try:
                tracking_uri, timeout = self.settings.mlflow_tracking_uri, self.settings.prepare_timeout_seconds
                relative = prepare_in_child(tracking_uri, self.name, version, run_id, staging, timeout)
                if target.exists():
                    shutil.rmtree(target)
                staging.rename(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            try:
                served = self._load(target / relative, version, run_id, "registry", started)
            except Exception:
                shutil.rmtree(target, ignore_errors=True)
                raise
            pointer = {
                "name": self.name,
                "version": version,
                "run_id": run_id,
                "path": str(relative),
                "model_uri": self.settings.model_uri,
            }
            _write_atomically(self.cache_root / "current.json", json.dumps(pointer))
            return served

    def _pointer_names(self, version: str, run_id: str) -> bool:
        """The cache's pointer designates this very version, for this MODEL_URI."""
        try:
            pointer = json.loads((self.cache_root / "current.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        wanted = (version, run_id, self.settings.model_uri)
        return (pointer.get("version"), pointer.get("run_id"), pointer.get("model_uri")) == wanted

    def _from_cache(self) -> ServedModel:
        started = time.perf_counter()
        pointer = json.loads((self.cache_root / "current.json").read_text(encoding="utf-8"))
        # Pointers written before the cache was keyed by URI were made for the default champion alias.
        made_for = pointer.get("model_uri", DEFAULT_MODEL_URI)
        if made_for != self.settings.model_uri:
            raise ValueError(f"the cached model was made for {made_for}, not {self.settings.model_uri}")
        directory = self.cache_root / pointer["version"] / pointer["path"]
        return self._load(directory, pointer["version"], pointer["run_id"], "cache", started)

    def _load(self, directory: Path, version: str, run_id: str, source: Source, started: float) -> ServedModel:
        """Load a version's folder and check it on the scorer it will serve with. A linear model whose
        scorer is kept beside it serves without loading the pipeline (no sklearn in this process)."""
        kept = (directory / SIDECAR_NAME).is_file()
        bundle = load_bundle(directory, self.name, version, run_id, check_pipeline=not kept)
        return ServedModel.build(bundle, source, _now(), time.perf_counter() - started)

    def _swap(self, model: ServedModel) -> None:
        self.current = model
        # Move the long-lived heap (libraries, model) out of the collector's sight: otherwise every
        # large batch pays for full collections that walk hundreds of thousands of static objects.
        gc.collect()
        gc.freeze()
        self.last_error = None
        bundle = model.bundle
        self.metrics.set_model(bundle.name, bundle.version, bundle.run_id, model.load_seconds)
        log.info(
            "serving model",
            extra={
                "model_name": model.bundle.name,
                "model_version": model.bundle.version,
                "run_id": model.bundle.run_id,
                "source": model.source,
                "scorer": model.scorer.name,
            },
        )


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def cache_lock(cache_root: Path) -> Iterator[None]:
    """An exclusive lock on the cache, between the processes (workers) that share it."""
    cache_root.mkdir(parents=True, exist_ok=True)
    with (cache_root / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_suffix(".tmp")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
