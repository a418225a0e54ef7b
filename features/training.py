"""Multi-cutoff training sets: features at each cutoff joined with the labels of the horizon after it.

Contract: `build_training_set(tables, as_of, horizon_days, config, label_config)` -> DataFrame with columns
`customer_id` (str), `cutoff` (datetime64[ns]), the feature columns of `build_feature_table`, then the label columns
of `build_labels`; one row per (customer_id, cutoff) pair that is eligible under `label_config`; rows ordered by
cutoff then customer_id.

Time semantics: tables are first truncated to events strictly before `as_of`, so nothing at or after `as_of` is
read; every cutoff satisfies cutoff + horizon <= as_of, so no label is censored. All cutoffs are computed in one
pass (`features.table.compute`), the same code that builds a single-cutoff feature table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.config import FeatureConfig, LabelConfig
from features.dates import MIN_DATE
from features.errors import StructuralError
from features.seasonal import YEAR_DAYS
from features.table import company_totals, compute

# Which column dates each table's rows (rows at/after as_of are dropped) and which other dates are blanked
# when they fall at/after as_of (a payment or a departure not yet known then).
_EVENT_TIME: dict[str, str] = {
    "orders": "ordered_at",
    "returns": "returned_at",
    "tickets": "opened_at",
    "invoices": "issued_at",
    "referrals": "referred_at",
    "assignments": "assigned_at",
}
_LATER_TIMES: dict[str, tuple[str, ...]] = {
    "tickets": ("closed_at",),
    "invoices": ("paid_at",),
    # Customers and managers are entities, not events: their rows stay (profile attributes are undated).
    "customers": ("signup_at", "churned_at"),
    "account_managers": ("started_at", "left_at"),
}


@dataclass(frozen=True)
class CustomerSample:
    """A sample of the customers and what it cannot compute for itself.

    `customers`: the sampled ids; the tables given with it hold their rows and the rows of the customers they
    referred (a referrer's worth includes them), whose own rows are read but never output. `company_orders`: the
    WHOLE base's orders per day (`features.table.daily_company_orders`), from which the company values of every
    cutoff (concentration denominators, seasonal index) are computed, never from the sample.
    """

    customers: np.ndarray
    company_orders: pd.DataFrame

    def restrict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of `frame` (a `customer_id` column) that belong to sampled customers, in their order."""
        keep = frame["customer_id"].isin(pd.Index(self.customers, dtype="str")).to_numpy(dtype=bool)
        return frame.loc[keep].reset_index(drop=True)


def training_cutoffs(
    as_of: pd.Timestamp,
    horizon_days: int,
    label_config: LabelConfig,
    first_order: pd.Timestamp | None = None,
) -> list[pd.Timestamp]:
    """Cutoffs, ascending: (as_of - horizon) floored to a month start, then back every step, n_cutoffs of them.

    With `label_config.reach_last_year`, a horizon under a year and more than one cutoff asked for (one is a
    feature table at one date: a backtest fold's evaluation rows), more cutoffs where needed so the earliest is at
    or before the month start of as_of - (12 + step) months: the as-of's time of year one year earlier, with a
    cutoff on each side of it (`models.purged.season_matched_cutoffs` interpolates between them). Six monthly
    cutoffs before a 1 September as-of (January to June) would otherwise leave the model without a horizon at
    that time of year even when the orders hold the previous autumn's peak. The cutoffs are added only when the
    earliest has the product's minimum history before it, one horizon plus three months after `first_order` (the
    company's first order, when given): earlier it would describe a business in its first months rather than the
    same season a year before (CDNOW, one cohort acquired in its first quarter, got totals 1.27-1.51 from such
    cutoffs), or hold no rows at all; a shorter history keeps the training set n_cutoffs gives.
    """
    if not isinstance(as_of, pd.Timestamp) or as_of.tzinfo is not None:
        raise TypeError(f"as_of must be a naive pd.Timestamp, got {as_of!r}")
    step = label_config.step_months(horizon_days)
    span = (as_of - MIN_DATE).days
    last = (as_of - pd.Timedelta(days=min(horizon_days, span))).to_period("M").to_timestamp()
    n = label_config.n_cutoffs
    if label_config.reach_last_year and horizon_days < YEAR_DAYS and n > 1:
        target = (as_of - pd.DateOffset(months=12 + step)).to_period("M").to_timestamp()
        months = (last.year - target.year) * 12 + last.month - target.month
        room = ((last.year - MIN_DATE.year) * 12 + last.month - 1) // step + 1  # never before MIN_DATE
        n = max(n, min(-(-months // step) + 1, room))
    back = (n - 1) * step  # months from the latest cutoff to the earliest
    if horizon_days >= span or (last.year - MIN_DATE.year) * 12 + last.month - 1 < back:
        raise StructuralError(  # was: `unexpected ValueError: year 0 is out of range` (or an overflow)
            f"labels.n_cutoffs = {label_config.n_cutoffs} cutoffs every {step} month(s), the latest one "
            f"{horizon_days} days before --as-of {as_of.date()}, reach back before {MIN_DATE.year}, where no data "
            "can be: lower labels.n_cutoffs, the step or the horizon"
        )
    cutoffs = [last - pd.DateOffset(months=k * step) for k in range(n)]
    if (
        first_order is not None and n > label_config.n_cutoffs
    ):  # the reach needs the minimum history at its start
        least = first_order + pd.Timedelta(days=horizon_days) + pd.DateOffset(months=3)
        if cutoffs[-1] <= least:
            cutoffs = cutoffs[: label_config.n_cutoffs]
    return sorted(pd.Timestamp(c).as_unit("ns") for c in cutoffs)


def company_training_cutoffs(
    orders: pd.DataFrame | None, as_of: pd.Timestamp, horizon_days: int, label_config: LabelConfig
) -> list[pd.Timestamp]:
    """`training_cutoffs` for the company whose orders (an `ordered_at` column: the whole base's, not a sample's)
    are given: its first order before `as_of` sets the minimum history the reach to last year needs. Every model
    fitted on cutoffs (the value model, the lookalike model) takes its cutoffs from here."""
    first = None
    if orders is not None and len(orders):
        first = orders["ordered_at"][orders["ordered_at"] < as_of].min()
    return training_cutoffs(as_of, horizon_days, label_config, None if pd.isna(first) else first)


def truncate_tables(tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """Copies of the tables as they were known just before `as_of` (inputs are not mutated).

    Event rows (orders, returns, tickets, invoices, referrals, assignments) dated at/after as_of are dropped; dates
    of kept rows that fall at/after as_of (paid_at, closed_at, signup_at, churned_at, started_at, left_at) become NaT.
    """
    out: dict[str, pd.DataFrame] = {}
    for name, df in tables.items():
        if df is None:
            continue
        col = _EVENT_TIME.get(name)
        if col is not None and col in df.columns:
            times = df[col]
            df = df.loc[~(times >= as_of).to_numpy(dtype=bool)]
        for later in _LATER_TIMES.get(name, ()):
            if later in df.columns and (df[later] >= as_of).any():
                df = df.assign(**{later: df[later].where(~(df[later] >= as_of))})
        out[name] = df
    return out


def build_training_set(
    tables: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    horizon_days: int,
    config: FeatureConfig,
    label_config: LabelConfig,
    sample: CustomerSample | None = None,
) -> pd.DataFrame:
    """Features at each training cutoff plus labels over the following horizon (see module docstring).

    `horizon_days` sets the label horizon and the cutoff placement; `label_config` supplies n_cutoffs, the step
    and the eligibility rules (its own horizon_days is not read here, so callers pass one horizon explicitly).
    (customer_id, cutoff) is unique by construction: each cutoff's rows are distinct customer codes.
    With `sample` (`tables` hold a sample of the customers): the rows of the sampled customers only, equal to
    theirs in the training set of the whole base (company values from `sample.company_orders`).
    """
    orders = sample.company_orders if sample is not None else tables.get("orders")
    cutoffs = company_training_cutoffs(orders, as_of, horizon_days, label_config)
    if any(
        c + pd.Timedelta(days=horizon_days) > as_of for c in cutoffs
    ):  # pragma: no cover - by construction
        raise ValueError("a training cutoff's label horizon would extend past as_of")
    known = truncate_tables(tables, as_of)
    totals = None
    if sample is not None:
        if any(c != c.normalize() for c in cutoffs):  # pragma: no cover - month starts by construction
            raise ValueError("a sample's company values are exact at midnight cutoffs only")
        totals = company_totals(sample.company_orders, cutoffs, config)
    frame, _ = compute(
        known,
        cutoffs,
        config,
        label_horizon_days=horizon_days,
        label_config=label_config,
        features=True,
        company_totals=totals,
    )
    return frame if sample is None else sample.restrict(frame)


__all__ = ["CustomerSample", "build_training_set", "training_cutoffs", "truncate_tables"]
