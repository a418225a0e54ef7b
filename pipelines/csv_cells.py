"""Text cells of the CSV files the product writes (rejects, feature tables, scores, profile tables): safe to open in
a spreadsheet (`neutralise_formulas`, called by `pipelines.io.write_frame`), and read back as they were written
(`read_written_csv`, `cvp report --profile`): the formula prefix taken off, text kept as text, never pandas' type
and missing-value guessing (`NA` for North America read as missing, manager `0001` as the number 1)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
_FORMULA_START_PATTERN = "^[=+\\-@\t\r]"  # `_FORMULA_START` as one pattern (Arrow's RE2)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) get a leading
    `'` (OWASP CSV injection advice). Only text columns, text categories (the feature table's `profile_*`), a
    text index and the header; numbers, and text that is a plain number such as `-5`, are left alone. Returns `frame` itself when nothing needs changing."""
    out = frame

    def fix(s: pd.Series | pd.Index) -> pd.Series | pd.Index | None:
        if isinstance(s.dtype, pd.CategoricalDtype):  # the feature table's profile_* columns: text categories
            s = s.astype(object) if _is_text(s.dtype.categories) else s
        if not _is_text(s):
            return None
        risky = _risky(s)
        if risky is None:
            return None
        text = pd.Series(s, dtype=object).where(risky, None)
        fixed = pd.Series(s, dtype=object).where(~risky, "'" + text)
        return pd.Index(fixed, name=s.name) if isinstance(s, pd.Index) else fixed.set_axis(s.index)

    for col in frame.columns:
        fixed = fix(frame[col])
        if fixed is not None:
            out = out.copy() if out is frame else out
            out[col] = fixed
    fixed_index = fix(frame.index)
    if fixed_index is not None:
        out = out.copy() if out is frame else out
        out.index = fixed_index
    fixed_header = None if isinstance(frame.columns, pd.MultiIndex) else fix(frame.columns)
    if fixed_header is not None:  # a header named after a data value (a category, a manager id)
        out = out.copy() if out is frame else out
        out.columns = fixed_header
    return out


def _risky(s: pd.Series | pd.Index) -> np.ndarray | None:
    """Which cells of a text column a spreadsheet would run as a formula (`neutralise_formulas`' rule), None when
    none. Vectorised (round 38, was: a Python call per cell, about 60% of `write_frame`'s time): the cells are
    looked at through Arrow when every one is text or missing (the usual column), each cell's first character
    first and the plain-number pattern only on those that start like a formula; a column mixing text with other
    objects (numbers, bytes) takes its text cells through pandas' string methods, as before."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pd.Series(s, dtype=object)
    text = _arrow_text(values)
    if text is not None:
        starts = pc.fill_null(pc.match_substring_regex(text, _FORMULA_START_PATTERN), False)
        if not pc.any(starts).as_py():
            return None
        rows = np.flatnonzero(starts.to_numpy(zero_copy_only=False))
        plain = pc.match_substring_regex(text.take(pa.array(rows)), _PLAIN_NUMBER).to_numpy(
            zero_copy_only=False
        )
        risky = np.zeros(len(values), dtype=bool)
        risky[rows[~plain]] = True
    else:
        text = values.map(lambda v: v if isinstance(v, str) else None)
        risky = (
            text.str.startswith(_FORMULA_START, na=False) & ~text.str.match(_PLAIN_NUMBER, na=False)
        ).to_numpy(dtype=bool)
    return risky if risky.any() else None


def _arrow_text(values: pd.Series) -> Any:
    """An object column as an Arrow string array when every cell is text or missing, else None."""
    import pyarrow as pa

    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return None
    return pa.array(values.to_numpy(), type=pa.large_string(), from_pandas=True)


def line_end(frame: pd.DataFrame) -> str:
    """The line end `write_frame` writes `frame`'s CSV with: `\n`, or RFC 4180's `\r\n` when a text cell holds a
    carriage return (`a\rb`: a cell of an old-Mac export, rejected for its invisible character), which Python's
    CSV writer quotes only when it is part of the line end: written bare, the reader took it for a line end and the
    rejects file's row was cut in two (the fuzz harness, `bench/fuzz_inputs.py`). Only text columns, the index
    and the header are looked at, each one `str.contains` over its text."""

    def holds_cr(s: pd.Series | pd.Index) -> bool:
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.dtype.categories
        if not _is_text(s):
            return False
        # the text cells only: other objects are written as their `str`, which holds no CR (raw bytes, a Parquet
        # `binary` column outside the contract, as `b'\xff\r'`; was: `astype(str)` decoded them as UTF-8, and
        # bytes that are not UTF-8 raised UnicodeDecodeError: exit 1, no rejects file)
        try:
            return bool(pd.Series(s, dtype=object).str.contains("\r", regex=False).fillna(False).any())
        except (TypeError, AttributeError):  # no text cell: bytes, or numbers held as objects
            return False

    parts = [frame.iloc[:, i] for i in range(frame.shape[1])] + [frame.index, frame.columns]
    return "\r\n" if any(holds_cr(s) for s in parts) else "\n"


def _is_text(s: pd.Series | pd.Index) -> bool:
    return s.dtype == object or isinstance(s.dtype, pd.StringDtype)


def read_written_csv(path: Path, text_columns: Iterable[str]) -> pd.DataFrame:
    """A CSV file `write_frame` wrote, read back: `text_columns` (those present) as text exactly, only an empty
    cell missing (was: pandas' defaults, `NA`, `null`, `None`, `n/a` read as missing and `0001`, `007` as numbers:
    a region `NA` shown as `nan`, managers `0001` and `1` one row), the `'` `neutralise_formulas` put before a
    cell taken off; the other columns typed as pandas reads them (numbers, `True`/`False`)."""
    text = set(text_columns)
    frame = pd.read_csv(
        path,
        dtype={c: str for c in text},
        keep_default_na=False,
        na_values=[""],
        encoding="utf-8",
    )
    for col in text & set(frame.columns):
        frame[col] = restore_formulas(frame[col])
    return frame


def restore_formulas(s: pd.Series) -> pd.Series:
    """`neutralise_formulas` undone on one text column as read back: `'=x` is `=x` again (and `'+1 a`, `'-x`,
    `'@x`); a cell that starts with `'` otherwise was written so and is kept. Vectorised: a column without a
    cell starting with `'` (the usual case) is returned as it is after one pass."""
    if not _is_text(s):
        return s
    quoted = s.str.startswith("'", na=False).to_numpy(dtype=bool)
    if not quoted.any():
        return s
    rest = s[quoted].str.slice(1)
    added = rest.str.startswith(_FORMULA_START, na=False) & ~rest.str.match(_PLAIN_NUMBER, na=False)
    out = s.copy()
    out[rest.index[added.to_numpy(dtype=bool)]] = rest[added]
    return out
