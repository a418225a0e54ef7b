"""One order of rows decided by the content of each accepted table, so the same data in another row order gives
bit-identical features, scores, reasons and fingerprints (sums over a customer's rows add in one order).

Pure pandas; `pipelines.io.load_data` and the Spark engine's driver tables (`spark_input.load_spark`) call it."""

from __future__ import annotations

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
        by = [*EVENT_TIME_COLUMNS.get(name, ())]
        if name == "assignments":
            by = ["assigned_at", "customer_id", "account_manager_id"]
        elif table.key is not None:
            by.append(table.key)
        by = [c for c in dict.fromkeys(by) if c in frame.columns]
        if not by:
            continue
        keys = frame[by].reset_index(drop=True)  # only the sort columns are copied
        order = keys.sort_values(by, kind="stable", na_position="last").index.to_numpy()
        if (order != np.arange(len(order))).any():
            tables[name] = frame.take(order)
