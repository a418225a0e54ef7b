"""Raw text columns at Arrow speed: what counts as blank, and surrounding whitespace stripped.

Whitespace is Python's (`str.isspace`, what `re`'s `\\s` matches); Arrow's kernels use the same definition
(checked code point by code point in tests/features/test_validation_speed.py). Pure: no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import pyarrow as pa


def arrow_text(text: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The Arrow strings behind a `str` Series (no copy when Arrow-backed, the pandas default with pyarrow)."""
    import pyarrow as pa

    if hasattr(text.array, "__arrow_array__"):
        return pa.array(text.array)
    return pa.array(text.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)


def blank(s: pd.Series) -> pd.Series:
    """True where a raw value is missing or an empty/whitespace string (no copy of the strings is made).

    Whitespace is Python's (`str.isspace`, what `re`'s `\\s` matches): Arrow's `utf8_is_space` uses the same
    definition (checked code point by code point in the tests), in one vectorised pass instead of a Python regex
    per value. Empty by the byte length (Arrow's offsets; no count of code points, issue 14).
    """
    missing = s.isna()
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        import pyarrow.compute as pc

        arr = arrow_text(s.astype("str"))
        empty = pc.fill_null(pc.or_(pc.equal(pc.binary_length(arr), 0), pc.utf8_is_space(arr)), False)
        missing = missing | np.asarray(empty, dtype=bool)
    return missing


def clean_text(s: pd.Series) -> pd.Series:
    """Strip surrounding whitespace, blanks become missing; copies the strings only when something changes."""
    import pyarrow.compute as pc

    text = s if isinstance(s.dtype, pd.StringDtype) else s.astype("str")
    arr = arrow_text(text)
    # Leading or trailing whitespace (Python's definition, as `str.strip`) iff trimming changes the value.
    if pc.any(pc.not_equal(pc.utf8_trim_whitespace(arr), arr)).as_py():
        text = text.str.strip()
    empty = blank(s)
    return text.where(~empty, None) if empty.any() else text
