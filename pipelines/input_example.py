"""MLflow's input example for a trained model: a few synthetic feature rows (per column a quantile of the numbers,
the median first, or a common category), never a row of the training features (a real customer's), never a personal
column or an id. Called by `pipelines.train.train_and_register` for the logged model's example and signature.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.contract import PERSONAL_COLUMNS

# the quantiles of the example rows: the first row is each column's median (most common category)
EXAMPLE_QUANTILES = (0.5, 0.25, 0.75, 0.1, 0.9, 0.05, 0.95, 0.4, 0.6, 0.3, 0.7)


def _synthetic_values(col: pd.Series) -> list[Any]:
    """A column's values for the candidate example rows: numbers at `EXAMPLE_QUANTILES`, else the most common
    values in turn (none when the column holds none)."""
    present = col.dropna()
    if present.empty:
        return [None] * len(EXAMPLE_QUANTILES)
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        method = "linear" if pd.api.types.is_float_dtype(col) else "nearest"
        return list(present.quantile(list(EXAMPLE_QUANTILES), interpolation=method))
    common = present.value_counts(sort=True)
    common = list(common[common > 0].index)
    return [common[k % len(common)] for k in range(len(EXAMPLE_QUANTILES))]


def _is_a_row_of(row: pd.Series, frame: pd.DataFrame) -> bool:
    """Whether `frame` holds a row equal to `row` in every column (missing equal to missing)."""
    at = np.arange(len(frame))
    for c in frame.columns:
        values = frame[c].iloc[at]
        same = values.isna() if pd.isna(row[c]) else values.eq(row[c]) & values.notna()
        at = at[same.to_numpy(dtype=bool)]
        if not len(at):
            return False
    return True


def _input_example(features: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """A few synthetic feature rows for MLflow's input example and signature, never a row of `features` (a real
    customer's): per column a quantile of the numbers (the median first) or a common category, categories as
    strings (as MLflow passes them); never a personal column or an id."""
    leaked = set(features.columns) & (PERSONAL_COLUMNS | {"customer_id"})
    if leaked:
        raise AssertionError(f"personal or id columns in the model input: {sorted(leaked)}")
    candidates = pd.DataFrame({c: _synthetic_values(features[c]) for c in features.columns}, dtype=object)
    rows = [row for _, row in candidates.iterrows() if not _is_a_row_of(row, features)][:n]
    if not rows:  # every candidate is a real row (a tiny, uniform set): a number above its column's largest
        row = candidates.iloc[0].copy()
        numbers = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]
        numbers = [
            c for c in numbers if features[c].notna().any() and not pd.api.types.is_bool_dtype(features[c])
        ]
        if not numbers:
            raise AssertionError("no synthetic input example differs from every training row")
        row[numbers[0]] = features[numbers[0]].max() + 1
        rows.append(row)
    ex = pd.DataFrame(rows).reset_index(drop=True)
    for c in ex.columns:
        if isinstance(features[c].dtype, pd.CategoricalDtype) or features[c].dtype == object:
            ex[c] = ex[c].map(lambda v: None if v is None or pd.isna(v) else str(v)).astype(object)
        else:
            ex[c] = ex[c].astype(features[c].dtype)
    return ex
