"""The retention team's call list: the 10% highest-risk customers. One definition for training, the
promotion gate and (later) realized performance, so the figures they report mean the same thing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CALL_LIST_FRACTION = 0.10


def call_list_size(customers: int, fraction: float = CALL_LIST_FRACTION) -> int:
    return max(1, int(round(customers * fraction)))


def call_list_positions(probabilities: np.ndarray, fraction: float = CALL_LIST_FRACTION) -> np.ndarray:
    """Positions of the highest-risk customers, riskiest first (ties: the earlier customer first)."""
    return np.argsort(-probabilities, kind="stable")[: call_list_size(len(probabilities), fraction)]


def call_list_ids(ids: Sequence[str], probabilities: np.ndarray, fraction: float = CALL_LIST_FRACTION) -> list[str]:
    return [ids[position] for position in call_list_positions(probabilities, fraction)]


def call_list_metrics(
    labels: np.ndarray, probabilities: np.ndarray, fraction: float = CALL_LIST_FRACTION
) -> dict[str, float]:
    """Precision, recall and lift among the top `fraction` highest-risk customers (the call list)."""
    top = call_list_positions(probabilities, fraction)
    hits = float(labels[top].sum())
    precision = hits / len(top)
    return {
        "precision_at_top": precision,
        "recall_at_top": hits / float(labels.sum()),
        "lift_at_top": precision / float(labels.mean()),
    }
