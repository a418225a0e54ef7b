"""A manager history holding a customer under two managers from one instant: two `assignments` rows of one
customer and one `assigned_at` naming different managers (a team's two owners exported as two rows, a reassignment
written with the old row's date). The owner at a cutoff is the customer's last assignment before it: of two at
one instant, the loader would pick one by row order, a guess. Both rows are rejected with a reason instead. Pure
function over a validated table, both engines (`features.manager_checks.reject_assignments_outside_tenure`'s caller
sites: the Spark engine per customer bucket, which holds every assignment of its customers)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

SAME_INSTANT = (
    "assigned to another manager at the same assigned_at too (which one held the customer cannot be told)"
)


def simultaneous_assignments(t: pd.DataFrame, ok: np.ndarray) -> np.ndarray:
    """The rows of `t` (assignments; `ok`: not rejected so far) whose customer has, at the same `assigned_at`,
    another accepted row naming another manager."""
    out = np.zeros(len(t), dtype=bool)
    needed = ("customer_id", "assigned_at", "account_manager_id")
    if not ok.any() or any(c not in t.columns for c in needed):
        return out
    kept = t.loc[ok, list(needed)]
    managers = kept.groupby(["customer_id", "assigned_at"], dropna=True)["account_manager_id"].transform(
        "nunique"
    )
    out[np.flatnonzero(ok)] = (managers > 1).to_numpy(dtype=bool)
    return out


def reject_simultaneous_assignments(t: pd.DataFrame, rej: Any) -> None:
    """`simultaneous_assignments` as row rejects `SAME_INSTANT` (`rej`: the table's `_Rejector`)."""
    rej.add(simultaneous_assignments(t, rej.ok), SAME_INSTANT)
