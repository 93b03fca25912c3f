"""Experiments against a real MLflow server: logged as used, safe for the champion, gated, reproducible."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from services.common.hashing import file_sha256
from services.tracker.config import load_config
from services.tracker.data import DataIntegrityError, load_training_data
from services.tracker.experiment import ExperimentOutcome, run_experiment
from services.tracker.registry import PromotionRefused, current_champion, promote, registry_client, rollback
from services.tracker.reproduce import reproduce
from services.tracker.settings import TrackerSettings
from services.tracker.train import fit_and_evaluate
from tests.conftest import BASELINE, Tracker
from tests.support import REPO_ROOT
from tests.tracker.test_data import tampered_copy

pytestmark = pytest.mark.slow


def cli(tracker: Tracker, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "MLFLOW_TRACKING_URI": tracker.url, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def gate_settings(tracker_settings: TrackerSettings, request: pytest.FixtureRequest) -> TrackerSettings:
    """A registered model of this test's own, so gate tests never touch the session's champion."""
    return tracker_settings.model_copy(update={"registered_model_name": f"gate-{request.node.name}"[:60]})


def test_params_read_back_from_mlflow_equal_the_values_used(tracker: Tracker, champion: ExperimentOutcome) -> None:
    result = cli(
        tracker,
        "train",
        "--config",
        str(BASELINE),
        "--set",
        "model.params.C=0.05",
        "--set",
        "model.params.max_iter=777",
    )
    assert result.returncode == 0, result.stderr
    run_id = re.search(r"run_id: (\w+)", result.stdout).group(1)  # type: ignore[union-attr]
    run = MlflowClient(tracker.url).get_run(run_id)
    params = run.data.params
    assert params["estimator.C"] == "0.05" and params["config.model.params.C"] == "0.05"
    assert params["estimator.max_iter"] == "777"
    assert params["seed"] == "42" and params["estimator.random_state"] == "42"
    assert run.data.metrics["test_roc_auc"] != champion.metrics["test_roc_auc"]
    assert run.data.tags["data_sha256"] == load_training_data(TrackerSettings()).sha256
    assert run.data.tags["data_rows"] == "7043"
    assert run.data.tags["git_dirty"] in ("true", "false", "unknown")
    assert run.data.tags["version.scikit-learn"]
    assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["telco_customer_churn"]
    artifacts = {a.path for a in MlflowClient(tracker.url).list_artifacts(run_id, "plots")}
    assert artifacts == {f"plots/{n}.png" for n in ("roc", "pr", "calibration", "feature_importance")}


def test_gradient_boosting_family_trains_and_logs_its_own_params(
    tracker_settings: TrackerSettings, gate_settings: TrackerSettings
) -> None:
    config = load_config(REPO_ROOT / "experiments" / "gradient_boosting.yaml", ["model.params.max_iter=40"])
    outcome = run_experiment(config, gate_settings)
    params = registry_client(gate_settings).get_run(outcome.run_id).data.params
    assert params["estimator.max_iter"] == "40"
    assert params["estimator.learning_rate"] == "0.05"
    assert outcome.metrics["test_roc_auc"] > 0.8


def test_training_never_moves_the_champion(tracker_settings: TrackerSettings, champion: ExperimentOutcome) -> None:
    client = registry_client(tracker_settings)
    before = current_champion(client, tracker_settings)
    outcome = run_experiment(load_config(BASELINE, ["model.params.C=0.3"]), tracker_settings)
    after = current_champion(client, tracker_settings)
    assert before is not None and after is not None
    assert outcome.version != after.version
    assert after.version == before.version == champion.version


def test_worse_candidate_is_refused_and_champion_unchanged(tracker: Tracker, gate_settings: TrackerSettings) -> None:
    good = run_experiment(load_config(BASELINE), gate_settings)
    promote(gate_settings, good.version, reason="first")
    worse = run_experiment(
        load_config(BASELINE, ["model.family=hist_gradient_boosting", "model.params={max_iter: 1, max_leaf_nodes: 2}"]),
        gate_settings,
    )
    with pytest.raises(PromotionRefused, match=r"test_roc_auc .* worse than champion"):
        promote(gate_settings, worse.version, reason="should not pass")
    result = cli(
        tracker,
        "promote",
        worse.version,
        "--reason",
        "cli attempt",
        CHURNGUARD_REGISTERED_MODEL_NAME=gate_settings.registered_model_name,
    )
    assert result.returncode == 1 and "worse than champion" in result.stderr
    champion = current_champion(registry_client(gate_settings), gate_settings)
    assert champion is not None and champion.version == good.version


def test_promotion_records_reason_previous_and_time_and_rollback_restores(gate_settings: TrackerSettings) -> None:
    first = run_experiment(load_config(BASELINE), gate_settings)
    promote(gate_settings, first.version, reason="first")
    second = run_experiment(load_config(BASELINE, ["model.params.C=0.8"]), gate_settings)
    promote(gate_settings, second.version, reason="slightly better regularisation")
    client = registry_client(gate_settings)
    champion = current_champion(client, gate_settings)
    assert champion is not None and champion.version == second.version
    assert champion.tags["promotion_reason"] == "slightly better regularisation"
    assert champion.tags["previous_champion"] == first.version
    assert champion.tags["champion_since"]
    move = rollback(gate_settings)
    assert (move.version, move.previous) == (first.version, second.version)
    restored = current_champion(client, gate_settings)
    assert restored is not None and restored.version == first.version
    assert restored.tags["rollback_from"] == second.version


def test_rollback_without_a_previous_champion_is_refused(gate_settings: TrackerSettings) -> None:
    with pytest.raises(PromotionRefused, match="no champion to roll back from"):
        rollback(gate_settings)
    only = run_experiment(load_config(BASELINE), gate_settings)
    promote(gate_settings, only.version, reason="first ever")
    with pytest.raises(PromotionRefused, match="no previous champion recorded"):
        rollback(gate_settings)


def _log_altered_model(settings: TrackerSettings, drop_column: str | None = None, canary_shift: float = 0.0) -> str:
    """Register a version whose signature or canary is wrong, as a hand-made upload would be."""
    data = load_training_data(settings)
    result = fit_and_evaluate(load_config(BASELINE), data)
    example = data.features.head(5).drop(columns=[drop_column] if drop_column else [])
    metadata = {
        "threshold": result.threshold,
        "canary": {"record": result.canary_record, "expected_probability": result.canary_probability + canary_shift},
        "profile": result.profile.model_dump(mode="json"),
    }
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            result.pipeline,
            name="model",
            signature=infer_signature(example),
            metadata=metadata,
            registered_model_name=settings.registered_model_name,
            skops_trusted_types=["numpy.dtype"],
        )
    return str(info.registered_model_version)


def test_gate_refuses_a_signature_that_differs_from_the_schema(gate_settings: TrackerSettings) -> None:
    version = _log_altered_model(gate_settings, drop_column="gender")
    with pytest.raises(PromotionRefused, match="signature differs from the customer schema.*gender"):
        promote(gate_settings, version, reason="bad signature")


def test_gate_refuses_a_canary_that_does_not_reproduce(gate_settings: TrackerSettings) -> None:
    version = _log_altered_model(gate_settings, canary_shift=1e-6)
    with pytest.raises(PromotionRefused, match="canary gave"):
        promote(gate_settings, version, reason="bad canary")


def test_reproduce_of_a_fresh_run_succeeds(tracker: Tracker, champion: ExperimentOutcome) -> None:
    result = cli(tracker, "reproduce", champion.run_id)
    assert result.returncode == 0, result.stderr
    assert "max |difference| = 0" in result.stdout and "reproduced" in result.stdout


def test_reproduce_fails_when_the_logged_evidence_does_not_match(tracker_settings: TrackerSettings) -> None:
    outcome = run_experiment(load_config(BASELINE, ["model.params.C=2.0"]), tracker_settings)
    registry_client(tracker_settings).log_metric(outcome.run_id, "test_roc_auc", 0.5)
    result = reproduce(tracker_settings, outcome.run_id)
    assert not result.reproduced
    assert any("test_roc_auc" in problem for problem in result.problems)


def test_reproduce_refuses_when_the_data_changed(
    tracker: Tracker, champion: ExperimentOutcome, tracker_settings: TrackerSettings, tmp_path: Path
) -> None:
    changed = tampered_copy(tmp_path)
    settings = tracker_settings.model_copy(update={"data_path": changed, "data_sha256": file_sha256(changed)})
    with pytest.raises(DataIntegrityError, match="cannot reproduce"):
        reproduce(settings, champion.run_id)
    result = cli(
        tracker,
        "reproduce",
        champion.run_id,
        CHURNGUARD_DATA_PATH=str(changed),
        CHURNGUARD_DATA_SHA256=file_sha256(changed),
    )
    assert result.returncode == 1 and "cannot reproduce" in result.stderr


def test_reproduce_names_code_and_packages_that_differ_and_still_passes_on_equal_numbers(
    tracker: Tracker, tracker_settings: TrackerSettings
) -> None:
    outcome = run_experiment(load_config(BASELINE, ["model.params.C=1.5"]), tracker_settings)
    client = registry_client(tracker_settings)
    client.set_tag(outcome.run_id, "git_commit", "0123456789abcdef")
    client.set_tag(outcome.run_id, "version.numpy", "1.0.0")
    result = cli(tracker, "reproduce", outcome.run_id)
    assert result.returncode == 0, result.stderr
    assert "differs from the run: git_commit: run 0123456789abcdef, now " in result.stdout
    assert "differs from the run: version.numpy: run 1.0.0, now " in result.stdout
    assert "reproduced" in result.stdout


def test_a_hand_moved_unapproved_alias_never_becomes_a_rollback_target(gate_settings: TrackerSettings) -> None:
    first = run_experiment(load_config(BASELINE), gate_settings)
    promote(gate_settings, first.version, reason="first")
    experiment = run_experiment(load_config(BASELINE, ["model.params.C=0.9"]), gate_settings)
    client = registry_client(gate_settings)
    client.set_registered_model_alias(gate_settings.registered_model_name, "champion", experiment.version)  # by hand
    promote(gate_settings, first.version, reason="back to the approved one")
    with pytest.raises(PromotionRefused, match="no previous champion recorded"):
        rollback(gate_settings)
    champion = current_champion(client, gate_settings)
    assert champion is not None and champion.version == first.version
