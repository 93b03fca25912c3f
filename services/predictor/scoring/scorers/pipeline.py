"""The reference scorer: the fitted sklearn pipeline itself, for any model family without a fast path."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.frame import Columns
from services.common.model_bundle import ModelBundle


@dataclass(frozen=True)
class PipelineScorer:
    """~7 ms a call (pandas + ColumnTransformer checks): run in a worker thread, not on the event loop."""

    bundle: ModelBundle
    name: str = "pipeline"
    inline: bool = False

    def probabilities(self, columns: Columns) -> list[float]:
        return self.bundle.pipeline_probabilities(columns)
