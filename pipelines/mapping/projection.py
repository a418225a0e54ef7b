"""Building one contract table from the source rows a mapping routed to it (`pipelines.mapping.apply_mapping`):
`group_by` keys read as the contract reads ids, the columns' aggregations (`first`, `min`, `max`, `sum`, `mean`,
`count`; sums over numbers, earliest and latest dates by instant), and the grouped rows' own check (a plain
column taking several values in one group)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.contract import TABLES
from features.text import clean_text
from features.validation import StructuralError
from pipelines.mapping.expressions import ExpressionError, as_numbers

if TYPE_CHECKING:
    from pipelines.mapping import TableMapping


def as_key(s: pd.Series) -> pd.Series:
    """A key or value compared as the id or text it becomes (surrounding spaces removed); numbers as they are."""
    return s if pd.api.types.is_numeric_dtype(s.dtype) else clean_text(s)


def several_values(
    spec: TableMapping, frame: pd.DataFrame, ok: np.ndarray, keys: list[str]
) -> dict[str, np.ndarray]:
    """Per plain (`first`) column of a grouped table, the rows of groups where it takes several values.

    `customer_id: CustomerID` in a table grouped by invoice takes the group's first value: an invoice whose
    lines name two customers gave every line to the first, without a word. Such groups are rejected instead."""
    plain = sorted(
        {c for c in spec.columns.values() if isinstance(c, str) and c not in keys and c in frame.columns}
    )
    out: dict[str, np.ndarray] = {}
    if not plain or not ok.any():
        return out
    rows = frame.loc[ok]
    group_keys = [as_key(rows[k]) for k in keys]
    for col in plain:
        counts = as_key(rows[col]).groupby(group_keys, dropna=True).transform("nunique")
        several = np.zeros(len(frame), dtype=bool)
        several[np.flatnonzero(ok)] = (counts > 1).to_numpy()
        if several.any():
            out[col] = several
    return out


def group_keys(spec: TableMapping) -> list[str]:
    return [spec.group_by] if isinstance(spec.group_by, str) else list(spec.group_by or [])


def project(table: str, spec: TableMapping, rows: pd.DataFrame) -> pd.DataFrame:
    for target, col in spec.columns.items():
        source_col = col if isinstance(col, str) else next(iter(col.values()))
        if source_col not in rows.columns:
            raise StructuralError(
                f"mapping for {table}.{target}: source column {source_col!r} does not exist"
            )
    if spec.group_by is None:
        plain = {t: c for t, c in spec.columns.items() if isinstance(c, str)}
        if len(plain) != len(spec.columns):
            raise StructuralError(f"mapping for {table!r}: aggregations need group_by")
        return pd.DataFrame({t: rows[c].to_numpy() for t, c in plain.items()})
    keys = group_keys(spec)
    # Keys are grouped as the contract will read them (ids: text, surrounding spaces removed): `536365` and
    # `" 536365"` (or the number 536365 beside the text "536365") are one group, not two orders that validation
    # would then call duplicates and drop.
    key_text = {
        f"\0key{k}": as_key(rows[k]) for k in keys if not pd.api.types.is_numeric_dtype(rows[k].dtype)
    }
    keys = [f"\0key{k}" if f"\0key{k}" in key_text else k for k in keys]
    aggs: dict[str, Any] = {}
    dates: dict[str, tuple[str, str]] = {}  # target -> (min or max, source column) of text dates
    numeric: dict[str, pd.Series] = {}  # sum/mean inputs as numbers, and whether each row's value is missing
    for target, col in spec.columns.items():
        if isinstance(col, str):
            aggs[target] = pd.NamedAgg(column=col, aggfunc="first")
            continue
        (fn, c) = next(iter(col.items()))
        kind = TABLES[table].column(target).kind if target in TABLES[table].column_names else "text"
        if fn in ("min", "max") and kind == "timestamp" and not _is_dates(rows[c]):
            dates[target] = (fn, c)  # chosen below, by time: text compares "9:00" after "10:00"
            continue
        if fn in ("sum", "mean") or (fn in ("min", "max") and kind in ("money", "number", "rating")):
            # Text (a CSV source) summed would join the texts ("10" + "20" = "1020"), its max would be "9" over
            # "10"; a missing line skipped by the sum would leave a partial total: numbers, and a group with a
            # missing value stays missing.
            try:  # `Description + 'x'` derived, then summed: the mapping's fault, named (was: exit 1, a traceback)
                values = as_numbers(rows[c], f"mapping for {table}.{target} ({fn})")
            except ExpressionError as exc:
                raise StructuralError(str(exc)) from None
            numeric[f"\0{target}"], numeric[f"\0na{target}"] = values, values.isna()
            aggs[target] = pd.NamedAgg(column=f"\0{target}", aggfunc=fn)
            aggs[f"\0na{target}"] = pd.NamedAgg(column=f"\0na{target}", aggfunc="any")
        else:
            aggs[target] = pd.NamedAgg(column=c, aggfunc=fn)
    grouped = rows.assign(**numeric, **key_text) if numeric or key_text else rows
    out = grouped.groupby(keys, sort=True, dropna=True).agg(**aggs).reset_index(drop=True)
    for name in [n for n in numeric if n.startswith("\0na")]:
        target = name.removeprefix("\0na")
        out[target] = out[target].where(~out.pop(name).astype(bool))
    for target, (fn, c) in dates.items():
        chosen = _extreme_date(grouped, keys, c, fn, spec.date_formats.get(target))
        out[target] = chosen.to_numpy()
    return out[list(spec.columns)]


def _is_dates(s: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(s.dtype)


def _extreme_date(grouped: pd.DataFrame, keys: list[str], column: str, fn: str, fmt: str | None) -> pd.Series:
    """Per group (in `groupby(keys, sort=True)` order), the text of its earliest (`min`) or latest (`max`)
    date, compared as instants: ISO text with different offsets, or a declared `date_formats` format such as
    `%d/%m/%Y`, does not sort as text. A value that is not a date is chosen whatever its place, so the contract
    rejects the group's row for it (was: skipped when it sorted late); a blank value is never chosen."""
    from features.dates import parse_timestamps_native
    from features.text import blank

    text = grouped[column]
    when, _ = parse_timestamps_native(text, "UTC", fmt)
    ns = when.to_numpy().astype("datetime64[ns]").view("int64").astype("float64")
    score = pd.Series(ns, index=text.index).where(when.notna())
    if fn == "max":
        score = -score
    score = score.where(when.notna() | blank(text), -np.inf)  # not a date: chosen first
    score = score.where(~blank(text), np.inf)  # blank: chosen only when the group has nothing else
    pick = score.groupby([grouped[k] for k in keys], sort=True, dropna=True).idxmin()
    chosen = text.loc[pick.to_numpy()].reset_index(drop=True)
    return chosen.where(~blank(chosen), None)
