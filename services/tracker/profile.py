"""The data profile stored with each model: what the training split holds, for soft warnings and drift."""

from __future__ import annotations

from typing import Any

import pandas as pd

from services.common.customer import CATEGORICAL_FIELDS, NUMERIC_FIELDS

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def build_profile(features: pd.DataFrame) -> dict[str, Any]:
    """Per numeric field min/max/quantiles/nulls; per categorical field the values and their frequencies."""
    numeric: dict[str, Any] = {}
    for name in NUMERIC_FIELDS:
        column = features[name]
        present = column.dropna()
        numeric[name] = {
            "min": float(present.min()),
            "max": float(present.max()),
            "quantiles": {str(q): float(present.quantile(q)) for q in QUANTILES},
            "null_fraction": float(column.isna().mean()),
        }
    categorical = {
        name: {str(value): float(freq) for value, freq in features[name].value_counts(normalize=True).items()}
        for name in CATEGORICAL_FIELDS
    }
    return {"rows": len(features), "numeric": numeric, "categorical": categorical}
