"""The shadow report's figures and verdict, rule by rule (pure: no server)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from services.common.call_list import call_list_metrics
from services.predictor.shadow.report import (
    Tolerances,
    bootstrap_difference,
    precision_at_top,
    roc_auc,
    shadow_report,
    top_overlap,
    verdict,
)

TOLERANCES = Tolerances(roc_auc=0.005, precision_at_top=0.03)


@pytest.mark.parametrize("seed", range(5))
def test_roc_auc_and_top_precision_are_the_training_code_s(seed: int) -> None:
    generator = np.random.default_rng(seed)
    labels = generator.integers(0, 2, 800)
    scores = np.round(generator.random(800), 2)  # many ties: the average-rank rule matters
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert precision_at_top(labels, scores) == call_list_metrics(labels, scores)["precision_at_top"]


def test_the_same_model_overlaps_fully_and_differs_by_nothing() -> None:
    scores = np.random.default_rng(1).random(500)
    assert top_overlap(scores, scores) == 1.0
    assert top_overlap(scores, -scores) == 0.0
    labels = (np.random.default_rng(2).random(500) < scores).astype(np.int64)
    difference = bootstrap_difference(labels, scores, scores)
    assert difference["roc_auc"] == {"estimate": 0.0, "low": 0.0, "high": 0.0}


def report_with(roc: tuple[float, float], top: tuple[float, float]) -> dict[str, object]:
    return {
        "difference": {
            "roc_auc": {"estimate": sum(roc) / 2, "low": roc[0], "high": roc[1]},
            "precision_at_top": {"estimate": sum(top) / 2, "low": top[0], "high": top[1]},
        }
    }


@pytest.mark.parametrize(
    ("roc", "top", "expected"),
    [
        ((0.01, 0.03), (-0.02, 0.05), "better"),  # ROC-AUC interval wholly above zero
        ((-0.02, 0.03), (-0.02, 0.05), "no_difference"),
        ((-0.03, -0.006), (-0.02, 0.05), "worse"),  # wholly below minus the AUC tolerance
        ((-0.03, -0.004), (-0.02, 0.05), "no_difference"),  # below zero, but within the tolerance
        ((0.01, 0.03), (-0.09, -0.031), "worse"),  # better ROC-AUC, but the call list is worse
    ],
)
def test_the_verdict_reads_the_intervals_against_the_gate_s_tolerances(
    roc: tuple[float, float], top: tuple[float, float], expected: str
) -> None:
    assert verdict(report_with(roc, top), 500, 200, TOLERANCES) == expected


def test_below_the_minimum_outcomes_the_verdict_is_inconclusive_whatever_the_figures() -> None:
    assert verdict(report_with((0.1, 0.2), (0.1, 0.2)), 199, 200, TOLERANCES) == "inconclusive"
    assert verdict(None, 10_000, 200, TOLERANCES) == "inconclusive"


def test_a_clearly_better_challenger_is_found_better_with_enough_outcomes() -> None:
    generator = np.random.default_rng(7)
    churned = generator.random(2000) < 0.3
    champion = np.clip(churned * 0.15 + generator.random(2000) * 0.85, 0, 1)  # weak
    challenger = np.clip(churned * 0.6 + generator.random(2000) * 0.4, 0, 1)  # strong
    pairs = [(float(h), float(c), bool(o)) for h, c, o in zip(champion, challenger, churned, strict=True)]
    report = shadow_report({"name": "m", "version": "2", "run_id": "r"}, pairs, 3, 200, TOLERANCES)
    assert report["paired"] == 2000 and report["dropped"] == 3 and report["outcomes"] == 2000
    assert report["verdict"] == "better"
    difference = report["realized"]["difference"]["roc_auc"]
    assert difference["low"] < difference["estimate"] < difference["high"] and difference["low"] > 0
    # the reverse roles: the weak one is worse by far more than the tolerance
    swapped = [(c, h, o) for h, c, o in pairs]
    assert shadow_report(None, swapped, 0, 200, TOLERANCES)["verdict"] == "worse"
    few = shadow_report(None, [(h, c, o if i < 150 else None) for i, (h, c, o) in enumerate(pairs)], 0, 200, TOLERANCES)
    assert few["outcomes"] == 150 and few["verdict"] == "inconclusive" and few["realized"] is not None


def test_no_pairs_is_an_honest_empty_report() -> None:
    report = shadow_report(None, [], 0, 200, TOLERANCES)
    assert report["paired"] == 0 and report["top_overlap"] is None and report["realized"] is None
    assert report["verdict"] == "inconclusive"


def test_the_bootstrap_is_reused_until_the_outcomes_change() -> None:
    generator = np.random.default_rng(3)
    pairs = [(float(h), float(c), bool(o > 0.5)) for h, c, o in generator.random((600, 3))]
    memo: dict[str, object] = {}
    first = shadow_report({"version": "2"}, pairs, 0, 200, TOLERANCES, memo)
    again = shadow_report({"version": "2"}, pairs, 0, 200, TOLERANCES, memo)
    assert again["realized"] is first["realized"]  # not recomputed
    fewer = shadow_report(
        {"version": "2"}, [(h, c, None) for h, c, _ in pairs[:10]] + pairs[10:], 0, 200, TOLERANCES, memo
    )
    assert fewer["realized"] is not first["realized"] and fewer["outcomes"] == 590
    assert shadow_report({"version": "2"}, pairs, 0, 200, TOLERANCES)["realized"] == first["realized"]
