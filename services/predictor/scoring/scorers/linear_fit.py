"""Derive the linear scorer from a fitted pipeline (needs sklearn: imported only when a pipeline is loaded).

Only the exact pipeline shape we train is covered; anything else returns None and the caller keeps
using the pipeline.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from services.common.pipeline_steps import CLASSIFIER_STEP, PIPELINE_STEPS, PREPROCESS_STEP
from services.predictor.scoring.scorers.linear import Contributions, LinearScorer


def derive_linear_scorer(pipeline: Any) -> LinearScorer | None:
    """Return an exact fast scorer for our logistic-regression pipeline, or None for anything else."""
    if not isinstance(pipeline, Pipeline) or tuple(name for name, _ in pipeline.steps) != PIPELINE_STEPS:
        return None
    preprocess, classifier = pipeline.named_steps[PREPROCESS_STEP], pipeline.named_steps[CLASSIFIER_STEP]
    if not isinstance(preprocess, ColumnTransformer) or type(classifier) is not LogisticRegression:
        return None
    if list(classifier.classes_) != [0, 1] or classifier.coef_.shape[0] != 1:
        return None
    weights = classifier.coef_[0]
    numeric: list[tuple[str, float, float, float]] = []
    categorical: list[tuple[str, Contributions]] = []
    for name, transformer, columns in preprocess.transformers_:
        if transformer == "drop" or (name == "remainder" and not len(columns)):
            continue
        block = weights[preprocess.output_indices_[name]]
        if _is_imputed_scaler(transformer):
            numeric.extend(_numeric_terms(transformer, list(columns), block))
        elif _is_plain_one_hot(transformer):
            categorical.extend(_categorical_terms(transformer, list(columns), block))
        else:
            return None
    return LinearScorer(float(classifier.intercept_[0]), tuple(numeric), tuple(categorical))


def _is_imputed_scaler(transformer: Any) -> bool:
    if not isinstance(transformer, Pipeline) or len(transformer.steps) != 2:
        return False
    imputer, scaler = transformer.steps[0][1], transformer.steps[1][1]
    return (
        isinstance(imputer, SimpleImputer)
        and imputer.strategy == "constant"
        and not imputer.add_indicator
        and isinstance(scaler, StandardScaler)
    )


def _numeric_terms(
    transformer: Pipeline, columns: list[str], block: np.ndarray
) -> list[tuple[str, float, float, float]]:
    imputer, scaler = transformer.steps[0][1], transformer.steps[1][1]
    means = scaler.mean_ if scaler.with_mean else np.zeros(len(columns))
    scales = scaler.scale_ if scaler.with_std else np.ones(len(columns))
    return [
        (column, float(imputer.statistics_[i]), float(means[i]), float(block[i] / scales[i]))
        for i, column in enumerate(columns)
    ]


def _is_plain_one_hot(transformer: Any) -> bool:
    return (
        isinstance(transformer, OneHotEncoder)
        and transformer.drop is None
        and transformer.handle_unknown == "ignore"
        and getattr(transformer, "infrequent_categories_", None) is None
        and transformer.min_frequency is None
        and transformer.max_categories is None
    )


def _categorical_terms(
    encoder: OneHotEncoder, columns: list[str], block: np.ndarray
) -> list[tuple[str, Contributions]]:
    terms: list[tuple[str, Contributions]] = []
    offset = 0
    for column, categories in zip(columns, encoder.categories_, strict=True):
        terms.append((column, Contributions({str(c): float(block[offset + i]) for i, c in enumerate(categories)})))
        offset += len(categories)
    return terms
