"""Realized performance: what happened to scored customers (POST /outcomes) against what the model said,
per model version, beside the version's training test metrics, with the training code's definitions (the
same ROC-AUC, threshold precision and recall, and the shared top-10% call list).

Calls change outcomes (a customer talked out of leaving counts as a miss), so figures are given for all
outcomes and for the customers not contacted (contacted false or not given): the honest measure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from services.common.call_list import call_list_metrics

Outcome = tuple[str, float, float, bool, bool | None]  # version, probability, threshold, churned, contacted
COMPARED = ("roc_auc", "precision_at_top")  # the figures the alert compares with training


def realized(rows: Sequence[Outcome]) -> dict[str, Any]:
    labels = np.asarray([row[3] for row in rows], dtype=np.int64)
    probabilities = np.asarray([row[1] for row in rows], dtype=float)
    thresholds = np.asarray([row[2] for row in rows], dtype=float)
    figures: dict[str, Any] = {"outcomes": len(rows), "churned": int(labels.sum())}
    if len(rows) == 0:
        return figures
    predicted = probabilities >= thresholds
    flagged, positives = int(predicted.sum()), int(labels.sum())
    hits = int((predicted & (labels == 1)).sum())
    figures["precision_at_threshold"] = hits / flagged if flagged else None
    figures["recall_at_threshold"] = hits / positives if positives else None
    both_classes = 0 < positives < len(rows)
    figures["roc_auc"] = _roc_auc(labels, probabilities) if both_classes else None
    if positives:
        top = call_list_metrics(labels, probabilities)
        figures["precision_at_top"] = top["precision_at_top"]
        figures["lift_at_top"] = top["lift_at_top"]
    else:
        figures["precision_at_top"] = figures["lift_at_top"] = None
    return figures


def performance_report(
    rows: Sequence[Outcome],
    serving_version: str | None,
    training_metrics: dict[str, float],
    margin: float,
    min_outcomes: int,
    other_training: Callable[[str], dict[str, float] | None] = lambda _: None,
) -> dict[str, Any]:
    """`training_metrics`: the serving version's; `other_training(version)`: any other version's own (None
    when they cannot be read now: that version's training block is then null)."""
    versions: dict[str, list[Outcome]] = {}
    for row in rows:
        versions.setdefault(row[0], []).append(row)
    report: dict[str, Any] = {"serving_version": serving_version, "margin": margin, "min_outcomes": min_outcomes}

    def training_of(version: str) -> dict[str, float | None] | None:
        metrics = training_metrics if version == serving_version else other_training(version)
        return None if metrics is None else _training(metrics)

    report["versions"] = {
        version: {
            "all": realized(group),
            "not_contacted": realized([row for row in group if not row[4]]),
            "training": training_of(version),
        }
        for version, group in sorted(versions.items(), key=lambda item: int(item[0]) if item[0].isdigit() else 0)
    }
    report["below_training"] = below_training(report["versions"].get(serving_version or ""), margin, min_outcomes)
    return report


def below_training(entry: dict[str, Any] | None, margin: float, min_outcomes: int) -> list[str]:
    """The figures of the serving version that fell below training by more than `margin` (uncontacted
    customers, once `min_outcomes` of them are in); empty when fine or not yet known."""
    if entry is None or entry["training"] is None or entry["not_contacted"]["outcomes"] < min_outcomes:
        return []
    now, then = entry["not_contacted"], entry["training"]
    return [
        name
        for name in COMPARED
        if now.get(name) is not None and then.get(name) is not None and now[name] < then[name] - margin
    ]


def _training(metrics: dict[str, float]) -> dict[str, float | None]:
    names = ("roc_auc", "precision_at_threshold", "recall_at_threshold", "precision_at_top", "lift_at_top")
    return {name: metrics.get(f"test_{name}") for name in names}


def _roc_auc(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """sklearn's roc_auc_score, as training computes it (imported here: a linear model serves without it)."""
    from sklearn.metrics import roc_auc_score

    value = float(roc_auc_score(labels, probabilities))
    return value if math.isfinite(value) else float("nan")
