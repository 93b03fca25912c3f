"""What is served is what was promoted: promote and rollback reach real predictors; hand-moved aliases do not."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from mlflow.tracking import MlflowClient

from services.common.registry_names import APPROVAL_TAG, APPROVALS_SINCE_TAG
from services.tracker.bootstrap import bootstrap
from services.tracker.config import load_config
from services.tracker.experiment import run_experiment
from services.tracker.registry import promote
from services.tracker.settings import TrackerSettings
from tests.conftest import BASELINE, PredictorProcess, new_predictor_process
from tests.support import REPO_ROOT, free_port

pytestmark = [pytest.mark.slow, pytest.mark.second_lane]  # real predictors and a tracker: beside the rest


@pytest.fixture
def own_model(tracker_settings: TrackerSettings, request: pytest.FixtureRequest) -> TrackerSettings:
    """A registered model of this test's own: moving its champion never touches the session's."""
    return tracker_settings.model_copy(update={"registered_model_name": f"push-{request.node.name}"[:60]})


def serving_predictor(settings: TrackerSettings, directory: Path, poll_seconds: float) -> PredictorProcess:
    predictor = new_predictor_process(settings.mlflow_tracking_uri, directory)
    predictor.env.update(
        MODEL_URI=f"models:/{settings.registered_model_name}@champion", PREDICTOR_POLL_SECONDS=str(poll_seconds)
    )
    predictor.start()
    return predictor


def first_champion_served(
    settings: TrackerSettings, directory: Path, poll_seconds: float
) -> tuple[str, PredictorProcess]:
    """Train and promote a first version, then start a predictor following this model's champion."""
    first = run_experiment(load_config(BASELINE), settings)
    promote(settings, first.version, reason="first")
    return first.version, serving_predictor(settings, directory, poll_seconds)


def churnguard(settings: TrackerSettings, *args: str, urls: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
        "CHURNGUARD_REGISTERED_MODEL_NAME": settings.registered_model_name,
        "CHURNGUARD_DATA_CACHE_DIR": str(settings.data_cache_dir),
        "CHURNGUARD_PREDICTOR_URLS": urls,
    }
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def model_card(predictor: PredictorProcess) -> dict[str, object]:
    card: dict[str, object] = httpx.get(f"{predictor.url}/model", timeout=10).json()
    return card


def gauge(predictor: PredictorProcess, name: str) -> float:
    for line in httpx.get(f"{predictor.url}/metrics", timeout=10).text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not exposed")


def test_promote_and_rollback_reach_each_predictor_before_the_command_returns(
    own_model: TrackerSettings, tmp_path: Path
) -> None:
    first, predictor = first_champion_served(own_model, tmp_path, poll_seconds=0)  # only the push moves it
    try:
        second = run_experiment(load_config(BASELINE, ["model.params.C=0.3"]), own_model)
        dead = f"http://127.0.0.1:{free_port()}"
        result = churnguard(own_model, "promote", second.version, "--reason", "C=0.3", urls=f"{predictor.url},{dead}")
        assert result.returncode == 0, result.stderr
        assert f"predictor {predictor.url}: serving version {second.version} (swapped)" in result.stdout
        assert f"predictor {dead}: unreachable" in result.stdout  # named; the promotion still stands
        card = model_card(predictor)
        assert card["version"] == second.version
        assert card["registry"] == {**card["registry"], "target_version": second.version, "matches": True}  # type: ignore[dict-item]

        result = churnguard(own_model, "rollback", urls=predictor.url)
        assert result.returncode == 0, result.stderr
        assert f"predictor {predictor.url}: serving version {first} (swapped)" in result.stdout
        assert model_card(predictor)["version"] == first
        assert gauge(predictor, "churnguard_model_matches_registry") == 1
    finally:
        predictor.stop()


def test_a_hand_moved_alias_to_an_unapproved_version_is_refused_and_reported(
    own_model: TrackerSettings, tmp_path: Path
) -> None:
    first, predictor = first_champion_served(own_model, tmp_path, poll_seconds=0)
    try:
        experiment = run_experiment(load_config(BASELINE, ["model.params.C=0.2"]), own_model)
        # What the MLflow UI does: move the alias, no gate, no approval.
        MlflowClient(own_model.mlflow_tracking_uri).set_registered_model_alias(
            own_model.registered_model_name, "champion", experiment.version
        )
        reload = httpx.post(f"{predictor.url}/admin/reload", timeout=30)
        assert reload.status_code == 409 and "not approved" in reload.json()["detail"], reload.text
        card = model_card(predictor)
        registry = card["registry"]
        assert card["version"] == first  # the champion keeps serving
        assert isinstance(registry, dict)
        assert (registry["target_version"], registry["matches"], registry["reachable"]) == (
            experiment.version,
            False,
            True,
        )
        assert "not approved" in registry["detail"]
        assert gauge(predictor, "churnguard_model_matches_registry") == 0
        assert gauge(predictor, "churnguard_registry_reachable") == 1
        assert httpx.get(f"{predictor.url}/health/ready", timeout=10).status_code == 200  # not out of service

        # An alias deleted altogether: the registry answers, but designates nothing.
        MlflowClient(own_model.mlflow_tracking_uri).delete_registered_model_alias(
            own_model.registered_model_name, "champion"
        )
        assert httpx.post(f"{predictor.url}/admin/reload", timeout=30).status_code == 409
        registry = model_card(predictor)["registry"]
        assert isinstance(registry, dict)
        assert (registry["target_version"], registry["matches"], registry["reachable"]) == (None, False, True)
        assert "designates no version" in registry["detail"]
        assert model_card(predictor)["version"] == first
    finally:
        predictor.stop()


