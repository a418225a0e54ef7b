"""The rows and columns a mapped table reads from its source: its `derive` columns, evaluated in the order
written, and the rows its `where` keeps (`pipelines.mapping.apply_mapping` and the source checks,
`pipelines.mapping.source_checks`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.validation import StructuralError
from pipelines.mapping.expressions import ExpressionError, evaluate, parse

if TYPE_CHECKING:
    from pipelines.mapping import TableMapping


def _evaluated(frame: pd.DataFrame, expr: str, what: str) -> pd.Series:
    try:
        return evaluate(parse(expr), frame)
    except ExpressionError as exc:
        raise StructuralError(f"mapping {what} = {expr!r}: {exc}") from None


def derive_columns(table: str, spec: TableMapping, src: pd.DataFrame) -> pd.DataFrame:
    """`src` with the table's `derive` columns, evaluated in the order written: each sees the source's columns and
    the derives above it (`net: line_revenue - Discount` below `line_revenue`; was: "column 'line_revenue' does
    not exist"). A derive naming one written below it is a structural error saying so."""
    if not spec.derive:
        return src
    frame = src.copy(deep=False)  # new columns only: the source frame itself is not changed
    names = list(spec.derive)
    for i, (name, expr) in enumerate(spec.derive.items()):
        what = f"tables.{table}.derive.{name}"
        later = [n for n in names[i:] if n in names_read(expr)]
        if later:
            raise StructuralError(
                f"mapping {what} = {expr!r} reads derive {', '.join(later)}, which is not computed yet: derives "
                f"are evaluated in the order written, each seeing only the source's columns and the derives above "
                "it; move it above this one (a derive cannot read itself)"
            )
        frame[name] = _evaluated(frame, expr, what)
    return frame


def names_read(expr: str) -> set[str]:
    import ast

    return {n.id for n in ast.walk(parse(expr)) if isinstance(n, ast.Name)}


def where_rows(table: str, spec: TableMapping, frame: pd.DataFrame) -> np.ndarray:
    """The rows a table's `where` keeps (every row without one); a missing value is not kept."""
    if not spec.where:
        return np.ones(len(frame), dtype=bool)
    w = _evaluated(frame, spec.where, f"tables.{table}.where")
    if not pd.api.types.is_bool_dtype(w.dtype):
        raise StructuralError(
            f"mapping tables.{table}.where = {spec.where!r} must give true/false per row, "
            f"but gives {w.dtype} values ({w.nunique():,} distinct; not shown: a source column outside the "
            "contract may hold personal data)"
        )
    return w.fillna(False).to_numpy(dtype=bool)  # missing (e.g. blank text) is not routed
