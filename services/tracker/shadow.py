"""`churnguard shadow`: point the `challenger` alias at a version the predictors also score every record
with (never answering with it), and read back what it would have done (GET /model/shadow) for `promote`."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from services.common.registry_names import CHALLENGER_ALIAS, SHADOW_REASON_TAG, SHADOW_SINCE_TAG
from services.tracker.registry import checked_bundle, current_champion, registry_client
from services.tracker.settings import TrackerSettings

EVIDENCE_ARTIFACT = "shadow/evidence-v{version}.json"


class ShadowRefused(RuntimeError):
    """The version cannot be the challenger; the message says why. Nothing was changed."""


@dataclass(frozen=True)
class Evidence:
    """What a predictor's shadow lane reported for a challenger (or why none could be read)."""

    source: str  # the predictor asked
    report: dict[str, Any] | None
    problem: str | None = None

    def lines(self) -> list[str]:
        if self.report is None:
            return [f"shadow: no evidence from the predictors: {self.problem}"]
        r = self.report
        model, champion = r.get("model") or {}, r.get("champion") or {}
        rows = [
            f"shadow: version {model.get('version')} beside champion version {champion.get('version')} on "
            f"{r['paired']} answered customers ({r['dropped']} dropped), from {self.source}",
        ]
        if r["paired"]:
            rows.append(
                f"  mean |difference| {r['mean_abs_difference']:.4f}  score PSI {r['score_psi']:.4f}  "
                f"top-10% overlap {r['top_overlap']:.3f}"
            )
        realized = r.get("realized")
        if realized is not None:
            for name in ("roc_auc", "precision_at_top"):
                d = realized["difference"][name]
                interval = "n/a" if d["low"] is None else f"[{d['low']:+.4f}, {d['high']:+.4f}]"
                rows.append(
                    f"  {name:17} challenger {realized['challenger'][name]:.4f}  champion "
                    f"{realized['champion'][name]:.4f}  ({d['estimate']:+.4f}, 95% {interval})"
                )
        rows.append(f"  verdict on {r['outcomes']} outcomes (minimum {r.get('min_outcomes')}): {r['verdict']}")
        return rows


def current_challenger(client: MlflowClient, settings: TrackerSettings) -> str | None:
    try:
        return str(client.get_model_version_by_alias(settings.registered_model_name, CHALLENGER_ALIAS).version)
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def start_shadow(settings: TrackerSettings, version: str, reason: str) -> str | None:
    """Make `version` the challenger if it loads and reproduces its canary; the previous challenger or None.
    It needs no gate: it never answers anyone."""
    if not reason.strip():
        raise ShadowRefused("a shadow needs a --reason")
    client = registry_client(settings)
    name = settings.registered_model_name
    try:
        candidate = client.get_model_version(name, version)
    except MlflowException as error:
        raise ShadowRefused(f"{name} version {version} not found") from error
    champion = current_champion(client, settings)
    if champion is not None and str(champion.version) == version:
        raise ShadowRefused(f"version {version} is the champion: a challenger must be another version")
    with tempfile.TemporaryDirectory() as scratch:
        bundle, failures = checked_bundle(client, settings, candidate, Path(scratch) / "challenger")
        if bundle is None:
            raise ShadowRefused(f"version {version} cannot be the challenger: {failures[0]}")
        if not bundle.profile.numeric and not bundle.profile.categorical:
            raise ShadowRefused(f"version {version} has no training profile: its inputs could not be checked")
    previous = current_challenger(client, settings)
    client.set_model_version_tag(name, version, SHADOW_REASON_TAG, reason)
    client.set_model_version_tag(name, version, SHADOW_SINCE_TAG, datetime.now(UTC).isoformat(timespec="seconds"))
    client.set_registered_model_alias(name, CHALLENGER_ALIAS, version)
    return previous


def stop_shadow(settings: TrackerSettings) -> str | None:
    """Remove the challenger alias; the version it designated, or None when there was none."""
    client = registry_client(settings)
    version = current_challenger(client, settings)
    if version is not None:
        client.delete_registered_model_alias(settings.registered_model_name, CHALLENGER_ALIAS)
    return version


def read_evidence(settings: TrackerSettings, version: str) -> Evidence:
    """The first predictor's GET /model/shadow that reports on `version` (they all read the same log)."""
    headers = {} if settings.api_key is None else {"Authorization": f"Bearer {settings.api_key.get_secret_value()}"}
    problems = []
    with httpx.Client(timeout=settings.push_timeout_seconds, headers=headers) as http:
        for url in settings.predictor_urls:
            try:
                answer = http.get(f"{url}/model/shadow")
                body = answer.json()
            except (httpx.HTTPError, ValueError) as error:
                problems.append(f"{url}: {type(error).__name__}: {error}")
                continue
            if answer.status_code != 200:
                problems.append(f"{url}: HTTP {answer.status_code}: {str(body)[:200]}")
            elif str((body.get("model") or {}).get("version")) != version:
                problems.append(f"{url}: its challenger is {(body.get('model') or {}).get('version')}, not {version}")
            else:
                return Evidence(url, body)
    return Evidence("", None, "; ".join(problems) or "no CHURNGUARD_PREDICTOR_URLS")


def log_evidence(settings: TrackerSettings, version: str, evidence: Evidence) -> None:
    """Beside the gate's report on the candidate's run: what it did on live traffic before the decision."""
    client = registry_client(settings)
    run_id = str(client.get_model_version(settings.registered_model_name, version).run_id)
    payload = {"source": evidence.source, "report": evidence.report, "problem": evidence.problem}
    client.log_dict(run_id, payload, EVIDENCE_ARTIFACT.format(version=version))
