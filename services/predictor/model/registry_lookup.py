"""Which version MODEL_URI designates, asked of the MLflow REST API with httpx.

The predictor asks every PREDICTOR_POLL_SECONDS in every worker; importing the MLflow client for
one GET costs ~100 MB and ~0.8 s per worker, so the client is imported only to download a new version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from services.common.registry_names import CHAMPION_SINCE_TAG, is_approved

# What the registry answers when the alias or version does not exist (as MlflowException error codes).
NOT_DESIGNATED = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


class NothingDesignated(RuntimeError):
    """MODEL_URI resolves to no version (alias or version missing) although the registry answered."""


class RegistryError(RuntimeError):
    """The registry did not answer usefully (unreachable, an error page, a server error)."""


@dataclass(frozen=True)
class Target:
    """The version MODEL_URI designates now."""

    version: str
    run_id: str
    approved: bool


def resolve(tracking_uri: str, name: str, alias: str | None, version: str | None, timeout: float) -> Target:
    """GET the alias (or the pinned version) from the registry; NothingDesignated if it has none."""
    base = f"{tracking_uri.rstrip('/')}/api/2.0/mlflow"
    if alias is not None:
        url, params = f"{base}/registered-models/alias", {"name": name, "alias": alias}
    else:
        url, params = f"{base}/model-versions/get", {"name": name, "version": str(version)}
    try:
        response = httpx.get(url, params=params, timeout=timeout)
    except httpx.HTTPError as error:
        raise RegistryError(f"{type(error).__name__}: {error or 'no answer'} ({tracking_uri})") from error
    body = _json(response)
    if response.status_code != 200:
        code = body.get("error_code", "")
        message = f"{code or f'HTTP {response.status_code}'}: {body.get('message', response.text[:200])}"
        if code in NOT_DESIGNATED:
            raise NothingDesignated(message)
        raise RegistryError(message)
    found = body.get("model_version") or {}
    return Target(str(found["version"]), str(found.get("run_id", "")), is_approved(_tags(found)))


def last_approved_champion(tracking_uri: str, name: str, timeout: float) -> Target | None:
    """The approved version that most recently became champion by decision (`promote` or `rollback`):
    what a predictor with nothing loaded serves while the alias designates an unapproved version."""
    url = f"{tracking_uri.rstrip('/')}/api/2.0/mlflow/model-versions/search"
    try:
        response = httpx.get(url, params={"filter": f"name = '{name}'", "max_results": 1000}, timeout=timeout)
    except httpx.HTTPError as error:
        raise RegistryError(f"{type(error).__name__}: {error or 'no answer'} ({tracking_uri})") from error
    if response.status_code != 200:
        raise RegistryError(f"HTTP {response.status_code}: {response.text[:200]}")
    approved = [
        (
            tags[CHAMPION_SINCE_TAG],
            int(found["version"]),
            Target(str(found["version"]), str(found.get("run_id", "")), True),
        )
        for found in _json(response).get("model_versions") or []
        if is_approved(tags := _tags(found)) and tags.get(CHAMPION_SINCE_TAG)
    ]
    return max(approved)[2] if approved else None


def _tags(found: dict[str, Any]) -> dict[str, str]:
    return {str(tag.get("key")): str(tag.get("value")) for tag in found.get("tags") or []}


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def version_training_metrics(tracking_uri: str, name: str, version: str, timeout: float) -> dict[str, float]:
    """The training run's metrics of one registered version (immutable: callers may keep them)."""
    base = f"{tracking_uri.rstrip('/')}/api/2.0/mlflow"
    try:
        found = httpx.get(f"{base}/model-versions/get", params={"name": name, "version": version}, timeout=timeout)
        run_id = (_json(found).get("model_version") or {}).get("run_id")
        if found.status_code != 200 or not run_id:
            raise RegistryError(f"{name} version {version}: HTTP {found.status_code}, no run")
        run = httpx.get(f"{base}/runs/get", params={"run_id": run_id}, timeout=timeout)
    except httpx.HTTPError as error:
        raise RegistryError(f"{type(error).__name__}: {error or 'no answer'} ({tracking_uri})") from error
    if run.status_code != 200:
        raise RegistryError(f"run {run_id} of {name} version {version}: HTTP {run.status_code}")
    metrics = ((_json(run).get("run") or {}).get("data") or {}).get("metrics") or []
    return {str(metric["key"]): float(metric["value"]) for metric in metrics}
