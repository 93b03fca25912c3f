"""Metrics the data team and the retention team act on, and the threshold rule."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from services.common.call_list import call_list_metrics


def choose_threshold(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """The validation probability that, used as threshold, gives the highest F1; ties -> the lowest."""
    order = np.argsort(probabilities, kind="stable")
    sorted_probabilities, sorted_labels = probabilities[order], labels[order]
    candidates = np.unique(sorted_probabilities)
    first_at_or_above = np.searchsorted(sorted_probabilities, candidates, side="left")
    positives_from = np.cumsum(sorted_labels[::-1])[::-1]
    true_positives = positives_from[first_at_or_above]
    predicted_positives = len(sorted_labels) - first_at_or_above
    f1 = 2 * true_positives / (predicted_positives + sorted_labels.sum())
    return float(candidates[int(np.argmax(f1))])


def evaluate(labels: np.ndarray, probabilities: np.ndarray, threshold: float, fraction: float) -> dict[str, float]:
    """All test-split metrics, computed from the probabilities the model actually produced."""
    predicted = probabilities >= threshold
    metrics = {
        "roc_auc": float(roc_auc_score(labels, probabilities)),
        "pr_auc": float(average_precision_score(labels, probabilities)),
        "brier": float(brier_score_loss(labels, probabilities)),
        "log_loss": float(log_loss(labels, probabilities)),
        "precision_at_threshold": float(precision_score(labels, predicted, zero_division=0)),
        "recall_at_threshold": float(recall_score(labels, predicted, zero_division=0)),
        "f1_at_threshold": float(f1_score(labels, predicted, zero_division=0)),
    }
    metrics.update(call_list_metrics(labels, probabilities, fraction))
    return metrics
