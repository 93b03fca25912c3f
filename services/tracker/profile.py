"""The data profile stored with each model: what the training split holds, for soft warnings and drift."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from services.common.customer import CATEGORICAL_FIELDS, NUMERIC_FIELDS
from services.common.model_metadata import DRIFT_BIN_QUANTILES, NumericProfile, TrainingProfile

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def numeric_profile(values: pd.Series) -> NumericProfile:
    """Range, quantiles, nulls and the inner edges of the drift bins of one number."""
    present = values.dropna()
    edges = sorted({float(present.quantile(q)) for q in DRIFT_BIN_QUANTILES})
    counts = np.bincount(np.searchsorted(edges, present.to_numpy(dtype=float), side="right"), minlength=len(edges) + 1)
    return NumericProfile(
        min=float(present.min()),
        max=float(present.max()),
        quantiles={str(q): float(present.quantile(q)) for q in QUANTILES},
        null_fraction=float(values.isna().mean()),
        bin_edges=edges,
        bin_fractions=[float(c) for c in counts / max(len(present), 1)],
    )


def build_profile(features: pd.DataFrame, scores: Sequence[float] | np.ndarray | None = None) -> TrainingProfile:
    """Per numeric field a NumericProfile; per categorical field the values and their frequencies."""
    categorical = {
        name: {str(value): float(freq) for value, freq in features[name].value_counts(normalize=True).items()}
        for name in CATEGORICAL_FIELDS
    }
    return TrainingProfile(
        rows=len(features),
        numeric={name: numeric_profile(features[name]) for name in NUMERIC_FIELDS},
        categorical=categorical,
        score=None if scores is None else numeric_profile(pd.Series(np.asarray(scores, dtype=float))),
    )
