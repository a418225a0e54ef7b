"""Baselines the models must beat, and BTYD outputs as optional extra features.

Table contract (every baseline)
    fit(training_set): rows of the training set (one per customer and cutoff, features + labels) to learn the
        few numbers a baseline needs (a margin rate, a recency -> churn curve), never per-customer state.
    predict(frame, tables) -> DataFrame indexed like `frame` (one row per customer at a cutoff; needs
        `customer_id`, `cutoff` and feature columns), columns `pred_value` (net profit over the horizon) and
        `pred_churn_prob` (NaN when the baseline has no churn score). `tables` are only read by the BTYD
        baseline, and only events strictly before each row's cutoff.

Baselines
- `PersistenceBaseline`: value = net profit of the last `h` days (`profit_net_{h}d`, or the nearest window
  rescaled to `h` days); churn = a logistic curve of log(1 + recency_days) fitted on the training rows (a
  recency rank made into a probability so Brier and calibration are comparable).
- `PastRateBaseline`: value = lifetime net profit / tenure (at least `min_tenure_days`) x h; no churn score.
- `BTYDBaseline`: BG/NBD + Gamma-Gamma fitted per cutoff on orders before it: value = expected revenue over
  the horizon x net margin rate (sum of net-profit labels / sum of revenue labels on the training rows), or,
  given the margin setting, Gamma-Gamma on margin per purchase (revenue - cost) converted to net the same way;
  churn = 1 - P(alive) ("btyd") or BG/NBD's closed-form P(no purchase in the horizon) ("btyd_no_purchase"). When a fit fails the rows of that cutoff get NaN and a warning is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

BTYD_COLUMNS = ("expected_purchases", "prob_alive", "expected_spend", "expected_revenue")
# What the BTYD baseline reads besides the feature columns: the closed-form P(no purchase in the horizon).
_BASELINE_COLUMNS = (*BTYD_COLUMNS, "prob_no_purchase")


def _window_value(frame: pd.DataFrame, stem: str, horizon_days: int) -> pd.Series:
    """`{stem}_{h}d` if present, else the window nearest to h rescaled to h days (NaN -> 0: no events)."""
    exact = f"{stem}_{horizon_days}d"
    if exact in frame.columns:
        return frame[exact].astype("float64").fillna(0.0)
    windows = []
    for c in frame.columns:
        rest = str(c)[len(stem) + 1 :]
        if str(c).startswith(stem + "_") and rest.endswith("d") and rest[:-1].isdigit():
            windows.append(int(rest[:-1]))
    if not windows:
        raise KeyError(f"no {stem}_<N>d column to build a persistence baseline from")
    w = min(windows, key=lambda v: (abs(np.log(v / horizon_days)), -v))
    return frame[f"{stem}_{w}d"].astype("float64").fillna(0.0) * (horizon_days / w)


def _recency(frame: pd.DataFrame) -> np.ndarray:
    r = frame["recency_days"].astype("float64")
    # A customer without orders is "as lapsed as their tenure".
    if "tenure_days" in frame.columns:
        r = r.fillna(frame["tenure_days"].astype("float64"))
    return np.log1p(r.fillna(r.max() if r.notna().any() else 0.0).clip(lower=0.0).to_numpy())


class PersistenceBaseline:
    """Next horizon = last horizon; churn from recency (see module docstring)."""

    name = "persistence"

    def __init__(self, horizon_days: int) -> None:
        self.horizon_days = horizon_days

    def fit(self, training_set: pd.DataFrame) -> PersistenceBaseline:
        y = training_set[f"label_churned_{self.horizon_days}d"].to_numpy(dtype=int)
        x = _recency(training_set).reshape(-1, 1)
        self.churn_curve_ = LogisticRegression(C=1e6).fit(x, y) if len(np.unique(y)) == 2 else None
        self.churn_rate_ = float(y.mean())
        return self

    def predict(self, frame: pd.DataFrame, tables: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
        value = _window_value(frame, "profit_net", self.horizon_days)
        if self.churn_curve_ is None:
            churn = np.full(len(frame), self.churn_rate_)
        else:
            churn = self.churn_curve_.predict_proba(_recency(frame).reshape(-1, 1))[:, 1]
        return pd.DataFrame({"pred_value": value.to_numpy(), "pred_churn_prob": churn}, index=frame.index)


class PastRateBaseline:
    """Lifetime net profit per day of tenure, times the horizon (see module docstring)."""

    name = "past_rate"

    def __init__(self, horizon_days: int, min_tenure_days: float = 30.0) -> None:
        self.horizon_days = horizon_days
        self.min_tenure_days = min_tenure_days

    def fit(self, training_set: pd.DataFrame) -> PastRateBaseline:
        return self

    def predict(self, frame: pd.DataFrame, tables: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
        profit = frame["profit_net_lifetime"].astype("float64").fillna(0.0)
        # A floor on tenure: a two-day-old customer's first order is not a daily rate.
        tenure = frame["tenure_days"].astype("float64").fillna(0.0).clip(lower=self.min_tenure_days)
        value = profit / tenure * self.horizon_days
        return pd.DataFrame({"pred_value": value.to_numpy(), "pred_churn_prob": np.nan}, index=frame.index)


def order_margin(orders: pd.DataFrame, margin_rate_when_cost_missing: float) -> np.ndarray:
    """Margin per order as the features count it: revenue - cost, or revenue x the configured rate without a cost."""
    revenue = orders["revenue"].to_numpy(dtype=np.float64)
    if "cost" not in orders.columns:
        return revenue * margin_rate_when_cost_missing
    cost = orders["cost"].to_numpy(dtype=np.float64)
    return np.where(np.isnan(cost), revenue * margin_rate_when_cost_missing, revenue - cost)


def btyd_by_cutoff(
    frame: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    horizon_days: int,
    penalizer: float,
    margin_rate_when_cost_missing: float | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """BG/NBD + Gamma-Gamma outputs per (customer_id, cutoff) row of `frame`, fitted per cutoff.

    Each cutoff's fit reads only orders strictly before that cutoff. Gamma-Gamma models revenue per purchase
    day, or, with `margin_rate_when_cost_missing` given, margin per purchase day (`order_margin`, a loss-making
    day counted as 0: Gamma-Gamma needs non-negative spends); then `expected_revenue` holds the expected margin.
    Returns a frame indexed like `frame` with `BTYD_COLUMNS` and `prob_no_purchase` (NaN for customers without
    a summary or when the fit failed) and the warnings.
    """
    from models import btyd  # lazily: the BTYD fit is optional and only this helper needs it

    orders = tables["orders"]
    value_col = "revenue"
    if margin_rate_when_cost_missing is not None:
        margin = np.clip(order_margin(orders, margin_rate_when_cost_missing), 0.0, None)
        orders = orders[["customer_id", "ordered_at"]].assign(margin=margin)
        value_col = "margin"
    out = pd.DataFrame(np.nan, index=frame.index, columns=list(_BASELINE_COLUMNS))
    notes: list[str] = []
    for cutoff, rows in frame.groupby("cutoff", sort=True).groups.items():
        cutoff = pd.Timestamp(cutoff)
        known = orders.loc[(orders["ordered_at"] < cutoff).to_numpy(dtype=bool)]
        try:
            summary = btyd.rfm_summary(known, cutoff, value_col=value_col)
            pred = btyd.btyd_predict(summary, horizon_days, penalizer)
        except btyd.BTYDFitError as exc:
            notes.append(f"BTYD fit failed at cutoff {cutoff.date()}: {exc}; columns are NaN for that cutoff")
            continue
        pred = _btyd_standard_columns(pred)
        ids = frame.loc[rows, "customer_id"].astype("str")
        aligned = pred.reindex(pd.Index(ids.to_numpy()))
        out.loc[rows, list(_BASELINE_COLUMNS)] = aligned[list(_BASELINE_COLUMNS)].to_numpy()
    return out, notes


def _btyd_standard_columns(pred: pd.DataFrame) -> pd.DataFrame:
    """Map the BTYD module's output columns onto `BTYD_COLUMNS` (index: customer_id as str)."""
    names = {}
    for c in pred.columns:
        lc = str(c).lower()
        # Checked in this order: "expected_spend_per_purchase" also contains "purchase".
        if "no_purchase" in lc:
            names[c] = "prob_no_purchase"
        elif "spend" in lc or "monetary" in lc:
            names[c] = "expected_spend"
        elif "revenue" in lc:
            names[c] = "expected_revenue"
        elif "alive" in lc:
            names[c] = "prob_alive"
        elif "purchase" in lc:
            names[c] = "expected_purchases"
    pred = pred.rename(columns=names)
    if "customer_id" in pred.columns:
        pred = pred.set_index("customer_id")
    pred.index = pred.index.astype("str")
    missing = [c for c in _BASELINE_COLUMNS if c not in pred.columns]
    if missing:
        raise KeyError(f"BTYD output lacks {missing}; got {list(pred.columns)}")
    return pred