def test_with_the_push_unreachable_a_predictor_follows_within_its_poll(
    own_model: TrackerSettings, tmp_path: Path
) -> None:
    _, predictor = first_champion_served(own_model, tmp_path, poll_seconds=1)
    try:
        second = run_experiment(load_config(BASELINE, ["model.params.C=0.4"]), own_model)
        result = churnguard(
            own_model, "promote", second.version, "--reason", "C=0.4", urls=f"http://127.0.0.1:{free_port()}"
        )
        assert result.returncode == 0 and "unreachable" in result.stdout, result.stdout + result.stderr
        deadline = time.monotonic() + 15
        while model_card(predictor)["version"] != second.version:
            assert time.monotonic() < deadline, "not followed within the poll interval"
            time.sleep(0.2)
    finally:
        predictor.stop()


def test_upgrading_marks_a_champion_chosen_before_approvals_and_it_keeps_serving(
    own_model: TrackerSettings, tmp_path: Path
) -> None:
    first = run_experiment(load_config(BASELINE), own_model)
    client = MlflowClient(own_model.mlflow_tracking_uri)
    # A registry made before approvals: the alias set, no approval tag.
    client.set_registered_model_alias(own_model.registered_model_name, "champion", first.version)
    assert APPROVAL_TAG not in client.get_model_version(own_model.registered_model_name, first.version).tags
    assert bootstrap(own_model, BASELINE, timeout_seconds=30) == first.version
    assert client.get_model_version(own_model.registered_model_name, first.version).tags[APPROVAL_TAG] == "true"
    assert APPROVALS_SINCE_TAG in client.get_registered_model(own_model.registered_model_name).tags, "once"
    predictor = serving_predictor(own_model, tmp_path, poll_seconds=0)
    try:
        assert model_card(predictor)["version"] == first.version
    finally:
        predictor.stop()


def test_a_hand_moved_alias_survives_bootstrap_unapproved_and_a_fresh_predictor_serves_the_last_approved(
    own_model: TrackerSettings, tmp_path: Path
) -> None:
    """Found by hand: alias moved to an unapproved version, then `bootstrap` (every start runs it) approved it.
    Now bootstrap approves nothing; a predictor with an empty cache serves the last approved champion and
    reports the mismatch; rollback goes back to that champion."""
    name = own_model.registered_model_name
    first = run_experiment(load_config(BASELINE), own_model)
    promote(own_model, first.version, reason="first")
    client = MlflowClient(own_model.mlflow_tracking_uri)
    assert APPROVALS_SINCE_TAG in client.get_registered_model(name).tags
    second = run_experiment(load_config(BASELINE, ["model.params.C=0.05"]), own_model)
    client.set_registered_model_alias(name, "champion", second.version)  # what the MLflow UI does
    assert bootstrap(own_model, BASELINE, timeout_seconds=30) == second.version
    assert APPROVAL_TAG not in client.get_model_version(name, second.version).tags, "a restart approves nothing"
    predictor = serving_predictor(own_model, tmp_path, poll_seconds=0)  # an empty cache
    try:
        card = model_card(predictor)
        registry = card["registry"]
        assert card["version"] == first.version and isinstance(registry, dict)
        assert (registry["target_version"], registry["matches"]) == (second.version, False)
        assert "not approved" in registry["detail"] and f"last approved champion, version {first.version}" in str(
            registry["detail"]
        )
        assert gauge(predictor, "churnguard_model_matches_registry") == 0
    finally:
        predictor.stop()
    result = churnguard(own_model, "rollback", urls="")
    assert result.returncode == 0, result.stderr
    assert client.get_model_version_by_alias(name, "champion").version == first.version


def test_a_registry_of_the_previous_release_upgrades_once_and_keeps_serving(
    own_model: TrackerSettings, tmp_path: Path
) -> None:
    """Promoted by the previous release (approved, no marker): the upgrade sets the marker and approves
    nothing new; a later hand-moved alias stays unapproved through another bootstrap."""
    name = own_model.registered_model_name
    first = run_experiment(load_config(BASELINE), own_model)
    promote(own_model, first.version, reason="first")
    client = MlflowClient(own_model.mlflow_tracking_uri)
    client.delete_registered_model_tag(name, APPROVALS_SINCE_TAG)  # as the previous release left it
    second = run_experiment(load_config(BASELINE, ["model.params.C=0.05"]), own_model)
    assert bootstrap(own_model, BASELINE, timeout_seconds=30) == first.version
    assert APPROVALS_SINCE_TAG in client.get_registered_model(name).tags
    predictor = serving_predictor(own_model, tmp_path, poll_seconds=0)
    try:
        assert model_card(predictor)["version"] == first.version
    finally:
        predictor.stop()
    client.set_registered_model_alias(name, "champion", second.version)
    bootstrap(own_model, BASELINE, timeout_seconds=30)
    assert APPROVAL_TAG not in client.get_model_version(name, second.version).tags
