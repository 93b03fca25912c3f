"""The fair gate: each rule fires on its own (pure), and against a real tracker the comparison is made on
customers the champion never saw, with refreshed data judged on its metrics, not its sha256."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from services.common.paths import SHARED_DATA_FILE
from services.tracker.config import load_config
from services.tracker.experiment import run_experiment
from services.tracker.gate import Scores, below_floor, judge
from services.tracker.registry import PromotionRefused, current_champion, promote, registry_client
from services.tracker.settings import TrackerSettings
from tests.conftest import BASELINE, Tracker
from tests.tracker.test_data import tampered_copy
from tests.tracker.test_experiments import cli

SETTINGS = TrackerSettings()  # defaults: AUC 0.005, top precision 0.03, floor 0.80, 200 customers
CHAMPION = Scores(roc_auc=0.84, precision_at_top=0.75, lift_at_top=2.8)


def test_an_equal_candidate_passes_every_rule() -> None:
    assert judge(CHAMPION, CHAMPION, 1409, SETTINGS) == []


def test_roc_auc_worse_than_the_tolerance_is_refused_and_within_it_is_not() -> None:
    assert judge(Scores(0.836, 0.75, 2.8), CHAMPION, 1409, SETTINGS) == []
    [failure] = judge(Scores(0.834, 0.75, 2.8), CHAMPION, 1409, SETTINGS)
    assert failure.startswith("test_roc_auc on the 1409 held-out customers: 0.8340 is worse")


def test_top_precision_worse_than_its_tolerance_is_refused_even_with_a_better_auc() -> None:
    assert judge(Scores(0.85, 0.721, 2.7), CHAMPION, 1409, SETTINGS) == []
    [failure] = judge(Scores(0.85, 0.71, 2.6), CHAMPION, 1409, SETTINGS)
    assert failure.startswith("precision_at_top on the 1409 held-out customers: 0.7100 is worse")


def test_the_floor_holds_however_the_champion_did() -> None:
    weak_champion = Scores(0.79, 0.5, 1.9)
    [failure] = judge(Scores(0.79, 0.5, 1.9), weak_champion, 1409, SETTINGS)
    assert "under the floor CHURNGUARD_PROMOTION_MIN_AUC=0.8" in failure
    assert below_floor(0.81, "on its test split", SETTINGS) == []
    assert below_floor(0.79, "on its test split", SETTINGS) != []


def test_too_few_held_out_customers_is_not_comparable() -> None:
    [failure] = judge(CHAMPION, CHAMPION, 150, SETTINGS)
    assert failure.startswith("not comparable: only 150 held-out customers")


def test_the_settings_change_the_rules() -> None:
    strict = SETTINGS.model_copy(update={"promotion_min_auc": 0.9, "promotion_auc_tolerance": 0.0})
    failures = judge(Scores(0.839, 0.75, 2.8), CHAMPION, 1409, strict)
    assert len(failures) == 2 and "CHURNGUARD_PROMOTION_MIN_AUC=0.9" in failures[0]


@pytest.fixture
def gate_model(tracker_settings: TrackerSettings, request: pytest.FixtureRequest) -> TrackerSettings:
    return tracker_settings.model_copy(update={"registered_model_name": f"fair-{request.node.name}"[:60]})


def logged(settings: TrackerSettings, run_id: str, artifact: str) -> dict[str, object]:
    local = registry_client(settings).download_artifacts(run_id, artifact)
    loaded: dict[str, object] = json.loads(Path(local).read_text(encoding="utf-8"))
    return loaded


@pytest.mark.slow
def test_a_candidate_on_another_split_is_compared_on_customers_the_champion_never_saw(
    gate_model: TrackerSettings,
) -> None:
    first = run_experiment(load_config(BASELINE), gate_model)
    promote(gate_model, first.version, reason="first")
    other = run_experiment(load_config(BASELINE, ["seed=7"]), gate_model)
    try:
        report = promote(gate_model, other.version, reason="another split").report
    except PromotionRefused as refused:  # decided on the metrics either way
        assert "sha256" not in str(refused) and "split" not in str(refused)
        report = refused.report
    assert report is not None
    split = logged(gate_model, first.run_id, "split.json")
    seen = {*split["train"], *split["validation"]}  # type: ignore[misc]
    test_ids = logged(gate_model, other.run_id, "split.json")["test"]
    expected = sum(customer not in seen for customer in test_ids)  # type: ignore[attr-defined]
    assert (report.customers, report.left_out) == (expected, len(test_ids) - expected)  # type: ignore[arg-type]
    assert 0 < report.call_list_size <= report.customers
    recorded = logged(gate_model, other.run_id, f"gate/vs-champion-v{first.version}.json")
    assert recorded["customers"] == expected and recorded["call_list_changes"] == report.call_list_changes


def shuffled_labels_copy(directory: Path) -> Path:
    """Refreshed data whose labels no longer follow the customers: any model trained on it is worthless."""
    with SHARED_DATA_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    labels = [row["Churn"] for row in rows]
    random.Random(3).shuffle(labels)
    path = directory / "shuffled.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**row, "Churn": label} for row, label in zip(rows, labels, strict=True))
    return path


@pytest.mark.slow
def test_refreshed_data_trains_and_is_judged_on_its_metrics_not_its_sha(
    tracker: Tracker, gate_model: TrackerSettings, tmp_path: Path
) -> None:
    first = run_experiment(load_config(BASELINE), gate_model)
    promote(gate_model, first.version, reason="first")
    env = {"CHURNGUARD_REGISTERED_MODEL_NAME": gate_model.registered_model_name}

    refreshed = cli(tracker, "train", "--config", str(BASELINE), "--data", str(tampered_copy(tmp_path)), **env)
    assert refreshed.returncode == 0, refreshed.stderr
    version = refreshed.stdout.split("version ")[1].split()[0]
    promoted = cli(tracker, "promote", version, "--reason", "refreshed data", **env)
    assert promoted.returncode == 0, promoted.stderr
    assert "on 1409 held-out customers" in promoted.stdout and "call list (top 10%, 141 customers)" in promoted.stdout

    worthless = cli(tracker, "train", "--config", str(BASELINE), "--data", str(shuffled_labels_copy(tmp_path)), **env)
    assert worthless.returncode == 0, worthless.stderr
    version = worthless.stdout.split("version ")[1].split()[0]
    refused = cli(tracker, "promote", version, "--reason", "shuffled", **env)
    assert refused.returncode == 1 and "under the floor" in refused.stderr and "sha256" not in refused.stderr
    champion = current_champion(registry_client(gate_model), gate_model)
    assert champion is not None and champion.version != version


def test_train_names_a_missing_data_file(tracker: Tracker, tmp_path: Path) -> None:
    result = cli(tracker, "train", "--config", str(BASELINE), "--data", str(tmp_path / "nope.csv"))
    assert result.returncode == 2 and "no such file" in result.stderr