def add_btyd_features(
    training_set: pd.DataFrame, tables: Mapping[str, pd.DataFrame], horizon_days: int, penalizer: float
) -> tuple[pd.DataFrame, list[str]]:
    """The frame with BTYD outputs as extra float64 columns `btyd_<output>` (per-cutoff fits), plus warnings.

    Grain and order are unchanged; each row's columns come from a fit on orders before that row's cutoff.
    """
    values, notes = btyd_by_cutoff(training_set, tables, horizon_days, penalizer)
    extra = (
        values[list(BTYD_COLUMNS)].rename(columns={c: f"btyd_{c}" for c in BTYD_COLUMNS}).astype("float64")
    )
    return pd.concat([training_set, extra], axis=1), notes


class BTYDBaseline:
    """BG/NBD + Gamma-Gamma expected revenue x net margin rate; churn = 1 - P(alive) by default.

    With `margin_rate_when_cost_missing` (the feature setting; `run_backtest` passes it) Gamma-Gamma models the
    margin per purchase (revenue - cost where orders carry a cost), so a customer buying at thin margins is not
    valued like one buying the same revenue at fat ones: value = expected margin x (net / revenue over the
    training labels) / (margin / revenue over the orders before the cutoff), i.e. the expected margin times the
    share of margin that stays after returns and cost to serve. Without a cost column the margin is revenue x
    the rate and the value equals the revenue-based one.

    `churn_score="no_purchase"` scores churn as BG/NBD's closed-form probability of no purchase in the horizon,
    P(dead) + P(alive) ((alpha + T) / (alpha + T + h))^(r + x) (`BetaGeoModel.probability_no_purchases`), not
    a Poisson reading of the expected count: 1 - P(alive) is 0 for every one-time buyer (BG/NBD cannot see a
    dropout without a repeat purchase), which ranks the likeliest churners as safest.
    """

    def __init__(
        self,
        horizon_days: int,
        penalizer: float = 0.1,
        churn_score: str = "dead",
        margin_rate_when_cost_missing: float | None = None,
    ) -> None:
        if churn_score not in ("dead", "no_purchase"):
            raise ValueError(f"churn_score must be 'dead' or 'no_purchase', got {churn_score!r}")
        self.horizon_days = horizon_days
        self.penalizer = penalizer
        self.churn_score = churn_score
        self.margin_rate_when_cost_missing = margin_rate_when_cost_missing
        self.name = "btyd" if churn_score == "dead" else "btyd_no_purchase"

    def fit(self, training_set: pd.DataFrame) -> BTYDBaseline:
        h = self.horizon_days
        revenue = training_set[f"label_revenue_{h}d"].sum()
        net = training_set[f"label_net_profit_{h}d"].sum()
        self.margin_rate_ = float(net / revenue) if revenue else 0.0
        return self

    def predict(self, frame: pd.DataFrame, tables: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
        if tables is None:
            raise ValueError("the BTYD baseline reads the orders table")
        rate_missing = self.margin_rate_when_cost_missing
        values, self.notes_ = btyd_by_cutoff(frame, tables, self.horizon_days, self.penalizer, rate_missing)
        rate = self.margin_rate_
        if rate_missing is not None:
            # Expected margin -> net: divide by the margin share of revenue on the orders before the cutoff.
            orders = tables["orders"]
            known = orders.loc[(orders["ordered_at"] < frame["cutoff"].max()).to_numpy(dtype=bool)]
            revenue = float(known["revenue"].sum())
            margin = float(np.clip(order_margin(known, rate_missing), 0.0, None).sum())
            rate = rate * revenue / margin if margin > 0 else 0.0
        return pd.DataFrame(
            {
                "pred_value": values["expected_revenue"].to_numpy() * rate,
                "pred_churn_prob": (
                    1.0 - values["prob_alive"].to_numpy()
                    if self.churn_score == "dead"
                    else values["prob_no_purchase"].to_numpy()
                ),
            },
            index=frame.index,
        )
