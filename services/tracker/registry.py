"""The promotion gate and rollback: the only code that moves the `champion` alias."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from services.common.model_bundle import ModelBundle, ModelRejected, download_version, load_bundle
from services.common.registry_names import APPROVAL_TAG, APPROVALS_SINCE_TAG, CHAMPION_SINCE_TAG, is_approved
from services.tracker.gate import GateReport, NotComparable, below_floor, compare
from services.tracker.settings import TrackerSettings

AUC_METRIC = "test_roc_auc"
log = logging.getLogger(__name__)


class PromotionRefused(RuntimeError):
    """The gate said no; the message names the rule. Nothing was changed."""

    def __init__(self, message: str, report: GateReport | None = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class AliasMove:
    """A completed move of the champion alias (with the gate's comparison, when there was one)."""

    version: str
    previous: str | None
    report: GateReport | None = None


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


def gate(
    client: MlflowClient, settings: TrackerSettings, candidate: ModelVersion
) -> tuple[list[str], GateReport | None]:
    """Every gate rule the candidate breaks (empty: it may be promoted), and the comparison made."""
    with tempfile.TemporaryDirectory() as scratch:
        candidate_bundle, failures = checked_bundle(client, settings, candidate, Path(scratch) / "candidate")
        if candidate_bundle is None:
            return failures, None
        champion = current_champion(client, settings)
        if champion is None or champion.version == candidate.version:
            auc = client.get_run(str(candidate.run_id)).data.metrics.get(AUC_METRIC)
            if auc is None:
                return [f"{AUC_METRIC} missing on the candidate's run"], None
            return below_floor(auc, "on its test split", settings), None
        champion_bundle, champion_failures = checked_bundle(client, settings, champion, Path(scratch) / "champion")
        if champion_bundle is None:
            return [f"champion version {champion.version} unusable for comparison: {champion_failures[0]}"], None
        try:
            report = compare(client, settings, candidate, candidate_bundle, champion, champion_bundle)
        except NotComparable as error:
            return [str(error)], None
        return report.failures, report


def checked_bundle(
    client: MlflowClient, settings: TrackerSettings, version: ModelVersion, directory: Path
) -> tuple[ModelBundle | None, list[str]]:
    """A fresh download that loads, matches the customer schema and reproduces its canary."""
    try:
        path = download_version(client, settings.registered_model_name, version.version, directory)
        return load_bundle(path, settings.registered_model_name, version.version, str(version.run_id)), []
    except ModelRejected as error:
        return None, [str(error)]
    except (OSError, MlflowException) as error:
        return None, [f"artifacts unavailable: {error}"]


def promote(settings: TrackerSettings, version: str, reason: str) -> AliasMove:
    """Move `champion` to `version` if the gate passes; record reason, previous version and time."""
    if not reason.strip():
        raise PromotionRefused("a promotion needs a --reason")
    client = registry_client(settings)
    try:
        candidate = client.get_model_version(settings.registered_model_name, version)
    except MlflowException as error:
        raise PromotionRefused(f"{settings.registered_model_name} version {version} not found") from error
    failures, report = gate(client, settings, candidate)
    if failures:
        raise PromotionRefused("; ".join(failures), report)
    move = _move_alias(client, settings, version, {"promotion_reason": reason})
    return AliasMove(move.version, move.previous, report)


def rollback(settings: TrackerSettings) -> AliasMove:
    """Make the champion's predecessor (recorded at its promotion) the champion again. From a champion that
    no decision approved (an alias moved by hand), back to the last version that was an approved champion."""
    client = registry_client(settings)
    champion = current_champion(client, settings)
    if champion is None:
        raise PromotionRefused("no champion to roll back from")
    if not is_approved(champion.tags):
        last = last_approved_champion(client, settings)
        if last is None:
            raise PromotionRefused(
                f"champion version {champion.version} was never approved and no version ever was an approved champion"
            )
        return _move_alias(client, settings, last, {"rollback_from": champion.version})
    previous = champion.tags.get("previous_champion")
    if not previous:
        raise PromotionRefused(f"champion version {champion.version} has no previous champion recorded")
    return _move_alias(client, settings, previous, {"rollback_from": champion.version})


def last_approved_champion(client: MlflowClient, settings: TrackerSettings) -> str | None:
    """The approved version that most recently became champion by decision (its champion_since)."""
    name = settings.registered_model_name
    approved = [
        version
        for version in client.search_model_versions(f"name = '{name}'")
        if is_approved(version.tags) and version.tags.get(CHAMPION_SINCE_TAG)
    ]
    if not approved:
        return None
    return str(max(approved, key=lambda v: (v.tags[CHAMPION_SINCE_TAG], int(v.version))).version)


def _move_alias(client: MlflowClient, settings: TrackerSettings, version: str, tags: dict[str, str]) -> AliasMove:
    name = settings.registered_model_name
    champion = current_champion(client, settings)
    previous = None if champion is None else champion.version
    # Keep the predecessor a rollback should return to: for a rollback, the target's own record. An alias
    # moved by hand to an unapproved version is no predecessor: a rollback must never serve it.
    approved = champion is not None and is_approved(champion.tags)
    if "rollback_from" not in tags and previous is not None and previous != version and approved:
        client.set_model_version_tag(name, version, "previous_champion", previous)
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    approval = {APPROVAL_TAG: "true"}  # gated (or a former champion): predictors may serve it
    for key, value in {**tags, **approval, CHAMPION_SINCE_TAG: now, "moved_from": previous or ""}.items():
        client.set_model_version_tag(name, version, key, value)
    _mark_approvals(client, name, now)
    client.set_registered_model_alias(name, settings.champion_alias, version)
    return AliasMove(version=version, previous=previous)


def _mark_approvals(client: MlflowClient, name: str, now: str) -> None:
    """From now on, this registry's approvals come from decisions only (the upgrade below never runs again)."""
    if APPROVALS_SINCE_TAG not in client.get_registered_model(name).tags:
        client.set_registered_model_tag(name, APPROVALS_SINCE_TAG, now)


def upgrade_registry(settings: TrackerSettings) -> str | None:
    """Once, for a registry made before approvals existed (no version approved, no marker): its champion
    passed the gate of its day, so it is approved and the marker set. Any other registry is left as it is:
    a champion moved there by hand stays unapproved whatever restarts. Returns the champion version."""
    client = registry_client(settings)
    champion = current_champion(client, settings)
    if champion is None:
        return None
    name = settings.registered_model_name
    if APPROVALS_SINCE_TAG in client.get_registered_model(name).tags:
        return str(champion.version)
    if not any(is_approved(version.tags) for version in client.search_model_versions(f"name = '{name}'")):
        client.set_model_version_tag(name, champion.version, APPROVAL_TAG, "true")
        client.set_model_version_tag(name, champion.version, CHAMPION_SINCE_TAG, datetime.now(UTC).isoformat())
        log.info("registry upgraded: its champion approved", extra={"version": champion.version})
    _mark_approvals(client, name, datetime.now(UTC).isoformat(timespec="microseconds"))
    return str(champion.version)
