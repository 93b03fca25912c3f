"""Scorers turn columns of validated customers into churn probabilities; one module per model family.

To serve a new model family fast, add a module here with a `derive_*` function and try it in
`choose_scorer`; whatever it returns must reproduce the canary on both of its paths or it is dropped.
"""

from __future__ import annotations

import logging
from typing import Protocol

from services.common.frame import Columns
from services.common.model_bundle import ModelBundle, canary_problem
from services.predictor.scoring.scorers.linear import SIDECAR_NAME, VECTOR_MIN_RECORDS, LinearScorer, read_sidecar
from services.predictor.scoring.scorers.pipeline import PipelineScorer

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
    """The fastest scorer that reproduces the canary exactly, else the pipeline itself.

    A linear scorer kept beside the model (written at its first load) serves without loading the
    pipeline; one that no longer reproduces the canary is derived again from the pipeline."""
    kept = read_sidecar(bundle.path)
    if kept is not None:
        if reproduces_canary(kept, bundle):
            return kept
        log.warning("the kept linear scorer disagrees with the canary; deriving it again from the pipeline")
    from services.predictor.scoring.scorers.linear_fit import derive_linear_scorer  # sklearn: only with a pipeline

    fast = derive_linear_scorer(bundle.pipeline)
    if fast is not None:
        if reproduces_canary(fast, bundle):
            _keep(fast, bundle)
            return fast
        log.warning("fast path disagrees with the pipeline; serving with the pipeline")
    return PipelineScorer(bundle)


def _keep(scorer: LinearScorer, bundle: ModelBundle) -> None:
    """Best effort: a read-only model folder only costs the next start its sklearn import."""
    try:
        (bundle.path / SIDECAR_NAME).write_text(scorer.to_json(), encoding="utf-8")
    except OSError as error:
        log.info("linear scorer not kept beside %s: %s", bundle.path, error)


def reproduces_canary(scorer: Scorer, bundle: ModelBundle) -> bool:
    """Both paths of a scorer (a few records in a loop, a batch by column) must give the canary."""
    one = bundle.canary_columns
    batch = {name: list(values) * VECTOR_MIN_RECORDS for name, values in one.items()}
    answers = [*scorer.probabilities(one), *scorer.probabilities(batch)]
    return all(canary_problem(bundle.canary_expected, answer) is None for answer in answers)
