"""Rebuild a run from what it logged and compare metrics and test-set predictions."""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from mlflow.tracking import MlflowClient

from services.tracker.config import ExperimentConfig
from services.tracker.data import DataIntegrityError, load_training_data
from services.tracker.experiment import CONFIG_ARTIFACT, PREDICTIONS_ARTIFACT
from services.tracker.provenance import code_version, environment
from services.tracker.registry import registry_client
from services.tracker.settings import TrackerSettings
from services.tracker.train import fit_and_evaluate

TOLERANCE = 1e-12


@dataclass(frozen=True)
class Reproduction:
    """The comparison `churnguard reproduce` prints; `reproduced` decides the exit code."""

    run_id: str
    metric_differences: dict[str, float]
    max_prediction_difference: float
    problems: list[str]
    # Code and packages that differ from the run's (informational: the numbers decide).
    environment_differences: list[str]

    @property
    def reproduced(self) -> bool:
        return not self.problems


def reproduce(settings: TrackerSettings, run_id: str) -> Reproduction:
    """Refuse when today's data is not the run's data; else re-fit and compare to the logged evidence."""
    client = registry_client(settings)
    run = client.get_run(run_id)
    logged_sha = run.data.tags.get("data_sha256")
    data = load_training_data(settings)
    if data.sha256 != logged_sha:
        raise DataIntegrityError(f"data sha256 {data.sha256} is not the run's {logged_sha}: cannot reproduce")
    config = ExperimentConfig.model_validate(_logged_json(client, run_id, CONFIG_ARTIFACT))
    logged_predictions = _logged_json(client, run_id, PREDICTIONS_ARTIFACT)
    result = fit_and_evaluate(config, data)

    problems: list[str] = []
    rebuilt = {**result.metrics, "threshold": result.threshold}
    differences = {name: abs(rebuilt[name] - value) for name, value in run.data.metrics.items() if name in rebuilt}
    for name, difference in differences.items():
        if not difference <= TOLERANCE:
            problems.append(f"metric {name} differs by {difference:.3g}")
    if result.test_ids != logged_predictions["customerID"]:
        problems.append("test split holds different customers")
        max_difference = math.inf
    else:
        max_difference = float(
            np.max(np.abs(result.test_probabilities - np.asarray(logged_predictions["probability"])))
        )
        if not max_difference <= TOLERANCE:
            problems.append(f"test predictions differ by up to {max_difference:.3g}")
    return Reproduction(run_id, differences, max_difference, problems, environment_differences(run.data.tags))


def environment_differences(logged: dict[str, str]) -> list[str]:
    """Each provenance tag (git commit, dirty flag, Python, key packages) whose value today is not the run's."""
    now = {**code_version(), **environment()}
    return [
        f"{name}: run {logged[name]}, now {value}"
        for name, value in sorted(now.items())
        if name in logged and logged[name] != value
    ]


def _logged_json(client: MlflowClient, run_id: str, artifact: str) -> Any:
    with tempfile.TemporaryDirectory() as scratch:
        local = client.download_artifacts(run_id, artifact, scratch)
        return json.loads(Path(local).read_text(encoding="utf-8"))
