"""A key repeated with other values: a file of one row per line where the contract wants one row per entity (an
order export of order lines). Used by the contract's validation (`features.validation`)."""

from __future__ import annotations

import pandas as pd

from features.errors import StructuralError

#: From this share of a table's rows (and `MIN_ROWS` rows), duplicates of a key that carry other values are the
#: file's layout (one row per order line), not a re-exported row: rejecting them keeps only each first line.
LINE_SHARE = 0.01
MIN_ROWS = 3


def check_one_row_per_key(table: str, t: pd.DataFrame, key: str, duplicate: pd.Series) -> None:
    """Structural error when many of the rows `duplicate` (those repeating an earlier row's `key`) differ from
    that row in another column. Identical repeats (an order exported twice) stay row rejects."""
    n = int(duplicate.sum())
    if n < max(MIN_ROWS, LINE_SHARE * len(t)):
        return
    keys = t.loc[duplicate.to_numpy(dtype=bool), key].unique()
    rows = t[t[key].isin(keys)]
    distinct = rows.drop_duplicates()
    differing = distinct[distinct[key].duplicated(keep=False)]
    lines = int(rows[key].isin(differing[key].unique()).sum()) - differing[key].nunique()
    if lines < max(MIN_ROWS, LINE_SHARE * len(t)):
        return
    example = differing[differing[key] == differing[key].iloc[0]]
    raise StructuralError(
        f"table {table!r}, column {key!r}: {lines:,} of {len(t):,} rows repeat the {key} of an earlier row with "
        f"other values ({example[key].iloc[0]!r} on {len(example)} rows that differ): the file looks like one row "
        f"per line, not one per {key.removesuffix('_id')}. Rejected as duplicates, every line after the first "
        f"would be lost. Give one row per {key} (the lines summed), or read the file through a mapping that "
        f"groups its lines (`group_by`, as configs/datasets/online_retail.yaml does).\nExample rows:\n"
        f"{example.head(5).to_string(max_colwidth=40)}"
    )
