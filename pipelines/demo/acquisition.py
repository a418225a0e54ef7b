"""What winning each demo customer cost, the customers who signed up and have not ordered yet, and the planted
profile drivers (which customer attributes make a customer likely to be great), written to the truth.

Every quantity here is drawn from its own seeded stream, ``numpy.random.default_rng([seed, K])``, after the rest
of the company is drawn: the tables of the existing customers stay exactly as they were (the customers table
gains the ``acquisition_cost`` column and the newcomers' rows, appended after the base with the next ids).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.demo.assemble import (
    DemoCompany,
    _codes_to_str,
    _fake_contacts,
    _make_ids,
    _str_series,
    _truth_frame,
)
from pipelines.demo.customers import _draw_customers, _settle
from pipelines.demo.params import (
    _SECONDS_PER_DAY,
    ACQUISITION_CHANNELS,
    REGIONS,
    SEGMENTS,
    SIZES,
)

#: Stream numbers of the draws in this module (``default_rng([seed, K])``).
COST_STREAM = 1
NEWCOMER_STREAM = 2

# Median cost of winning a B2C customer per acquisition channel (columns follow ACQUISITION_CHANNELS); a B2B
# customer costs ``_B2B_COST_MULTIPLIER`` times as much. Lognormal noise around the median; a share unrecorded.
_CHANNEL_COST = np.array([25.0, 80.0, 60.0, 600.0, 220.0, 350.0, 35.0])
_B2B_COST_MULTIPLIER = 2.5
_COST_NOISE_SD = 0.35
_COST_MISSING_SHARE = 0.06
# Customers who signed up in the last weeks before ``end`` and have not ordered yet, per base customer.
_NEWCOMER_SHARE = 0.02
_NEWCOMER_WINDOW_DAYS = 45.0

#: The profile attributes and how the generator makes them drive a customer's worth (the planted truth).
PLANTED_MECHANISMS: dict[str, str] = {
    "segment": "B2B customers are more often great (P(B2B) = 0.22 + 0.15 x great weight) and buy 2.7x larger "
    "baskets",
    "size": "larger companies buy larger baskets more often (value x 0.8/1.2/2/4, rate x 1/1.3/1.6/2 for "
    "small/medium/large/enterprise)",
    "acquisition_channel": "great customers come through referrals (45% great among referred vs 18% organic), "
    "partners, events and outbound sales; deal hunters through marketplace deals and paid search",
    "region": "no effect: drawn independently of everything else",
}
PLANTED_DRIVERS: tuple[str, ...] = ("segment", "size", "acquisition_channel")


def add_acquisition(
    company: DemoCompany, managers: dict[str, np.ndarray], start_ts: pd.Timestamp, horizon: float, seed: int
) -> DemoCompany:
    """The company with newcomers appended, ``customers.acquisition_cost`` and the planted profile drivers."""
    n_base = len(company.tables["customers"])
    newcomers, new_truth = _draw_newcomers(n_base, managers, start_ts, horizon, seed)
    customers = pd.concat([company.tables["customers"], newcomers], ignore_index=True)
    truth = pd.concat(
        [company.truth.assign(signed_up_without_order=False), new_truth.assign(signed_up_without_order=True)],
        ignore_index=True,
    )
    cost = _draw_costs(customers, seed)
    at = customers.columns.get_loc("acquisition_channel") + 1
    customers.insert(at, "acquisition_cost", cost)
    tables = company.tables | {"customers": customers}
    return replace(company, tables=tables, truth=truth, profile_drivers=profile_drivers(customers, truth))


def _draw_costs(customers: pd.DataFrame, seed: int) -> np.ndarray:
    """Acquisition cost per customer row: channel median x B2B multiplier x lognormal noise; some missing."""
    rng = np.random.default_rng([seed, COST_STREAM])
    n = len(customers)
    channel = pd.Categorical(customers["acquisition_channel"], categories=ACQUISITION_CHANNELS).codes
    b2b = (customers["segment"] == SEGMENTS[1]).to_numpy(dtype=bool)
    median = _CHANNEL_COST[channel] * np.where(b2b, _B2B_COST_MULTIPLIER, 1.0)
    cost = np.round(median * rng.lognormal(0.0, _COST_NOISE_SD, n), 2)
    return np.where(rng.random(n) < _COST_MISSING_SHARE, np.nan, cost)


def _draw_newcomers(
    n_base: int, managers: dict[str, np.ndarray], start_ts: pd.Timestamp, horizon: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers who signed up in the last ``_NEWCOMER_WINDOW_DAYS`` and whose first order falls after ``end``.

    Drawn like organic customers (archetype, profile, manager) from their own stream; ids continue after the
    base (``C{n_base + 1}``, ...), in signup order. Returns their customers rows and truth rows.
    """
    rng = np.random.default_rng([seed, NEWCOMER_STREAM])
    k = int(round(_NEWCOMER_SHARE * n_base))
    cust = _draw_customers(k, horizon, rng)
    window = min(_NEWCOMER_WINDOW_DAYS, horizon / 4)
    cust["signup"] = np.sort(horizon - window + rng.random(k) * window)
    _settle(np.arange(k), cust, managers, rng)
    width = max(6, len(str(n_base + k)))
    numbers = pa.array(np.arange(n_base + 1, n_base + k + 1, dtype=np.int64))
    ids = pc.binary_join_element_wise("C", pc.utf8_lpad(pc.cast(numbers, pa.string()), width, "0"), "")
    start_ns = start_ts.value
    signup_s = np.minimum(np.floor(cust["signup"] * _SECONDS_PER_DAY), np.floor(horizon * _SECONDS_PER_DAY))
    signup = (start_ns + signup_s.astype(np.int64) * 1_000_000_000).view("datetime64[ns]")
    names, emails, phones = _fake_contacts(np.arange(n_base, n_base + k), cust["is_b2b"], rng)
    manager_ids = _make_ids("AM", len(managers["started"]), 4)
    frame = pd.DataFrame(
        {
            "customer_id": _str_series(ids),
            "signup_at": signup,
            "segment": _codes_to_str(cust["is_b2b"].astype(np.int64), SEGMENTS),
            "size": _codes_to_str(cust["size"], SIZES),
            "region": _codes_to_str(cust["region"], REGIONS),
            "acquisition_channel": _codes_to_str(cust["acquisition"], ACQUISITION_CHANNELS),
            "account_manager_id": _str_series(pc.take(manager_ids, pa.array(cust["manager"]))),
            "churned_at": np.full(k, np.datetime64("NaT"), dtype="datetime64[ns]"),
            "name": _str_series(names),
            "email": _str_series(emails),
            "phone": _str_series(phones),
        }
    )
    truth = _truth_frame(cust, np.arange(k), ids, ids, start_ns, horizon)
    return frame, truth


