"""Scorers turn columns of validated customers into churn probabilities; one module per model family.

To serve a new model family fast, add a module here with a `derive_*` function and try it in
`choose_scorer`; whatever it returns must reproduce the canary on both of its paths or it is dropped.
"""

from __future__ import annotations

import logging
from typing import Protocol

from services.common.frame import Columns
from services.common.model_bundle import ModelBundle, canary_problem
from services.predictor.scorers.linear import VECTOR_MIN_RECORDS, derive_linear_scorer
from services.predictor.scorers.pipeline import PipelineScorer

log = logging.getLogger(__name__)


class Scorer(Protocol):
    """What serving needs of a scorer."""

    @property
    def name(self) -> str: ...

    @property
    def inline(self) -> bool:
        """True when cheap enough to run on the event loop; False means a worker thread."""
        ...

    def probabilities(self, columns: Columns) -> list[float]: ...


def choose_scorer(bundle: ModelBundle) -> Scorer:
    """The fastest scorer that reproduces the canary exactly, else the pipeline itself."""
    fast = derive_linear_scorer(bundle.pipeline)
    if fast is not None:
        if reproduces_canary(fast, bundle):
            return fast
        log.warning("fast path disagrees with the pipeline; serving with the pipeline")
    return PipelineScorer(bundle)


def reproduces_canary(scorer: Scorer, bundle: ModelBundle) -> bool:
    """Both paths of a scorer (a few records in a loop, a batch by column) must give the canary."""
    one = bundle.canary_columns
    batch = {name: list(values) * VECTOR_MIN_RECORDS for name, values in one.items()}
    answers = [*scorer.probabilities(one), *scorer.probabilities(batch)]
    return all(canary_problem(bundle.canary_expected, answer) is None for answer in answers)
