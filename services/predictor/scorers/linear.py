"""The linear scorer, derived from the fitted pipeline at load time: per-category contributions + scaled numerics.

The sklearn pipeline costs ~7 ms per one-row call (ColumnTransformer checks); the same logistic model
as a lookup-and-sum costs a few microseconds and agrees to ~1e-16. Only the exact pipeline shape we
train is covered; anything else returns None and the caller keeps using the pipeline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from services.common.frame import Columns
from services.common.pipeline_steps import CLASSIFIER_STEP, PIPELINE_STEPS, PREPROCESS_STEP

# Below this many records a plain loop beats numpy's per-call overhead (~1 us a column).
VECTOR_MIN_RECORDS = 64


class Contributions(dict[str, float]):
    """Category -> logit contribution; a category the encoder never saw contributes 0 (all-zero one-hot)."""

    def __missing__(self, key: str) -> float:
        return 0.0


@dataclass(frozen=True)
class LinearScorer:
    """logit = intercept + sum(weight * (value - mean) / scale) + sum(contribution[field][category])."""

    intercept: float
    # (field, fill value for null, mean, weight / scale)
    numeric: tuple[tuple[str, float, float, float], ...]
    categorical: tuple[tuple[str, Contributions], ...]
    name: str = "linear"
    inline: bool = True  # microseconds a record: scored on the event loop, no thread hand-over

    def probabilities(self, columns: Columns) -> list[float]:
        """One probability per record: a loop for a few records, numpy by column for a batch."""
        count = len(next(iter(columns.values()), ()))
        return self._by_record(columns, count) if count < VECTOR_MIN_RECORDS else self._by_column(columns, count)

    def _by_record(self, columns: Columns, count: int) -> list[float]:
        intercept, exp = self.intercept, math.exp
        numeric = [(columns[name], fill, mean, weight) for name, fill, mean, weight in self.numeric]
        categorical = [(columns[name], contributions) for name, contributions in self.categorical]
        results: list[float] = []
        for i in range(count):
            logit = intercept
            for column, fill, mean, weight in numeric:
                value = column[i]
                logit += ((fill if value is None else value) - mean) * weight
            for column, contributions in categorical:
                logit += contributions[column[i]]
            # Numerically stable sigmoid, as scipy's expit that sklearn uses.
            results.append(1.0 / (1.0 + exp(-logit)) if logit >= 0 else exp(logit) / (1.0 + exp(logit)))
        return results

    def _by_column(self, columns: Columns, count: int) -> list[float]:
        logits = np.full(count, self.intercept)
        for name, fill, mean, weight in self.numeric:
            values = np.asarray(columns[name], dtype=np.float64)  # null -> NaN -> the imputer's fill
            logits += (np.where(np.isnan(values), fill, values) - mean) * weight
        for name, contributions in self.categorical:
            logits += np.fromiter(map(contributions.__getitem__, columns[name]), dtype=np.float64, count=count)
        probabilities: list[float] = expit(logits).tolist()
        return probabilities


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