def profile_drivers(customers: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """The planted truth per profile attribute value, from the latent parameters.

    Columns: attribute, value, customers, great_share (share of great-archetype customers), great_lift (over the
    whole base), value_lift (mean latent yearly list-price spend, basket value x order rate, over the base mean),
    planted (the generator makes this attribute drive worth), mechanism (how, in words).
    """
    spend = (truth["mean_order_value"] * truth["purchase_rate_per_year"]).to_numpy()
    great = (truth["archetype"] == "great").to_numpy()
    base_great, base_spend = great.mean(), spend.mean()
    rows = []
    for attribute, mechanism in PLANTED_MECHANISMS.items():
        values = customers[attribute].to_numpy(dtype=object)
        for value in sorted(set(values)):
            mask = values == value
            rows.append(
                {
                    "attribute": attribute,
                    "value": str(value),
                    "customers": int(mask.sum()),
                    "great_share": float(great[mask].mean()),
                    "great_lift": float(great[mask].mean() / base_great) if base_great > 0 else np.nan,
                    "value_lift": float(spend[mask].mean() / base_spend) if base_spend > 0 else np.nan,
                    "planted": attribute in PLANTED_DRIVERS,
                    "mechanism": mechanism,
                }
            )
    return pd.DataFrame(rows).astype({"attribute": "str", "value": "str", "mechanism": "str"})


__all__ = ["PLANTED_DRIVERS", "PLANTED_MECHANISMS", "add_acquisition", "profile_drivers"]
