"""Point-in-time feature table: validated tables + cutoff -> one row per customer known before the cutoff.

Input: `tables`, the validated contract representation (`orders` required; `returns`, `tickets`, `invoices`,
`referrals`, `customers`, `account_managers`, `assignments` optional). Inputs are never mutated.

Time semantics: a feature at cutoff c reads only events strictly before c; a window of w days is [c - w, c).
Invoice payments at or after c are unknown at c (the invoice counts as unpaid). Customer attributes without a
date (profile columns, customers.account_manager_id) are taken as they are in the table.

Output grain: one row per customer whose first order or `customers.signup_at` is before c; index `customer_id`
(str, unique, sorted). Numeric columns are float64 (counts too, flags as 0/1); profile columns are `category`.
A missing optional table removes its group's columns (see the manifest); a customer without events in a present
table gets 0 for counts and sums and NaN where a statistic is undefined (mean gap with < 2 purchase days,
ratios with a zero denominator).

All cutoffs of a training set go through the same code (`compute`), in one pass over the events.
The shared state and statistics live in `features.builder` (`Builder`, which also yields the service-effort
columns with the ticket sums); each group is a function of a prepared Builder in `features.groups_profit` (profit,
price sensitivity, referral), `features.groups_activity` (tenure, payment) or `features.groups_account`
(relationship, profile, season), collected here in `GROUP_FUNCTIONS` order.

Groups and the choices behind them (names and plain-language descriptions live in `features.registry`):
- profit (orders; returns; tickets): revenue, margin (revenue - cost; revenue x margin_rate_when_cost_missing
  where cost is absent or missing), discounts, returns, cost to serve (effort hours x hourly cost + tickets x
  cost per ticket; only with tickets) and net = margin - returns - cost to serve, per window and lifetime;
  average order value; margin trend = margin in the last trend_window_days minus margin in the same span before
  (a difference, not a ratio: defined and sign-stable when the earlier span is zero); revenue share of the
  company's revenue per window (concentration).
- tenure: tenure (first order or signup), recency, orders and distinct purchase days per window and lifetime,
  mean and coefficient of variation of gaps between purchase days (lifetime; a day counts at its first order),
  recency / mean gap ("overdue").
- referral (referrals): referrals made per window, referred customers who ordered within active_within_days,
  lifetime net profit before the cutoff of the customers referred, was_referred.
- service_effort (tickets): tickets, effort hours, complaints (kind), escalations per window and lifetime; effort
  hours per 1,000 revenue per window; mean satisfaction; days since the last complaint.
- payment (invoices, lifetime): invoices due before the cutoff, share paid late (after due, or unpaid and past
  due at the cutoff), mean days late over those invoices (on time = 0; unpaid ones count until the cutoff),
  overdue amount at the cutoff, disputes count and share of invoices issued (disputed is undated and taken as
  known at issue).
- price_sensitivity (orders.promo/discount; returns): promo order share, discount rate = discount / (revenue +
  discount), return rate by value and by count, per window and lifetime.
- relationship (assignments, else customers.account_manager_id; account_managers): manager departed in the
  90 days before the cutoff, manager changes (assignments only), manager tenure at the company, days since the
  current manager was assigned (assignments only).
- profile (customers): segment, size, region, acquisition_channel as categories; never personal columns or ids.
- season (orders): where the cutoff sits in the year, the company's seasonal index and the customer's revenue in
  the same window a year earlier, per window under a year (`features.seasonal`; missing without a year of history
  unless `seasonal_profile` is configured).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features._engine import Span, to_ns
from features.builder import Builder, GroupColumns, check_cutoff
from features.config import FeatureConfig, LabelConfig
from features.contract import GROUP_TABLES  # which tables feed which group: part of the data contract
from features.groups_account import profile, relationship, season
from features.groups_activity import payment, tenure
from features.groups_profit import price_sensitivity, profit, referral
from features.registry import feature_registry
from features.seasonal import company_season, seasonal_windows

#: The groups computed from a prepared Builder, in the order their columns and notes are collected (the service
#: effort columns come with the shared ticket statistics, in `Builder.tickets_stats`).
GROUP_FUNCTIONS: dict[str, Callable[[Builder], GroupColumns]] = {
    "profit": profit,
    "tenure": tenure,
    "price_sensitivity": price_sensitivity,
    "referral": referral,
    "payment": payment,
    "relationship": relationship,
    "profile": profile,
    "season": season,
}


@dataclass(frozen=True)
class FeatureManifest:
    """What a feature table contains and why: groups present/absent with reasons, tables used, columns."""

    cutoffs: tuple[pd.Timestamp, ...]
    n_customers: int
    tables_used: tuple[str, ...]
    groups_present: tuple[str, ...]
    groups_absent: dict[str, str]
    notes: tuple[str, ...]
    features: dict[str, str] = field(default_factory=dict)  # name -> dtype

    @property
    def cutoff(self) -> pd.Timestamp:
        """The cutoff of a single-cutoff table."""
        if len(self.cutoffs) != 1:
            raise ValueError("this manifest covers several cutoffs; use .cutoffs")
        return self.cutoffs[0]

    def to_dict(self) -> dict[str, object]:
        return {
            "cutoffs": [str(c) for c in self.cutoffs],
            "n_customers": self.n_customers,
            "tables_used": list(self.tables_used),
            "groups_present": list(self.groups_present),
            "groups_absent": dict(self.groups_absent),
            "notes": list(self.notes),
            "features": dict(self.features),
        }


def compute(
    tables: Mapping[str, pd.DataFrame],
    cutoffs: Sequence[pd.Timestamp],
    config: FeatureConfig,
    *,
    label_horizon_days: int | None = None,
    label_config: LabelConfig | None = None,
    features: bool = True,
    company_revenue: Mapping[int | str, float] | None = None,
    company_totals: Mapping[pd.Timestamp, Mapping[int | str, float]] | None = None,
) -> tuple[pd.DataFrame, FeatureManifest]:
    """The one code path: features and/or labels for every customer row at every cutoff, in one pass.

    Returns a long frame with columns `customer_id` (str), `cutoff` (datetime64[ns]), then feature columns, then
    label columns; rows ordered by cutoff then customer_id. Rows are customers known before each cutoff, or only
    the training-eligible ones when `label_config` is given. The whole company's values when `tables` hold some
    of the customers only: `company_revenue` for a single cutoff, `company_totals` one per cutoff (keyed by it).
    """
    cutoffs = sorted(check_cutoff(c) for c in cutoffs)
    if len(set(cutoffs)) != len(cutoffs):
        raise ValueError("cutoffs must be distinct")
    b = Builder(tables, cutoffs, config)
    if company_revenue is not None:
        if len(cutoffs) != 1 or company_totals is not None:
            raise ValueError("company_revenue applies to a single cutoff (company_totals: one per cutoff)")
        company_totals = {cutoffs[0]: company_revenue}
    if company_totals is not None:
        missing = [str(c.date()) for c in cutoffs if c not in company_totals]
        if missing:
            raise ValueError(f"company_totals has no values for cutoff(s) {', '.join(missing)}")
        b.company_revenue = [company_totals[c] for c in cutoffs]
    label_span: Span | None = (0, -label_horizon_days) if label_horizon_days else None
    b.plan(extra_offsets=[-label_horizon_days] if label_horizon_days else [])
    b.select_rows(label_config)
    b.orders_stats(label_span)
    b.returns_stats(label_span)
    b.tickets_stats(label_span)
    if features:
        for name, group in GROUP_FUNCTIONS.items():
            b.add(name, group(b))
    else:
        b.out = {}
    if label_horizon_days:
        b.labels(label_horizon_days)
    return _assemble(b, cutoffs, features)


def _assemble(
    b: Builder, cutoffs: list[pd.Timestamp], features: bool
) -> tuple[pd.DataFrame, FeatureManifest]:
    p = b.p
    codes = np.concatenate(p.rows) if p.rows else np.empty(0, dtype=np.int64)
    row_cut = p.row_cut
    cut_index = pd.DatetimeIndex(cutoffs).as_unit("ns")
    columns: dict[str, object] = {
        "customer_id": pd.array(b.cust.ids.take(codes), dtype="str"),
        "cutoff": cut_index.take(row_cut),
    }
    # Features in registry (declaration) order, then labels: stable column order whatever the tables.
    order = {name: i for i, name in enumerate(feature_registry(b.cfg))}
    ranked = sorted(b.out, key=lambda k: (k.startswith("label_"), order.get(k, len(order))))
    columns.update({k: b.out[k] for k in ranked})
    frame = pd.DataFrame(columns, copy=False)
    feats = {k: str(frame[k].dtype) for k in ranked if not k.startswith("label_")}
    present = tuple(g for g in GROUP_TABLES if g not in b.absent) if features else ()
    manifest = FeatureManifest(
        cutoffs=tuple(cutoffs),
        n_customers=int(np.count_nonzero(np.bincount(codes, minlength=b.cust.n))),
        tables_used=tuple(t for t in GROUP_TABLES_ORDER if t in b.used or t == "orders"),
        groups_present=present,
        groups_absent=dict(b.absent) if features else {},
        notes=tuple(dict.fromkeys(b.notes)),
        features=feats,
    )
    return frame, manifest


GROUP_TABLES_ORDER: tuple[str, ...] = (
    "orders",
    "returns",
    "tickets",
    "invoices",
    "referrals",
    "customers",
    "account_managers",
    "assignments",
)


def company_revenue(
    tables: Mapping[str, pd.DataFrame], cutoff: pd.Timestamp, config: FeatureConfig
) -> dict[int | str, float]:
    """Company-level numbers before `cutoff` that a subset of the customers cannot compute for itself.

    Keys: each window in days -> company revenue in that window (the denominator of `profit_revenue_share_*`);
    `season_index_{w}` / `season_learned_{w}` per seasonal window (`features.seasonal.company_season`).
    Computed once over all customers, it lets a subset of them (a scoring chunk) get the same values.
    """
    cutoff = check_cutoff(cutoff)
    o = tables["orders"]
    t = o["ordered_at"]
    rev = o["revenue"].to_numpy(dtype=np.float64)
    out: dict[int | str, float] = {}
    for w in config.windows_days:
        m = ((t >= cutoff - pd.Timedelta(days=w)) & (t < cutoff)).to_numpy()
        out[w] = float(rev[m].sum())
    windows = seasonal_windows(config.windows_days)
    if windows:
        cut_ns = pd.DatetimeIndex([cutoff]).as_unit("ns").asi8
        season = company_season(to_ns(t), rev, cut_ns, windows, config.seasonal_profile)
        out.update({f"season_{k}": float(v[0]) for k, v in season.items() if k != "first_order_ns"})
    return out


def company_totals(
    orders: pd.DataFrame, cutoffs: Sequence[pd.Timestamp], config: FeatureConfig
) -> dict[pd.Timestamp, dict[int | str, float]]:
    """`company_revenue` at each of `cutoffs` (keyed by the cutoff), for `compute(company_totals=...)`."""
    return {c: company_revenue({"orders": orders}, c, config) for c in map(check_cutoff, cutoffs)}


def daily_company_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """The company's orders summed per calendar day: `ordered_at` the day's first order, `revenue` the day's sum.

    Every window of `company_revenue` at a midnight cutoff (training and fold cutoffs are month starts) starts
    and ends at a midnight, and its first order is the first of its day, so this frame (a row per day with
    orders, whatever the number of customers) gives the same company values as every order; the Spark engine
    aggregates it on the executors (`pipelines.engines.spark_training`).
    """
    t = orders["ordered_at"]
    out = (
        pd.DataFrame(
            {"day": t.dt.normalize(), "ordered_at": t, "revenue": orders["revenue"].astype("float64")}
        )
        .groupby("day", sort=True)
        .agg(ordered_at=("ordered_at", "min"), revenue=("revenue", "sum"))
    )
    return out.reset_index(drop=True)


def build_feature_table_with_manifest(
    tables: Mapping[str, pd.DataFrame],
    cutoff: pd.Timestamp,
    config: FeatureConfig,
    company_revenue: Mapping[int | str, float] | None = None,
) -> tuple[pd.DataFrame, FeatureManifest]:
    """Feature table at one cutoff (see module docstring for the contract) and its manifest.

    `company_revenue` (from `company_revenue(...)` on all customers) overrides the concentration denominator
    when `tables` hold only some of the customers.
    """
    frame, manifest = compute(tables, [check_cutoff(cutoff)], config, company_revenue=company_revenue)
    frame = frame.drop(columns="cutoff").set_index("customer_id")
    return frame, manifest


def build_feature_table(
    tables: Mapping[str, pd.DataFrame],
    cutoff: pd.Timestamp,
    config: FeatureConfig,
    company_revenue: Mapping[int | str, float] | None = None,
) -> pd.DataFrame:
    """One row per customer known before `cutoff`, index customer_id, features from events before `cutoff`."""
    return build_feature_table_with_manifest(tables, cutoff, config, company_revenue)[0]
