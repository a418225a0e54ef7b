"""Rows against the account managers: many rows naming managers the managers table lacks (an incomplete export), an
assignment dated after its manager's `left_at` or before their `started_at` (row rejects, `TENURE_RULES`) and the stop
when one such rule rejects most assignments. Pure functions over validated tables, called by
`features.validation.validate_tables` and the Spark engine (`spark_checks.check_bucket`, `spark_stops`). Other
cross-table rules: `features.crossrefs`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.crossrefs import MIN_RESPELLED, RESPELLED_SHARE, stop_when_most


def check_unknown_managers(table: str, t: pd.DataFrame, unknown: pd.Series) -> None:
    """Structural error when many rows of `t` (`unknown`: those naming a manager the managers table lacks; 1% of
    the rows, and 3) would be rejected for it: an incomplete managers export (former managers left out) would drop
    those customers, and every order of theirs as `unknown customer_id`, with exit 0."""
    from features.errors import StructuralError

    n = int(unknown.sum())
    if n < max(MIN_RESPELLED, RESPELLED_SHARE * len(t)):
        return
    names = t.loc[unknown.to_numpy(dtype=bool), "account_manager_id"]
    shown = ", ".join(map(repr, names.value_counts().index[:3]))
    raise StructuralError(
        f"table {table!r}, column 'account_manager_id': {n:,} of {len(t):,} rows name a manager the "
        f"account_managers table does not list ({shown}): an incomplete managers export (former "
        "managers missing?). Rejected, these rows would be lost, and for customers every order of theirs. Export every "
        "manager (with `left_at` for those who left), or leave the column empty where no manager is known"
    )


#: An assignment dated a day or more after its manager's `left_at`: the customer given to someone gone (from that
#: date their point-in-time owner a manager who had left); or before the manager's `started_at`: not there yet.
#: A day of slack: a date without its time. A manager without the date, or unknown, judges nothing.
AFTER_MANAGER_LEFT = "assigned_at after its manager's left_at (a day later or more: the manager had left)"
BEFORE_MANAGER_STARTED = "assigned_at before its manager's started_at (a day earlier or more: not there yet)"
#: (the manager's date judging an assignment, the reason, what most such assignments mean), in the order applied
TENURE_RULES = (
    ("left_at", AFTER_MANAGER_LEFT, "dated after their manager's left_at"),
    ("started_at", BEFORE_MANAGER_STARTED, "dated before their manager's started_at"),
)


def assignments_outside_tenure(assignments: pd.DataFrame, managers: pd.DataFrame, column: str) -> np.ndarray:
    """The assignments whose `assigned_at` is a day or more after their manager's `left_at` (`column`), or before
    their `started_at`; `managers`: the accepted managers (ids unique)."""
    needed = ("assigned_at", "account_manager_id")
    if column not in managers.columns or any(c not in assignments.columns for c in needed):
        return np.zeros(len(assignments), dtype=bool)
    date = pd.Series(
        managers[column].to_numpy(dtype="datetime64[ns]"), index=managers["account_manager_id"].to_numpy()
    )
    date = date[date.notna() & date.index.notna()]
    at = pd.Series(assignments["assigned_at"].to_numpy(dtype="datetime64[ns]"))
    theirs = pd.Series(
        date.reindex(assignments["account_manager_id"].to_numpy()).to_numpy(dtype="datetime64[ns]")
    )
    gap = at - theirs if column == "left_at" else theirs - at
    return (gap >= pd.Timedelta(days=1)).to_numpy(dtype=bool)


def reject_assignments_outside_tenure(t: pd.DataFrame, rej: Any, managers: pd.DataFrame) -> None:
    """`TENURE_RULES` on the assignments (`t`, its `_Rejector`), after the unknown managers, then a customer's
    assignments to two managers at one instant (`features.assignment_ties`); both engines (the Spark engine per
    customer bucket, every bucket holding the managers)."""
    from features.assignment_ties import reject_simultaneous_assignments

    for column, reason, _ in TENURE_RULES:
        rej.add(assignments_outside_tenure(t, managers, column), reason)
    reject_simultaneous_assignments(t, rej)  # then two managers from one instant


def check_assignment_tenures(assignments: pd.DataFrame, reasons: np.ndarray) -> None:
    """Structural error when one of the `TENURE_RULES` rejects more than half of the assignments (and at least 3):
    the export's `assigned_at` is another date (the last change of the row) or the managers' dates are (a current
    role's start). Rejected one by one, the manager history would be lost with exit 0."""
    stop_when_most(
        "assignments",
        "assigned_at",
        assignments,
        reasons,
        TENURE_RULES,
        ("customer_id", "account_manager_id", "assigned_at"),
        "is assigned_at another date (a row's last change), or are the account_managers' started_at and left_at? "
        "A customer is assigned to a manager while they are there.",
    )
