"""Early-life features of new customers: who they are and what they did in their first days (pure, no clock).

`early_life_features(tables, cutoff, early_days, attributes)` -> one row per customer whose signup lies in
[cutoff - early_days, cutoff), index `customer_id` (str, sorted), events strictly before the cutoff only:

- the profile attributes (text; a missing value is the text `(not recorded)`),
- `early_days_since_signup`, `early_was_referred` (0/1: named as referred before the cutoff),
- `early_has_order` (0/1), `early_days_to_first_order` (NaN without an order), `early_first_order_value`
  (revenue of the first order; NaN without one), `early_orders`, `early_revenue`, `early_promo_share`
  (share of their orders bought on promotion; NaN without orders or without `orders.promo`),
- `early_tickets`, `early_effort_minutes` (service interactions so far; NaN when the tickets table is absent).

A customers table with `signup_at` is needed (no signup, no "new" customer): without it the frame is empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

NOT_RECORDED = "(not recorded)"
NUMERIC_COLUMNS: tuple[str, ...] = (
    "early_days_since_signup",
    "early_was_referred",
    "early_has_order",
    "early_days_to_first_order",
    "early_first_order_value",
    "early_orders",
    "early_revenue",
    "early_promo_share",
    "early_tickets",
    "early_effort_minutes",
)


#: The event columns the early-life features read (the Spark driver keeps these of its event tables but
#: `order_id`, read only to order ties, which its canonical row order settles: `spark_driver_view.driver_columns`).
EARLY_LIFE_COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("customer_id", "ordered_at", "order_id", "revenue", "promo"),
    "tickets": ("customer_id", "opened_at", "effort_minutes"),
}


def early_life_features(
    tables: Mapping[str, pd.DataFrame], cutoff: pd.Timestamp, early_days: int, attributes: Sequence[str]
) -> pd.DataFrame:
    """See the module docstring. `attributes` absent from the customers table are left out."""
    from features.validation import isin_ids  # pandas' isin on Arrow strings boxes every id (issue 14)

    cutoff = pd.Timestamp(cutoff)
    cust = tables.get("customers")
    present = [a for a in attributes if cust is not None and a in cust.columns]
    columns = [*present, *NUMERIC_COLUMNS]
    if cust is None or "signup_at" not in cust.columns:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="customer_id", dtype="str"))
    signup = cust["signup_at"]
    start = cutoff - pd.Timedelta(days=early_days)
    new = ((signup < cutoff) & (signup >= start)).to_numpy(dtype=bool)
    # A customer who ordered before the window is not in their first weeks, whatever `signup_at` says (a CRM's
    # migration or account-creation date after years of orders): was `new`, scored as a newcomer. Only the orders
    # of the customers who signed up in the window are looked at (the base's older orders are most of the table).
    orders = tables["orders"]
    candidates = pd.Index(cust.loc[new, "customer_id"].astype("str").unique())
    theirs = isin_ids(orders["customer_id"], candidates)
    older = orders.loc[theirs & (orders["ordered_at"] < start).to_numpy(dtype=bool), "customer_id"]
    new = new & ~isin_ids(cust["customer_id"], pd.Index(older.astype("str").unique()))
    c = cust.loc[new].drop_duplicates("customer_id")
    ids = pd.Index(c["customer_id"].astype("str"), name="customer_id")
    out = pd.DataFrame(index=ids)
    for a in present:
        values = c[a].astype("object").to_numpy()
        out[a] = np.where(pd.isna(values), NOT_RECORDED, values).astype(str)
    signup_at = pd.Series(c["signup_at"].to_numpy(), index=ids)
    out["early_days_since_signup"] = ((cutoff - signup_at) / pd.Timedelta(days=1)).to_numpy()
    referred = tables.get("referrals")
    was_referred = np.zeros(len(ids))
    if referred is not None:
        before = referred.loc[(referred["referred_at"] < cutoff).to_numpy(dtype=bool), "referred_id"].astype(
            "str"
        )
        before = before[isin_ids(before, ids)]  # the new customers' ids as the (small) lookup set
        was_referred = isin_ids(ids, pd.Index(before)).astype(np.float64)
    out["early_was_referred"] = was_referred
    used = [c for c in EARLY_LIFE_COLUMNS["orders"] if c in orders.columns]
    before_cutoff = theirs & (orders["ordered_at"] < cutoff).to_numpy(dtype=bool)
    kept = np.flatnonzero(before_cutoff)  # the candidates' orders; the new customers' among them
    kept = kept[isin_ids(orders["customer_id"].iloc[kept], ids)]
    o = orders.iloc[kept][used]
    # first order: by time, then order id; a table without `order_id` (the Spark driver's, issue 11) comes in
    # the loader's canonical order (`features.row_order`: time, then order id), which the stable sort keeps
    o = o.sort_values([c for c in ("ordered_at", "order_id") if c in o.columns], kind="stable")
    key = o["customer_id"].astype("str")
    first = o.groupby(key, sort=False).first()
    n_orders = key.value_counts().reindex(ids, fill_value=0)
    out["early_has_order"] = (n_orders > 0).astype(np.float64).to_numpy()
    first_at = first["ordered_at"].reindex(ids)
    out["early_days_to_first_order"] = ((first_at - signup_at) / pd.Timedelta(days=1)).to_numpy(
        dtype=np.float64
    )
    out["early_first_order_value"] = first["revenue"].reindex(ids).to_numpy(dtype=np.float64)
    out["early_orders"] = n_orders.to_numpy(dtype=np.float64)
    revenue = o.groupby(key)["revenue"].sum().reindex(ids)
    out["early_revenue"] = revenue.where(n_orders > 0).to_numpy(dtype=np.float64)
    if "promo" in o.columns:
        promo = o["promo"].astype("float64").groupby(key).mean().reindex(ids)
        out["early_promo_share"] = promo.to_numpy(dtype=np.float64)
    else:
        out["early_promo_share"] = np.nan
    tickets = tables.get("tickets")
    if tickets is None:
        out["early_tickets"] = np.nan
        out["early_effort_minutes"] = np.nan
    else:
        t = tickets.loc[
            (tickets["opened_at"] < cutoff).to_numpy(dtype=bool) & isin_ids(tickets["customer_id"], ids),
            [c for c in EARLY_LIFE_COLUMNS["tickets"] if c != "opened_at"],
        ]
        tkey = t["customer_id"].astype("str")
        out["early_tickets"] = tkey.value_counts().reindex(ids, fill_value=0).to_numpy(dtype=np.float64)
        effort = t["effort_minutes"].groupby(tkey).sum().reindex(ids, fill_value=0.0)
        out["early_effort_minutes"] = effort.to_numpy(dtype=np.float64)
    return out.sort_index()[columns]


__all__ = ["EARLY_LIFE_COLUMNS", "NOT_RECORDED", "NUMERIC_COLUMNS", "early_life_features"]
