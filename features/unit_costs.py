"""`orders.cost` given per unit where the contract reads the order's cost (an ERP's order lines carry a unit cost
and a line total; a mapping reading `UnitCost` as the cost, not `UnitCost * Quantity`), or the revenue per unit
beside the order's cost. Each amount alone is plausible; only the cost's share of the revenue against the quantity
shows it: per unit, that share falls as 1/quantity (a margin of 40% at one unit, 94% at ten), while the cost of
goods of an order follows its units (the demo: the same share at every quantity, a slope of -0.02 against -1.02
with its costs per unit). A note of every loading command (`pipelines.load_notes.amount_notes`), not a stop: a
cost that is mostly fixed per order (a handling fee) would show the same. The Spark driver keeps no cost nor
quantity: it sums the shares by quantity as the orders stream (`quantity_sums`, through
`features.unit_steps.MonthSums`), the same rule on the same sums."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

#: Orders needed at a quantity for it to be judged, distinct quantities judged, and their spread (the largest
#: quantity judged at least this many times the smallest): a shop selling one unit per order cannot show it.
MIN_ORDERS = 20
MIN_QUANTITIES = 3
MIN_SPREAD = 3.0
#: The slope of the log cost share against the log quantity from which the cost (or the revenue) reads per unit:
#: -1 for a unit cost, +1 for a unit price beside the order's cost, about 0 for the order's cost of goods.
PER_UNIT_SLOPE = 0.6
#: The key of the streamed sums (`SparkTables.month_amounts`).
STREAMED = "orders.cost_by_quantity"


def quantity_sums(orders: pd.DataFrame) -> pd.DataFrame | None:
    """Per whole quantity (1 to 10,000) of the orders with a positive cost and revenue, the orders (`n`) and the
    sum of the logarithms of their cost over their revenue (`logs`): all `per_unit_slope` reads, so row batches'
    sums add up to the whole table's. None without the three columns."""
    if not {"cost", "revenue", "quantity"} <= set(orders.columns):
        return None
    cost = orders["cost"].to_numpy(dtype=np.float64, na_value=np.nan)
    revenue = orders["revenue"].to_numpy(dtype=np.float64, na_value=np.nan)
    quantity = orders["quantity"].to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        ok = (
            (cost > 0)
            & (revenue > 0)
            & (quantity >= 1)
            & (quantity <= 10_000)
            & (quantity == np.floor(quantity))
        )
    q = quantity[ok].astype(np.int64)
    n = np.bincount(q).astype(np.float64)
    logs = np.bincount(q, weights=np.log(cost[ok] / revenue[ok]))
    held = np.flatnonzero(n)
    return pd.DataFrame({"n": n[held], "logs": logs[held]}, index=held)


def per_unit_slope(sums: pd.DataFrame | None) -> tuple[float, dict[int, float]] | None:
    """The slope of the mean log cost share against the log quantity over the quantities of `MIN_ORDERS` orders or
    more (weighted by the square root of their orders), with each such quantity's typical cost share; None when too
    few quantities, or too narrow a spread, can be judged."""
    if sums is None or not len(sums):
        return None
    judged = sums[sums["n"] >= MIN_ORDERS]
    quantities = judged.index.to_numpy(dtype=np.float64)
    if len(judged) < MIN_QUANTITIES or quantities.max() < MIN_SPREAD * quantities.min():
        return None
    means = (judged["logs"] / judged["n"]).to_numpy()
    slope = float(np.polyfit(np.log(quantities), means, 1, w=np.sqrt(judged["n"].to_numpy()))[0])
    return slope, {int(q): float(np.exp(m)) for q, m in zip(quantities, means, strict=True)}


def per_unit_notes(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """A note when the orders' cost share of the revenue falls (rises) as 1/quantity (`per_unit_slope` beyond
    `PER_UNIT_SLOPE`): the cost (the revenue) given per unit. From the accepted orders, or the Spark driver's sums
    as they streamed (`SparkTables.month_amounts[STREAMED]`)."""
    orders = tables.get("orders")
    sums = quantity_sums(orders) if orders is not None else None
    if sums is None:
        sums = (getattr(tables, "month_amounts", None) or {}).get(STREAMED)
    found = per_unit_slope(sums)
    if found is None or abs(found[0]) < PER_UNIT_SLOPE:
        return []
    slope, shares = found
    low, high = min(shares), max(shares)
    seen = f"{shares[low]:.0%} of the revenue at {low:g} unit(s), {shares[high]:.0%} at {high:g}"
    if slope < 0:
        what = (
            f"the cost's share of the revenue falls as the quantity grows ({seen}): the cost of one unit given "
            "as the order's cost? Read so, every order of several units looks far more profitable than it is. "
            "Give the order's cost of goods (a mapping: derive it, `UnitCost * Quantity`)"
        )
    else:
        what = (
            f"the cost's share of the revenue grows with the quantity ({seen}): the price of one unit given as "
            "the order's revenue? Read so, every order of several units looks far less profitable than it is. "
            "Give what the customer paid for the order (a mapping: derive it, `UnitPrice * Quantity`)"
        )
    return [
        f"table 'orders', columns 'cost' and 'revenue' against 'quantity': {what}; if the costs are truly fixed "
        "per order, they are read as they are"
    ]
