"""Customer records -> columns -> the feature frame every model is fitted on and scored with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from services.common.customer import FEATURE_FIELDS, INTEGER_FIELDS, NUMERIC_FIELDS

if TYPE_CHECKING:
    import pandas as pd

# field name -> one value per record; a batch is scored column by column.
Columns = Mapping[str, Sequence[Any]]


def records_to_columns(records: Iterable[Mapping[str, Any]], names: Iterable[str] = FEATURE_FIELDS) -> Columns:
    rows = list(records)
    return {name: [record[name] for record in rows] for name in names}


def columns_to_frame(columns: Columns) -> pd.DataFrame:
    """Build the model input with fixed column order and dtypes (null TotalCharges -> NaN)."""
    import pandas as pd  # here: a predictor serving the linear scorer never builds a frame

    data: dict[str, Any] = {}
    for name in FEATURE_FIELDS:
        if name in INTEGER_FIELDS:
            data[name] = np.asarray(columns[name], dtype=np.int64)
        elif name in NUMERIC_FIELDS:
            data[name] = np.asarray(columns[name], dtype=np.float64)  # None -> NaN
        else:
            data[name] = pd.Series(columns[name], dtype=object)
    return pd.DataFrame(data, columns=list(FEATURE_FIELDS))


def records_to_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    return columns_to_frame(records_to_columns(records))
