"""The one population rule: which customers a model is trained on, backtested on and scores, at a cutoff.

`classify` is the rule (used by `features.table` to select training rows, so training, backtests and scoring
share it); `customer_status` applies it to validated tables for every customer known in any table.

Statuses, in the order they are decided:
- `no_orders_yet`: no order before the cutoff (known from the customers table, a side table, or only from events
  at or after the cutoff); with `require_order_before_cutoff: false`, a customer who signed up before the
  cutoff is not in this state;
- `cancelled`: `customers.churned_at` before the cutoff (when `exclude_cancelled`), unless the customer ordered
  again a day or more after it and before the cutoff (`came_back`: a win-back; the rules below decide them);
- `lapsed`: last order (or signup, when they never ordered) more than `max_lapse_days` before the cutoff;
- `scored`: everyone else: these rows carry predictions, tiers, ratings and reasons.

Scoring then applies one more rule (`new_customers`): a customer in their first weeks (signup within the lookalike
model's `early_days` before the cutoff) whom the rules above leave `no_orders_yet` or `lapsed` is `new`: not
trained on and not scored by the main models, but scored by the lookalike model carried with them
(`models.lookalike`), with a provisional tier. `cancelled` stays `cancelled`.
Pure: no I/O, no clock; the cutoff is always given.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from features._engine import DAY_NS, NAT, CustomerIndex, per_customer_min, to_ns
from features.config import LabelConfig

SCORED = "scored"
CANCELLED = "cancelled"
LAPSED = "lapsed"
NO_ORDERS_YET = "no_orders_yet"
NEW = "new"
#: Status vocabulary; a status code is a position in this tuple (`classify` never returns NEW: see `new_customers`).
STATUSES = (SCORED, CANCELLED, LAPSED, NO_ORDERS_YET, NEW)
#: The statuses a customer in their first weeks leaves for NEW.
BECOMES_NEW = (NO_ORDERS_YET, LAPSED)
#: Tables and columns that make a customer known (rows in = rows out over all of them).
CUSTOMER_ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id",),
    "orders": ("customer_id",),
    "returns": ("customer_id",),
    "tickets": ("customer_id",),
    "invoices": ("customer_id",),
    "assignments": ("customer_id",),
    "referrals": ("referrer_id", "referred_id"),
}


def classify(
    known: np.ndarray,
    has_order: np.ndarray,
    cancelled: np.ndarray,
    days_since_activity: np.ndarray,
    label_config: LabelConfig,
) -> np.ndarray:
    """Status code per customer at one cutoff (positions in `STATUSES`; 0 = scored).

    known: an order or a signup before the cutoff; has_order: an order before the cutoff; cancelled:
    churned_at before the cutoff; days_since_activity: days from the last order before the cutoff (or the
    signup when they never ordered) to the cutoff (NaN when neither).
    """
    codes = np.zeros(len(known), dtype=np.int8)
    lapsed = np.zeros(len(known), dtype=bool)
    if label_config.max_lapse_days is not None:
        lapsed = ~(np.asarray(days_since_activity, dtype=np.float64) <= label_config.max_lapse_days)
    no_orders = ~np.asarray(known, dtype=bool)
    if label_config.require_order_before_cutoff:
        no_orders |= ~np.asarray(has_order, dtype=bool)
    codes[lapsed] = STATUSES.index(LAPSED)
    if label_config.exclude_cancelled:
        codes[np.asarray(cancelled, dtype=bool)] = STATUSES.index(CANCELLED)
    codes[no_orders] = STATUSES.index(NO_ORDERS_YET)
    return codes


def came_back(last_order: np.ndarray, churned_at: np.ndarray, day: float) -> np.ndarray:
    """Which customers came back after cancelling: their last order before the cutoff (`last_order`) is `day` or
    more after their `churned_at` (floats in one unit, NaN for none: nanoseconds and `DAY_NS`, or plan days and
    1). Their cancellation no longer makes them `cancelled` (a win-back; more than `features.crossrefs`' stop
    share of them refuses the column as stale cancellations)."""
    with np.errstate(invalid="ignore"):
        return np.asarray(last_order, dtype=np.float64) - np.asarray(churned_at, dtype=np.float64) >= day


def known_customers(tables: Mapping[str, pd.DataFrame]) -> pd.Index:
    """Every customer id found in any table (any date), sorted."""
    parts = [
        tables[t][c] for t, cols in CUSTOMER_ID_COLUMNS.items() if t in tables for c in cols if c in tables[t]
    ]
    if not parts:
        return pd.Index([], name="customer_id", dtype="str")
    ids = pd.concat(parts, ignore_index=True).dropna().astype("str").unique()
    return pd.Index(np.sort(np.asarray(ids, dtype=object)), name="customer_id").astype("str")


def _days_text(values: np.ndarray) -> np.ndarray:
    """int64 nanoseconds -> "YYYY-MM-DD" (object array), "" where NaT; numpy's own formatting, not strftime.
    Each distinct day is formatted once (issue 14: a few thousand days for a million customers, 1 CPU-s less)."""
    days = values.view("datetime64[ns]").astype("datetime64[D]").view(np.int64)  # NaT stays int64 min
    distinct, inverse = np.unique(days, return_inverse=True)
    text = np.datetime_as_string(distinct.view("datetime64[D]"), unit="D")
    return np.where(distinct == NAT, "", text).astype(object)[inverse.reshape(-1)]


def _thousands(values: np.ndarray) -> np.ndarray:
    """Integers -> "1,825" (object array), each distinct value formatted once."""
    distinct, inverse = np.unique(values, return_inverse=True)
    return np.array([f"{d:,}" for d in distinct], dtype=object)[inverse.reshape(-1)]


def status_id_columns(tables: Mapping[str, pd.DataFrame]) -> list[tuple[str, str]]:
    """The (table, column) pairs `customer_status` indexes, in the order its `index` argument must follow."""
    return [(t, c) for t, cols in CUSTOMER_ID_COLUMNS.items() if t in tables for c in cols if c in tables[t]]


def customer_status(
    tables: Mapping[str, pd.DataFrame],
    cutoff: pd.Timestamp,
    label_config: LabelConfig,
    index: CustomerIndex | None = None,
) -> pd.DataFrame:
    """One row per customer known in any table: `customer_id`, `status`, `status_reason` (plain words).

    Only events strictly before `cutoff` count (a customer first seen later is `no_orders_yet`). Customers are
    integer codes over every id column (`CustomerIndex`, sorted like `known_customers`); the per-customer last
    order, signup and cancellation are reductions over those codes. `index`: that `CustomerIndex` when the caller
    built it already, over `status_id_columns(tables)` in that order (the pandas engine shares it with its chunk
    plan: one hash factorize of every id column instead of two).
    """
    cutoff = pd.Timestamp(cutoff)
    cut = int(cutoff.as_unit("ns").value)
    where = status_id_columns(tables)
    if index is None:
        index = CustomerIndex([tables[t][c] for t, c in where])
    ids, n = index.ids, index.n
    orders = tables["orders"]
    codes = index.codes_of(where.index(("orders", "customer_id")))
    times = to_ns(orders["ordered_at"])
    before = (times != NAT) & (times < cut) & (codes >= 0)
    last = np.full(n, NAT)
    np.maximum.at(last, codes[before], times[before])
    signup = np.full(n, NAT)
    churned = np.full(n, NAT)
    if ("customers", "customer_id") in where:
        cust = tables["customers"]
        cust_codes = index.codes_of(where.index(("customers", "customer_id")))
        for column, into in (("signup_at", signup), ("churned_at", churned)):
            if column in cust:
                first = per_customer_min(cust_codes, to_ns(cust[column]), n)
                into[:] = np.where(first == np.iinfo(np.int64).max, NAT, first)
    has_order = last != NAT
    signed = (signup != NAT) & (signup < cut)
    activity = np.where(has_order, last, np.where(signed, signup, NAT))
    days = np.where(activity == NAT, np.nan, (cut - activity) / DAY_NS)
    last_f, churned_f = (np.where(t == NAT, np.nan, t.astype(np.float64)) for t in (last, churned))
    back = came_back(last_f, churned_f, DAY_NS)  # a win-back: no longer cancelled
    is_cancelled = (churned != NAT) & (churned < cut) & ~back
    codes_status = classify(has_order | signed, has_order, is_cancelled, days, label_config)
    status = np.asarray(STATUSES, dtype=object)[codes_status]
    lapse = label_config.max_lapse_days
    # Each reason is built only for the rows that get it (the first that applies, in this order).
    reasons = np.full(
        n, "no order before the as-of (known only from other tables or from later events)", object
    )
    taken = np.zeros(n, dtype=bool)
    for rows, build in (
        (
            status == SCORED,
            lambda r: (
                np.where(
                    has_order[r], "active: last order on " + _days_text(last[r]), "signed up, no order yet"
                )
                + np.where(back[r], " (came back after cancelling on " + _days_text(churned[r]) + ")", "")
            ),
        ),
        (status == CANCELLED, lambda r: "cancelled on " + _days_text(churned[r])),
        (
            status == LAPSED,
            lambda r: (
                "no order for "
                + _thousands(np.rint(np.nan_to_num(days[r])).astype(np.int64))
                + " days ("
                + np.where(
                    has_order[r],
                    "last order on " + _days_text(last[r]),
                    "signed up on " + _days_text(signup[r]),
                )
                + f"); more than {lapse:,} days counts as lapsed"
            ),
        ),
        (signed, lambda r: "signed up on " + _days_text(signup[r]) + ", no order before the as-of yet"),
    ):
        rows = rows & ~taken
        if rows.any():
            reasons[rows] = build(rows)
        taken |= rows
    out = pd.DataFrame({"customer_id": ids.to_numpy(), "status": status, "status_reason": reasons}).astype(
        {"customer_id": "str", "status": "str", "status_reason": "str"}
    )
    # cancellations no longer counted: the scoring run's manifest and warnings say how many
    out.attrs["came_back"] = int(back.sum())
    return out


def new_customers(status: pd.Series, early_ids: pd.Index) -> np.ndarray:
    """Which customers are `new`: in their first weeks (`early_ids`: signup within the lookalike model's
    `early_days` before the cutoff, `features.early_life.early_life_features`) and left `no_orders_yet` or
    `lapsed` by `classify`. `status`: indexed by customer_id (str). Returns a boolean array aligned with it."""
    from features.validation import isin_ids

    return (isin_ids(status.index, early_ids) & status.isin(BECOMES_NEW).to_numpy()).astype(bool)


__all__ = ["NEW", "STATUSES", "came_back", "classify", "customer_status", "known_customers", "new_customers"]
