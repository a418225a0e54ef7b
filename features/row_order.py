"""One order of rows decided by the content of each accepted table, so the same data in another row order gives
bit-identical features, scores, reasons and fingerprints (sums over a customer's rows add in one order).

Pure pandas; `pipelines.io.load_data` and the Spark engine's driver tables (`spark_input.load_spark`) call it."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from features.contract import EVENT_TIME_COLUMNS, TABLES


def canonical_row_order(tables: dict[str, pd.DataFrame]) -> None:
    """Put each accepted table in one order decided by its content, in place: event time, then the table's key
    (`orders` by `ordered_at`, `order_id`), tables without an event time by their key, `assignments` by time, customer
    and manager. Sums over a customer's rows then add in the same order whatever the file's row order, so the same
    data shuffled gives bit-identical features, scores, reasons and fingerprints (was: a shuffled export moved
    features in their last bits, and a reason's "4,752 EUR" read "4,751 EUR"). A table already in that order (an
    export sorted by time, the demo) is left as it is, without a copy. The index (source rows) travels along."""
    for name, frame in tables.items():
        table = TABLES.get(name)
        if table is None or frame is None or len(frame) < 2:
            continue
        by = sort_columns(name, frame.columns)
        if not by:
            continue
        if _in_order(frame, by):  # the usual case: a stable sort would give the rows as they are (issue 14)
            continue
        keys = frame[by].reset_index(drop=True)  # only the sort columns are copied
        order = keys.sort_values(by, kind="stable", na_position="last").index.to_numpy()
        if (order != np.arange(len(order))).any():
            tables[name] = frame.take(order)


def sort_columns(name: str, columns: Iterable[str]) -> list[str]:
    """The columns table `name` is put in order by (`canonical_row_order`), of those in `columns`: each ascending,
    missing values last, ties left in source order. Empty: the table keeps its source order."""
    table = TABLES.get(name)
    if table is None:
        return []
    by = [*EVENT_TIME_COLUMNS.get(name, ())]
    if name == "assignments":
        by = ["assigned_at", "customer_id", "account_manager_id"]
    elif table.key is not None:
        by.append(table.key)
    present = set(columns)
    return [c for c in dict.fromkeys(by) if c in present]


def _in_order(frame: pd.DataFrame, by: list[str]) -> bool:
    """Whether every row is at or before the next in the order `sort_values(by, na_position="last")` sorts by
    (each column ascending, a missing value after every value, missing values tied): then the stable sort is
    the identity. One pass over neighbouring rows, each column compared only where the columns before it tie.
    False when a row is out of order or a column is of a type not compared here (the sort decides)."""
    n = len(frame)
    tied = np.ones(n - 1, dtype=bool)  # neighbouring pairs equal on the columns so far
    for first, c in enumerate(by):
        # the first column compares every pair: slices (views) instead of gathering every row twice (issue 14)
        at = slice(None) if first == 0 else np.flatnonzero(tied)
        at_next = slice(1, None) if first == 0 else at + 1
        if first and not len(at):
            return True
        col = frame[c]
        missing = col.isna().to_numpy()
        a_na, b_na = missing[:-1][at], missing[at_next]
        both = ~a_na & ~b_na
        if col.dtype.kind == "M" and not isinstance(col.dtype, pd.DatetimeTZDtype):
            v = col.to_numpy().view("int64")
            a, b = v[:-1][at], v[at_next]
            less, greater = a < b, a > b
        elif isinstance(col.dtype, pd.StringDtype):  # text as the validation leaves it (not mixed objects)
            import pyarrow as pa
            import pyarrow.compute as pc

            from features.text import arrow_text

            try:
                arr = arrow_text(col.astype("str"))
                if first == 0:
                    a, b = arr.slice(0, n - 1), arr.slice(1)
                else:
                    a, b = arr.take(pa.array(at)), arr.take(pa.array(at_next))
                less = np.asarray(pc.fill_null(pc.less(a, b), False), dtype=bool)
                greater = np.asarray(pc.fill_null(pc.greater(a, b), False), dtype=bool)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError, ValueError):
                return False
        else:
            return False
        # missing after every value: (value, missing) is in order, (missing, value) is not
        if ((greater & both) | (a_na & ~b_na)).any():
            return False
        tied[at] = ~((less & both) | (~a_na & b_na))
    return True
