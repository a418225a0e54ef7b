"""Acquisition payback, as pure functions of one scoring run's tables: what winning each customer cost
(`acquisition_costs`), whether it paid off (`customer_payback`: realised net profit to date + expected net value
over the horizon against that cost) and the same per acquisition channel (`channel_payback`). No I/O, no clock:
`pipelines/profile.py` hands them the tables of the ideal-customer profile (`models.profile`) and writes what they
return. Table contracts as in `models.profile`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.population import NEW, SCORED
from models.profile import NOT_RECORDED
from models.profile_math import align, same_ids


def acquisition_costs(
    customers: pd.DataFrame | None, ids: pd.Index, by_channel: Mapping[str, float]
) -> pd.DataFrame:
    """Cost of winning each customer: `customers.acquisition_cost` when recorded, else the configured cost of
    their channel, else unknown (NaN, never zero). out (index ids): acquisition_channel, acquisition_cost,
    cost_source ("recorded" | "channel table" | "unknown")."""
    channel = pd.Series(NOT_RECORDED, index=ids, dtype="str")
    recorded = pd.Series(np.nan, index=ids)
    if customers is not None:
        if same_ids(customers["customer_id"], ids):  # already one row per id, in their order (`cvp profile`)
            cust = customers.set_axis(ids)
        else:
            cust = customers.drop_duplicates("customer_id")
            cust = cust.set_index(cust["customer_id"].astype("str"))
        if "acquisition_channel" in cust:
            ch = align(cust["acquisition_channel"], ids)
            if ch.dtype == "str":  # Arrow text stays text (no round trip through objects)
                channel = ch.fillna(NOT_RECORDED)
            else:
                channel = ch.astype("object").where(ch.notna(), NOT_RECORDED).astype("str")
        if "acquisition_cost" in cust:
            recorded = align(cust["acquisition_cost"], ids).astype("float64")
    codes, channels = pd.factorize(channel, use_na_sentinel=False)  # the few channels, mapped once each
    by_code = np.array([by_channel.get(str(c), np.nan) for c in channels], dtype=np.float64)
    table = pd.Series(by_code[codes], index=ids)  # a channel not in the table: NaN (unknown)
    cost = recorded.where(recorded.notna(), table)
    source = np.where(recorded.notna(), "recorded", np.where(table.notna(), "channel table", "unknown"))
    return pd.DataFrame(
        {"acquisition_channel": channel, "acquisition_cost": cost, "cost_source": source}, index=ids
    ).astype({"cost_source": "str"})


def customer_payback(
    scores: pd.DataFrame,
    realised: pd.Series,
    costs: pd.DataFrame,
    value_column: str,
    provisional_column: str = "lookalike_expected_value",
) -> pd.DataFrame:
    """Per customer: realised net profit to date + expected net value over the horizon vs acquisition cost.

    in:  scores (customer_id, status, value_column; `provisional_column` for new customers), `realised` = net
         profit before the cutoff per customer id (lifetime: margin - returns - cost to serve; a customer without
         a figure has realised nothing yet: 0), `costs` from `acquisition_costs`.
    The expected value is the main models' (`value_column`) for scored customers; a `new` customer (status of
    `pipelines.newcomers`) has none, so the lookalike model's expected value stands in and the judgement is
    provisional (`payback_provisional`). Every other status has no expected value and is not judged.
    out (one row per scores row): customer_id, status, acquisition_channel, acquisition_cost, cost_source,
    realised_profit, expected_profit, expected_source ("main models" | "lookalike (provisional)" | ""),
    total_profit (realised + expected), payback_ratio (total / cost), not_paying_back (nullable boolean: total <
    cost; missing when the cost or the expected value is unknown), payback_provisional, payback_note (why the flag
    is missing, or that it is provisional).
    """
    ids = pd.Index(scores["customer_id"].astype("str"))
    status_text = scores["status"].astype("str")
    # the few statuses as integer codes: no per-row strings
    codes, statuses = pd.factorize(status_text, use_na_sentinel=False)
    statuses = np.asarray(statuses, dtype=object)
    status = statuses[codes]
    scored = status == SCORED
    new = status == NEW
    main = scores[value_column].to_numpy(dtype=np.float64, na_value=np.nan)
    look = (
        scores[provisional_column].to_numpy(dtype=np.float64, na_value=np.nan)
        if provisional_column in scores.columns
        else np.full(len(scores), np.nan)
    )
    expected = np.where(scored, main, np.where(new, look, np.nan))
    provisional = new & np.isfinite(look)
    real = align(realised, ids).to_numpy(dtype=np.float64, na_value=np.nan)
    real = np.where(new & np.isnan(real), 0.0, real)  # no order yet: nothing realised, not unknown
    costs = align(costs, ids)
    cost = costs["acquisition_cost"].to_numpy(dtype=np.float64)
    total = real + expected
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(cost > 0, total / cost, np.nan)
    decided = np.isfinite(total) & np.isfinite(cost)
    flag = pd.array(np.where(decided, total < cost, False), dtype="boolean")
    flag[~decided] = pd.NA
    note = np.select(
        [
            new & ~provisional,
            ~(scored | new),
            ~np.isfinite(cost),
            ~np.isfinite(total),
            provisional,
        ],
        [
            "new customer without a lookalike score: no expected value",
            np.array([f"not scored ({u}): no expected value" for u in statuses], dtype=object)[codes],
            "acquisition cost unknown",
            "no profit figure",
            "provisional: new customer, judged on the lookalike model's expected value",
        ],
        "",
    )
    source = np.where(scored, "main models", np.where(provisional, "lookalike (provisional)", ""))
    return pd.DataFrame(
        {
            "customer_id": ids.array,
            "status": status_text.array,
            "acquisition_channel": costs["acquisition_channel"].array,
            "acquisition_cost": cost,
            "cost_source": costs["cost_source"].array,
            "realised_profit": real,
            "expected_profit": expected,
            "expected_source": source,
            "total_profit": total,
            "payback_ratio": ratio,
            "not_paying_back": flag,
            "payback_provisional": provisional & decided,
            "payback_note": note,
        }
    ).astype({"customer_id": "str", "status": "str", "acquisition_channel": "str", "cost_source": "str",
              "expected_source": "str", "payback_note": "str"})  # fmt: skip


def channel_payback(per_customer: pd.DataFrame) -> pd.DataFrame:
    """Per acquisition channel: what winning customers cost and what they bring.

    out: acquisition_channel, customers_won (every customer of the channel), cost_known (customers with a known
    cost), cost_unknown, not_scored (by the main models), judged (a known cost and an expected value),
    judged_provisional (of them, new customers judged on the lookalike's expected value), total_cost,
    realised_profit, expected_profit (over the judged customers), payback_ratio ((realised + expected) / total cost
    of the judged customers), share_paying_back (judged customers whose realised + expected profit covers their
    cost), not_paying_back (count). Channels sorted by name; sums over no customer are NaN, never 0.
    """
    rows = []
    for channel, sub in per_customer.groupby("acquisition_channel", sort=True):
        j = sub["not_paying_back"].notna().to_numpy()
        js = sub.loc[j]
        cost = float(js["acquisition_cost"].sum()) if len(js) else np.nan
        realised = float(js["realised_profit"].sum()) if len(js) else np.nan
        expected = float(js["expected_profit"].sum()) if len(js) else np.nan
        rows.append(
            {
                "acquisition_channel": str(channel),
                "customers_won": len(sub),
                "cost_known": int(sub["acquisition_cost"].notna().sum()),
                "cost_unknown": int(sub["acquisition_cost"].isna().sum()),
                "not_scored": int((sub["status"] != SCORED).sum()),
                "judged": int(j.sum()),
                "judged_provisional": int(js["payback_provisional"].sum()),
                "total_cost": cost,
                "realised_profit": realised,
                "expected_profit": expected,
                "payback_ratio": (realised + expected) / cost if len(js) and cost > 0 else np.nan,
                "share_paying_back": float((~js["not_paying_back"].astype(bool)).mean())
                if len(js)
                else np.nan,
                "not_paying_back": int(js["not_paying_back"].astype(bool).sum()),
            }
        )
    return pd.DataFrame(rows)


__all__ = ["acquisition_costs", "channel_payback", "customer_payback"]
