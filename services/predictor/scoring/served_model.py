"""The model as served: a checked bundle, the scorer chosen for it, and its data-profile limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from services.common.frame import Columns
from services.common.model_bundle import ModelBundle, check_canary
from services.predictor.scoring.profile_limits import ProfileLimits, ProfileWarning
from services.predictor.scoring.reasons import Explainer, explainer_for, top_reasons
from services.predictor.scoring.scorers import Scorer, choose_scorer
from services.predictor.scoring.scorers.pipeline import PipelineScorer

Source = Literal["registry", "cache"]


@dataclass(frozen=True)
class ServedModel:
    """Immutable: a request holds one reference for its whole life, so a swap never changes it midway."""

    bundle: ModelBundle
    scorer: Scorer
    source: Source
    loaded_at: datetime
    load_seconds: float
    limits: ProfileLimits = ProfileLimits()
    explainer: Explainer | None = None

    @classmethod
    def build(cls, bundle: ModelBundle, source: Source, loaded_at: datetime, load_seconds: float) -> ServedModel:
        """Choose the scorer and check the serving path reproduces the canary; refuse the model if not."""
        scorer = choose_scorer(bundle)
        served = cls(
            bundle,
            scorer,
            source,
            loaded_at,
            load_seconds,
            ProfileLimits.of(bundle.profile),
            explainer_for(scorer, bundle.profile, bundle.canary_columns),
        )
        check_canary(bundle.canary_expected, served.probabilities(bundle.canary_columns)[0])
        return served

    @property
    def reference(self) -> dict[str, str]:
        return {"name": self.bundle.name, "version": self.bundle.version, "run_id": self.bundle.run_id}

    @property
    def threshold(self) -> float:
        return self.bundle.threshold

    @property
    def fast_path(self) -> bool:
        """True when a derived scorer serves, not the pipeline."""
        return not isinstance(self.scorer, PipelineScorer)

    def probabilities(self, columns: Columns) -> list[float]:
        return self.scorer.probabilities(columns)

    def profile_warnings(self, columns: Columns) -> dict[int, list[ProfileWarning]]:
        return self.limits.warnings(columns)

    def reasons(self, columns: Columns, limit: int) -> list[list[dict[str, object]]]:
        """Per record, up to `limit` factors raising its risk most (see reasons.py)."""
        assert self.explainer is not None
        return top_reasons(self.explainer, columns, limit)
