"""Fit and evaluate one experiment (pure), then record it in MLflow and register a new version."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from services.common.customer import ID_FIELD
from services.common.model_metadata import TrainingProfile
from services.common.pipeline_steps import CLASSIFIER_STEP, PREPROCESS_STEP
from services.tracker.config import ExperimentConfig
from services.tracker.data import TrainingData
from services.tracker.evaluate import choose_threshold, evaluate
from services.tracker.pipeline import build_pipeline
from services.tracker.profile import build_profile


@dataclass(frozen=True)
class Split:
    """Row positions of each part of the fixed stratified split."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class TrainingResult:
    """Everything one fit produced, as used: the pipeline, threshold, metrics and evidence."""

    config: ExperimentConfig
    pipeline: Pipeline
    split: Split
    threshold: float
    metrics: dict[str, float]
    test_ids: list[str]
    test_probabilities: np.ndarray
    test_labels: np.ndarray
    profile: TrainingProfile
    canary_record: dict[str, Any]
    canary_probability: float

    @property
    def split_fingerprint(self) -> str:
        """Identifies the test split by the ids it contains, so the gate compares like with like."""
        return hashlib.sha256("\n".join(sorted(self.test_ids)).encode()).hexdigest()

    def estimator_params(self) -> dict[str, Any]:
        """The fitted estimator's own get_params(): what was used, not what was asked for."""
        return dict(self.pipeline.named_steps[CLASSIFIER_STEP].get_params())


def split_data(data: TrainingData, config: ExperimentConfig) -> Split:
    """Stratified train/validation/test split, fixed by the seed."""
    positions = np.arange(data.rows)
    rest, test = train_test_split(
        positions, test_size=config.split.test_size, stratify=data.labels, random_state=config.seed
    )
    validation_share = config.split.validation_size / (1 - config.split.test_size)
    train, validation = train_test_split(
        rest, test_size=validation_share, stratify=data.labels.iloc[rest], random_state=config.seed
    )
    return Split(train=np.sort(train), validation=np.sort(validation), test=np.sort(test))


def fit_and_evaluate(config: ExperimentConfig, data: TrainingData) -> TrainingResult:
    """Fit on train, pick the threshold on validation, measure on test. Deterministic for a seed."""
    split = split_data(data, config)
    features, labels = data.features, data.labels.to_numpy()
    pipeline = build_pipeline(config.model, config.seed)
    pipeline.fit(features.iloc[split.train], labels[split.train])

    validation_probabilities = pipeline.predict_proba(features.iloc[split.validation])[:, 1]
    threshold = choose_threshold(labels[split.validation], validation_probabilities)
    test_probabilities = pipeline.predict_proba(features.iloc[split.test])[:, 1]
    metrics = {
        f"test_{k}": v
        for k, v in evaluate(labels[split.test], test_probabilities, threshold, config.call_list_fraction).items()
    }
    metrics["validation_roc_auc"] = evaluate(
        labels[split.validation], validation_probabilities, threshold, config.call_list_fraction
    )["roc_auc"]

    test_ids = data.ids.iloc[split.test].tolist()
    canary_position = int(split.test[int(np.argmin(test_ids))])
    canary_record = {ID_FIELD: data.ids.iloc[canary_position], **features.iloc[canary_position].to_dict()}
    canary_record = {k: json_value(v) for k, v in canary_record.items()}
    canary_probability = float(pipeline.predict_proba(features.iloc[[canary_position]])[0, 1])
    return TrainingResult(
        config=config,
        pipeline=pipeline,
        split=split,
        threshold=threshold,
        metrics=metrics,
        test_ids=test_ids,
        test_probabilities=test_probabilities,
        test_labels=labels[split.test],
        profile=build_profile(features.iloc[split.train], pipeline.predict_proba(features.iloc[split.train])[:, 1]),
        canary_record=canary_record,
        canary_probability=canary_probability,
    )


def feature_importance(result: TrainingResult, data: TrainingData) -> tuple[list[str], np.ndarray, str]:
    """Coefficients for linear models; permutation importance on the test split otherwise."""
    classifier = result.pipeline.named_steps[CLASSIFIER_STEP]
    if hasattr(classifier, "coef_"):
        names = list(result.pipeline.named_steps[PREPROCESS_STEP].get_feature_names_out())
        return names, np.asarray(classifier.coef_[0]), "Coefficients (scaled / one-hot features)"
    test = result.split.test
    importance = permutation_importance(
        result.pipeline,
        data.features.iloc[test],
        data.labels.to_numpy()[test],
        scoring="roc_auc",
        n_repeats=3,
        random_state=result.config.seed,
    )
    return list(data.features.columns), np.asarray(importance.importances_mean), "Permutation importance (ROC-AUC)"


def json_value(value: Any) -> Any:
    """numpy/pandas scalars -> JSON types; NaN (null TotalCharges) -> None."""
    if isinstance(value, float | np.floating):
        return None if pd.isna(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
