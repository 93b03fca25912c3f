"""Model-health settings are the ones used: non-default margins, minimums and windows change the verdicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.common.model_metadata import NumericProfile, TrainingProfile
from services.predictor.health.drift import drift_report
from services.predictor.health.performance import performance_report
from services.predictor.settings import PredictorSettings
from tests.support import REPO_ROOT, free_port

TRAINING = {"test_roc_auc": 0.84, "test_precision_at_top": 0.70}


def outcomes(count: int) -> list[tuple[str, float, float, bool, bool | None]]:
    """A model that still ranks, a little worse than in training (AUC 0.75 here)."""
    rows = []
    for i in range(count):
        churned = i % 4 == 0
        probability = 0.9 if (churned and i % 8 == 0) or (not churned and i % 16 == 1) else 0.2 + (i % 7) / 100
        rows.append(("3", probability, 0.5, churned, False))
    return rows


def test_the_margin_and_the_minimum_outcomes_are_the_ones_configured() -> None:
    rows = outcomes(400)
    realized = performance_report(rows, "3", TRAINING, 0.05, 200)["versions"]["3"]["not_contacted"]["roc_auc"]
    assert realized < TRAINING["test_roc_auc"] - 0.05  # below training by more than the default margin
    assert "roc_auc" in performance_report(rows, "3", TRAINING, 0.05, 200)["below_training"]
    wide = performance_report(rows, "3", TRAINING, 0.5, 200)
    assert wide["margin"] == 0.5 and wide["below_training"] == []  # a wider margin tolerates it
    few = performance_report(rows, "3", TRAINING, 0.05, 401)
    assert few["min_outcomes"] == 401 and few["below_training"] == []  # too few outcomes to say


def test_the_drift_window_and_minimum_are_the_ones_configured() -> None:
    profile = TrainingProfile(
        rows=100, numeric={"tenure": NumericProfile(min=0, max=72, bin_edges=[10.0], bin_fractions=[0.5, 0.5])}
    )
    recent = [(json.dumps({"tenure": 1}), 0.5)] * 30
    assert drift_report(profile, "3", recent, 5000, 31).as_dict()["features"]["tenure"] is None
    report = drift_report(profile, "3", recent, 40, 30).as_dict()
    assert (report["window"], report["min_records"], report["records"]) == (40, 30, 30)
    assert report["features"]["tenure"] > 0.2


def test_a_drift_window_below_its_minimum_is_refused_at_start_naming_both(tmp_path: Path) -> None:
    """Found by reading: such a pair was accepted, and drift was then null for ever."""
    with pytest.raises(ValidationError, match="PREDICTOR_DRIFT_WINDOW=100 is below PREDICTOR_DRIFT_MIN_RECORDS=500"):
        PredictorSettings(drift_window=100, drift_min_records=500)
    env = {**os.environ, "PREDICTOR_DRIFT_WINDOW": "100", "PREDICTOR_DRIFT_MIN_RECORDS": "500"}
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "serve", "--port", str(free_port())],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "PREDICTOR_DRIFT_MIN_RECORDS=500" in result.stdout + result.stderr
