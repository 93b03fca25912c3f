"""The model as served: a checked bundle plus its fast scorer and its data-profile limits."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from services.common.customer import allowed_categories
from services.common.frame import Columns
from services.common.model_bundle import CANARY_TOLERANCE, ModelBundle, check_canary
from services.predictor.fast_path import VECTOR_MIN_RECORDS, LinearScorer, derive_scorer

log = logging.getLogger(__name__)

Source = Literal["registry", "cache"]


@dataclass(frozen=True)
class ProfileWarning:
    field: str
    value: Any
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "value": self.value, "message": self.message}


@dataclass(frozen=True)
class ServedModel:
    """Immutable: a request holds one reference for its whole life, so a swap never changes it midway."""

    bundle: ModelBundle
    scorer: LinearScorer | None
    source: Source
    loaded_at: datetime
    load_seconds: float
    numeric_bounds: tuple[tuple[str, float, float], ...] = ()
    # Only fields where the training data lacks some category the schema allows (usually none).
    categories: tuple[tuple[str, frozenset[str]], ...] = ()

    @classmethod
    def build(cls, bundle: ModelBundle, source: Source, loaded_at: datetime, load_seconds: float) -> ServedModel:
        """Derive the fast path and check it reproduces the canary; refuse the model if serving would not."""
        scorer = derive_scorer(bundle.pipeline)
        if scorer is not None and not _reproduces_canary(scorer, bundle):
            log.warning("fast path disagrees with the pipeline; serving with the pipeline")
            scorer = None
        profile = bundle.profile
        bounds = tuple((name, float(v["min"]), float(v["max"])) for name, v in profile.get("numeric", {}).items())
        categories = tuple(
            (name, frozenset(values))
            for name, values in profile.get("categorical", {}).items()
            if set(values) != set(allowed_categories(name))
        )
        served = cls(bundle, scorer, source, loaded_at, load_seconds, bounds, categories)
        check_canary(bundle.canary_expected, served.probabilities(bundle.canary_columns)[0])
        return served

    @property
    def reference(self) -> dict[str, str]:
        return {"name": self.bundle.name, "version": self.bundle.version, "run_id": self.bundle.run_id}

    @property
    def threshold(self) -> float:
        return self.bundle.threshold

    def probabilities(self, columns: Columns) -> list[float]:
        """The serving path: the derived scorer when there is one, else the pipeline itself."""
        if self.scorer is not None:
            return self.scorer.probabilities(columns)
        return self.bundle.pipeline_probabilities(columns)

    def profile_warnings(self, columns: Columns) -> dict[int, list[ProfileWarning]]:
        """Record index -> values inside the hard rules but outside what the training data held."""
        found: dict[int, list[ProfileWarning]] = {}
        for name, low, high in self.numeric_bounds:
            outside = [(i, v) for i, v in enumerate(columns[name]) if v is not None and not low <= v <= high]
            for i, value in outside:
                found.setdefault(i, []).append(
                    ProfileWarning(name, value, f"outside the training data's range {low:g}..{high:g}")
                )
        for name, allowed in self.categories:
            for i, value in enumerate(columns[name]):
                if value not in allowed:
                    found.setdefault(i, []).append(
                        ProfileWarning(name, value, "a category the training data does not hold")
                    )
        return found


def _reproduces_canary(scorer: LinearScorer, bundle: ModelBundle) -> bool:
    """Both of the scorer's paths (one record in a loop, a batch by column) must give the canary."""
    one = bundle.canary_columns
    batch = {name: list(values) * VECTOR_MIN_RECORDS for name, values in one.items()}
    answers = [*scorer.probabilities(one), *scorer.probabilities(batch)]
    return all(abs(answer - bundle.canary_expected) <= CANARY_TOLERANCE for answer in answers)
