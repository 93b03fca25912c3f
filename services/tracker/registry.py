"""The promotion gate and rollback: the only code that moves the `champion` alias."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from services.common.model_bundle import ModelRejected, download_version, load_bundle
from services.common.registry_names import APPROVAL_TAG
from services.tracker.settings import TrackerSettings

AUC_METRIC = "test_roc_auc"


class PromotionRefused(RuntimeError):
    """The gate said no; the message names the rule. Nothing was changed."""


@dataclass(frozen=True)
class AliasMove:
    """A completed move of the champion alias."""

    version: str
    previous: str | None


def registry_client(settings: TrackerSettings) -> MlflowClient:
    return MlflowClient(tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_tracking_uri)


def current_champion(client: MlflowClient, settings: TrackerSettings) -> ModelVersion | None:
    """The version the alias points at, or None when no champion exists yet."""
    try:
        return client.get_model_version_by_alias(settings.registered_model_name, settings.champion_alias)
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def gate_failures(client: MlflowClient, settings: TrackerSettings, candidate: ModelVersion) -> list[str]:
    """Every gate rule the candidate breaks (empty: it may be promoted)."""
    failures: list[str] = []
    failures.extend(_artifact_failures(client, settings, candidate))
    champion = current_champion(client, settings)
    if champion is None or champion.version == candidate.version:
        return failures
    candidate_run = client.get_run(str(candidate.run_id))
    champion_run = client.get_run(str(champion.run_id))
    for tag in ("data_sha256", "split_fingerprint"):
        if candidate_run.data.tags.get(tag) != champion_run.data.tags.get(tag):
            failures.append(f"not comparable: {tag} differs from champion version {champion.version}")
    candidate_auc = candidate_run.data.metrics.get(AUC_METRIC)
    champion_auc = champion_run.data.metrics.get(AUC_METRIC)
    if candidate_auc is None or champion_auc is None:
        failures.append(f"{AUC_METRIC} missing on candidate or champion run")
    elif candidate_auc < champion_auc - settings.promotion_auc_tolerance:
        failures.append(
            f"{AUC_METRIC} {candidate_auc:.4f} is worse than champion version {champion.version}'s "
            f"{champion_auc:.4f} by more than the tolerance {settings.promotion_auc_tolerance}"
        )
    return failures


def _artifact_failures(client: MlflowClient, settings: TrackerSettings, candidate: ModelVersion) -> list[str]:
    """Signature equals the customer schema and the canary reproduces, on a fresh download."""
    with tempfile.TemporaryDirectory() as scratch:
        try:
            path = download_version(client, settings.registered_model_name, candidate.version, Path(scratch) / "m")
            load_bundle(path, settings.registered_model_name, candidate.version, str(candidate.run_id))
        except ModelRejected as error:
            return [str(error)]
        except (OSError, MlflowException) as error:
            return [f"artifacts unavailable: {error}"]
    return []


def promote(settings: TrackerSettings, version: str, reason: str) -> AliasMove:
    """Move `champion` to `version` if the gate passes; record reason, previous version and time."""
    if not reason.strip():
        raise PromotionRefused("a promotion needs a --reason")
    client = registry_client(settings)
    try:
        candidate = client.get_model_version(settings.registered_model_name, version)
    except MlflowException as error:
        raise PromotionRefused(f"{settings.registered_model_name} version {version} not found") from error
    failures = gate_failures(client, settings, candidate)
    if failures:
        raise PromotionRefused("; ".join(failures))
    return _move_alias(client, settings, version, {"promotion_reason": reason})


def rollback(settings: TrackerSettings) -> AliasMove:
    """Make the champion's predecessor (recorded at its promotion) the champion again."""
    client = registry_client(settings)
    champion = current_champion(client, settings)
    if champion is None:
        raise PromotionRefused("no champion to roll back from")
    previous = champion.tags.get("previous_champion")
    if not previous:
        raise PromotionRefused(f"champion version {champion.version} has no previous champion recorded")
    return _move_alias(client, settings, previous, {"rollback_from": champion.version})


def _move_alias(client: MlflowClient, settings: TrackerSettings, version: str, tags: dict[str, str]) -> AliasMove:
    name = settings.registered_model_name
    champion = current_champion(client, settings)
    previous = None if champion is None else champion.version
    # Keep the predecessor a rollback should return to: for a rollback, the target's own record.
    if "rollback_from" not in tags and previous is not None and previous != version:
        client.set_model_version_tag(name, version, "previous_champion", previous)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    approval = {APPROVAL_TAG: "true"}  # gated (or a former champion): predictors may serve it
    for key, value in {**tags, **approval, "champion_since": now, "moved_from": previous or ""}.items():
        client.set_model_version_tag(name, version, key, value)
    client.set_registered_model_alias(name, settings.champion_alias, version)
    return AliasMove(version=version, previous=previous)


def approve_current_champion(settings: TrackerSettings) -> str | None:
    """The upgrade step: a champion chosen before approvals existed passed the gate of its day; mark it."""
    client = registry_client(settings)
    champion = current_champion(client, settings)
    if champion is None:
        return None
    if str(champion.tags.get(APPROVAL_TAG, "")).lower() != "true":
        client.set_model_version_tag(settings.registered_model_name, champion.version, APPROVAL_TAG, "true")
    return str(champion.version)
