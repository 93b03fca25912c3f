"""Config overrides and the metric/threshold rules, on small hand-checked inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.common.call_list import call_list_metrics
from services.tracker.config import ConfigError, flatten, load_config
from services.tracker.evaluate import choose_threshold

BASELINE = Path(__file__).resolve().parents[2] / "experiments" / "baseline.yaml"


def test_set_overrides_are_parsed_as_yaml_values() -> None:
    config = load_config(BASELINE, ["model.params.C=0.05", "seed=7", "model.family=hist_gradient_boosting"])
    assert config.model.params["C"] == 0.05
    assert config.seed == 7
    assert config.model.family == "hist_gradient_boosting"


@pytest.mark.parametrize("override", ["sead=1", "model.familly=x", "seed=notanumber", "noequals"])
def test_bad_overrides_are_refused_with_the_key(override: str) -> None:
    with pytest.raises(ConfigError):
        load_config(BASELINE, [override])


def test_flatten_gives_dotted_keys() -> None:
    assert flatten("config", {"a": {"b": 1}, "c": 2}) == {"config.a.b": 1, "config.c": 2}


def test_threshold_maximises_f1_on_validation() -> None:
    labels = np.array([0, 0, 1, 1, 0, 1])
    probabilities = np.array([0.1, 0.3, 0.35, 0.8, 0.4, 0.9])
    # >=0.35 gives tp=3, fp=1: F1 = 6/7, better than any other cut.
    assert choose_threshold(labels, probabilities) == 0.35


def test_call_list_metrics_count_hits_in_the_top_fraction() -> None:
    labels = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    probabilities = np.array([0.9, 0.8, 0.1, 0.2, 0.3, 0.1, 0.1, 0.1, 0.1, 0.1])
    metrics = call_list_metrics(labels, probabilities, fraction=0.2)
    assert metrics == {"precision_at_top": 0.5, "recall_at_top": 0.5, "lift_at_top": 2.5}
