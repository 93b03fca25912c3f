"""What the shadow lane shows: the challenger against the champion on the same answered customers.

Pure functions of the paired records (champion probability, challenger probability, churned or None), read
from the shared audit log. The figures use the training code's definitions (ROC-AUC; precision in the
top 10%, the shared call list), so realized figures equal the gate's on the same customers. Differences
(challenger minus champion) get a paired bootstrap 95% interval; the verdict reads them against the gate's
tolerances, once enough outcomes are in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from services.common.call_list import call_list_positions
from services.predictor.health.drift import psi

Pair = tuple[float, float, bool | None]  # champion probability, challenger probability, churned (None: unknown)
FIGURES = ("roc_auc", "precision_at_top")
BOOTSTRAP_ROUNDS = 1000
BOOTSTRAP_SEED = 20261203  # fixed: the same records give the same interval in every worker
SCORE_BINS = np.linspace(0.0, 1.0, 11)


@dataclass(frozen=True)
class Tolerances:
    """The promotion gate's: how much worse a candidate may be before it is refused."""

    roc_auc: float
    precision_at_top: float


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney form with average ranks for ties: equal to sklearn's roc_auc_score, without sklearn
    (a worker serving linear models never imports it)."""
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]
    positives = int(labels.sum())
    negatives = len(labels) - positives
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def precision_at_top(labels: np.ndarray, scores: np.ndarray) -> float:
    top = call_list_positions(scores)
    return float(labels[top].sum()) / len(top)


def figures(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    return {"roc_auc": roc_auc(labels, scores), "precision_at_top": precision_at_top(labels, scores)}


def top_overlap(champion: np.ndarray, challenger: np.ndarray) -> float:
    """The share of the champion's call list (top 10%) that the challenger also puts in its own."""
    theirs, mine = call_list_positions(champion), call_list_positions(challenger)
    return len(set(theirs.tolist()) & set(mine.tolist())) / len(theirs)


def score_psi(champion: np.ndarray, challenger: np.ndarray) -> float:
    """PSI of the challenger's scores against the champion's, on ten equal-width bins of [0, 1]."""
    expected = np.histogram(champion, SCORE_BINS)[0] / len(champion)
    actual = np.histogram(challenger, SCORE_BINS)[0] / len(challenger)
    return psi(expected.tolist(), actual.tolist())


def bootstrap_difference(labels: np.ndarray, champion: np.ndarray, challenger: np.ndarray) -> dict[str, Any]:
    """Challenger minus champion for each figure, with a paired bootstrap 95% percentile interval: the same
    resampled customers score both models, so what the two share cancels out."""
    mine, theirs = figures(labels, challenger), figures(labels, champion)
    estimate = {name: mine[name] - theirs[name] for name in FIGURES}
    draws: dict[str, list[float]] = {name: [] for name in FIGURES}
    generator = np.random.default_rng(BOOTSTRAP_SEED)
    count = len(labels)
    for _ in range(BOOTSTRAP_ROUNDS):
        sample = generator.integers(0, count, count)
        sampled = labels[sample]
        if sampled.min() == sampled.max():  # one class only: no ROC-AUC in this draw
            continue
        mine, theirs = figures(sampled, challenger[sample]), figures(sampled, champion[sample])
        for name in FIGURES:
            draws[name].append(mine[name] - theirs[name])
    return {
        name: {
            "estimate": estimate[name],
            "low": float(np.percentile(draws[name], 2.5)) if draws[name] else None,
            "high": float(np.percentile(draws[name], 97.5)) if draws[name] else None,
        }
        for name in FIGURES
    }


def verdict(realized: dict[str, Any] | None, outcomes: int, min_outcomes: int, tolerances: Tolerances) -> str:
    """inconclusive below `min_outcomes`; worse when either interval lies wholly below minus its tolerance;
    better when the ROC-AUC interval lies wholly above zero (and neither is worse); else no_difference."""
    if realized is None or outcomes < min_outcomes:
        return "inconclusive"
    difference = realized["difference"]
    if any(difference[name]["high"] is None for name in FIGURES):
        return "inconclusive"
    if any(difference[name]["high"] < -getattr(tolerances, name) for name in FIGURES):
        return "worse"
    if difference["roc_auc"]["low"] > 0:
        return "better"
    return "no_difference"


def shadow_report(
    challenger: dict[str, str] | None,
    pairs: Sequence[Pair],
    dropped: int,
    min_outcomes: int,
    tolerances: Tolerances,
    memo: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The body of GET /model/shadow (less what the serving process adds: champion, error, reason). `memo`: a
    dict kept by the caller between reports, where the realized block is reused while its inputs are equal."""
    report: dict[str, Any] = {
        "model": challenger,
        "paired": len(pairs),
        "dropped": dropped,
        "mean_abs_difference": None,
        "score_psi": None,
        "top_overlap": None,
        "outcomes": 0,
        "realized": None,
        "min_outcomes": min_outcomes,
        "verdict": "inconclusive",
    }
    if not pairs:
        return report
    champion = np.asarray([pair[0] for pair in pairs], dtype=float)
    mine = np.asarray([pair[1] for pair in pairs], dtype=float)
    report["mean_abs_difference"] = float(np.abs(mine - champion).mean())
    report["score_psi"] = score_psi(champion, mine)
    report["top_overlap"] = top_overlap(champion, mine)
    known = [index for index, pair in enumerate(pairs) if pair[2] is not None]
    report["outcomes"] = len(known)
    labels = np.asarray([int(bool(pairs[index][2])) for index in known], dtype=np.int64)
    if len(known) and 0 < labels.sum() < len(labels):
        theirs_known, mine_known = champion[known], mine[known]
        # The bootstrap is the costly part (1,000 rounds): reused until the outcomes or their scores change.
        version = None if challenger is None else challenger.get("version")
        fingerprint = (version, len(known), int(labels.sum()), float(theirs_known.sum()), float(mine_known.sum()))
        if memo is None or memo.get("fingerprint") != fingerprint:
            realized = {
                "champion": figures(labels, theirs_known),
                "challenger": figures(labels, mine_known),
                "difference": bootstrap_difference(labels, theirs_known, mine_known),
            }
            if memo is not None:
                memo.update(fingerprint=fingerprint, realized=realized)
        else:
            realized = memo["realized"]
        report["realized"] = realized
    report["verdict"] = verdict(report["realized"], len(known), min_outcomes, tolerances)
    return report
