"""Customer records -> the feature frame every model is fitted on and scored with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from services.common.customer import FEATURE_FIELDS, INTEGER_FIELDS, NUMERIC_FIELDS


def records_to_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build the model input with fixed column order and dtypes (null TotalCharges -> NaN)."""
    columns: dict[str, Any] = {name: [] for name in FEATURE_FIELDS}
    for record in records:
        for name in FEATURE_FIELDS:
            columns[name].append(record[name])
    data: dict[str, Any] = {}
    for name in FEATURE_FIELDS:
        if name in INTEGER_FIELDS:
            data[name] = np.asarray(columns[name], dtype=np.int64)
        elif name in NUMERIC_FIELDS:
            data[name] = np.asarray([np.nan if v is None else v for v in columns[name]], dtype=np.float64)
        else:
            data[name] = pd.Series(columns[name], dtype=object)
    return pd.DataFrame(data, columns=list(FEATURE_FIELDS))
