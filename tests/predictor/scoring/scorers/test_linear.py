"""The derived fast path equals the sklearn pipeline on the test split; other models fall back."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from services.common.customer import SIGNATURE_TYPES
from services.common.frame import records_to_columns, records_to_frame
from services.common.model_bundle import ModelBundle
from services.common.model_metadata import ModelMetadata
from services.predictor.scoring.scorers.linear import VECTOR_MIN_RECORDS, LinearScorer
from services.predictor.scoring.scorers.linear_fit import derive_linear_scorer
from services.predictor.scoring.scorers.pipeline import PipelineScorer
from services.predictor.scoring.served_model import ServedModel
from services.tracker.config import load_config
from services.tracker.data import TrainingData, load_training_data
from services.tracker.settings import TrackerSettings
from services.tracker.train import TrainingResult, fit_and_evaluate

EXPERIMENTS = Path(__file__).resolve().parents[4] / "experiments"


@pytest.fixture(scope="module")
def data() -> TrainingData:
    return load_training_data(TrackerSettings())


def test_fast_path_matches_the_pipeline_within_1e_9_on_the_test_split(data: TrainingData) -> None:
    result = fit_and_evaluate(load_config(EXPERIMENTS / "baseline.yaml"), data)
    scorer = derive_linear_scorer(result.pipeline)
    assert scorer is not None
    rows = data.features.iloc[result.split.test].to_dict("records")
    records = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]
    reference = result.pipeline.predict_proba(records_to_frame(records))[:, 1]
    by_column = np.array(scorer.probabilities(records_to_columns(records)))
    assert len(records) >= VECTOR_MIN_RECORDS
    by_record = np.array([scorer.probabilities(records_to_columns([record]))[0] for record in records])
    for fast in (by_column, by_record):
        assert np.max(np.abs(fast - result.test_probabilities)) < 1e-9
        assert np.max(np.abs(fast - reference)) < 1e-9


def test_null_total_charges_is_imputed_like_the_pipeline_on_both_paths(data: TrainingData) -> None:
    result = fit_and_evaluate(load_config(EXPERIMENTS / "baseline.yaml"), data)
    scorer = derive_linear_scorer(result.pipeline)
    assert scorer is not None
    record = {**result.canary_record, "tenure": 0, "TotalCharges": None}
    expected = result.pipeline.predict_proba(records_to_frame([record]))[0, 1]
    assert abs(scorer.probabilities(records_to_columns([record]))[0] - expected) < 1e-9
    batch = records_to_columns([record] * VECTOR_MIN_RECORDS)
    assert np.max(np.abs(np.array(scorer.probabilities(batch)) - expected)) < 1e-9


def test_unknown_category_contributes_nothing_like_the_encoder(data: TrainingData) -> None:
    result = fit_and_evaluate(load_config(EXPERIMENTS / "baseline.yaml"), data)
    scorer = derive_linear_scorer(result.pipeline)
    assert scorer is not None
    odd = {**result.canary_record, "Contract": "Decade"}
    expected = result.pipeline.predict_proba(records_to_frame([odd]))[0, 1]
    assert abs(scorer.probabilities(records_to_columns([odd]))[0] - expected) < 1e-9
    batch = records_to_columns([odd] * VECTOR_MIN_RECORDS)
    assert np.max(np.abs(np.array(scorer.probabilities(batch)) - expected)) < 1e-9


def test_models_it_does_not_cover_fall_back_to_the_pipeline(data: TrainingData) -> None:
    config = load_config(EXPERIMENTS / "gradient_boosting.yaml", ["model.params.max_iter=20"])
    result = fit_and_evaluate(config, data)
    assert derive_linear_scorer(result.pipeline) is None
    assert derive_linear_scorer("not a pipeline") is None


def served(result: TrainingResult, directory: Path) -> ServedModel:
    metadata = {
        "threshold": 0.5,
        "canary": {"record": result.canary_record, "expected_probability": result.canary_probability},
        "profile": {},
    }
    bundle = ModelBundle(
        "churn-model",
        "1",
        "run",
        ModelMetadata.model_validate(metadata),
        dict(SIGNATURE_TYPES),
        directory,
        mlmodel={},
    )
    bundle.__dict__["pipeline"] = result.pipeline  # as if loaded from the artifacts (a cached property)
    return ServedModel.build(bundle, "cache", datetime.now(UTC), 0.0)


@pytest.mark.parametrize("path", ["_by_record", "_by_column"])
def test_a_scorer_path_that_misses_the_canary_is_dropped_for_the_pipeline(
    data: TrainingData, monkeypatch: pytest.MonkeyPatch, path: str, tmp_path: Path
) -> None:
    result = fit_and_evaluate(load_config(EXPERIMENTS / "baseline.yaml"), data)
    assert isinstance(served(result, tmp_path).scorer, LinearScorer)
    honest = getattr(LinearScorer, path)
    monkeypatch.setattr(LinearScorer, path, lambda self, *args: [p + 1e-6 for p in honest(self, *args)])
    model = served(result, tmp_path)
    assert isinstance(model.scorer, PipelineScorer)  # the check fired: the pipeline serves
    assert abs(model.probabilities(model.bundle.canary_columns)[0] - result.canary_probability) < 1e-9
