"""BTYD ("buy till you die") models in numpy/scipy: BG/NBD for purchase counts, Gamma-Gamma for spend.

Used as a baseline and as optional features, fitted at each training cutoff on that cutoff's history only.

- BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the
  Pareto/NBD model", Marketing Science 24(2). Parameters r, alpha (purchase-rate gamma), a, b (dropout beta).
- Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base
  analysis", JMR 42(4); the likelihood as in Fader & Hardie's note "The Gamma-Gamma model of monetary value".
  Parameters p, q, v.

Table contract
    `rfm_summary(orders, cutoff)`: orders (one row per order: customer, timestamp, revenue) -> one row per
    customer with at least one order strictly before `cutoff`, indexed by customer id, columns `frequency`
    (int64: distinct purchase days - 1), `recency`, `T` (float64, in `time_unit_days` units) and
    `monetary_value` (float64: mean revenue per repeat purchase day, 0 when frequency is 0).
    `btyd_predict(summary, horizon_days)`: that summary -> same index, columns
    `btyd_expected_purchases_{h}d`, `btyd_prob_alive`, `btyd_expected_spend_per_purchase`,
    `btyd_expected_revenue_{h}d` for the horizon (cutoff, cutoff + h days].

The models live in `models.bgnbd` and `models.gamma_gamma`, their fitting machinery (log-space likelihoods,
L-BFGS-B, penalty and rescaling) in `models.btyd_fit`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.bgnbd import BetaGeoModel
from models.btyd_fit import BTYDFitError
from models.gamma_gamma import GammaGammaModel

MIN_REPEAT_CUSTOMERS = 20


def rfm_summary(
    orders: pd.DataFrame,
    cutoff: pd.Timestamp,
    time_unit_days: float = 1.0,
    customer_col: str = "customer_id",
    time_col: str = "ordered_at",
    value_col: str = "revenue",
) -> pd.DataFrame:
    """Per-customer frequency / recency / T / monetary value from orders strictly before `cutoff`.

    In: `orders` with `customer_col` (non-null id), `time_col` (datetime64) and `value_col` (numeric; NaN
    counts as 0). Only rows with ``time < cutoff`` are read; the input is not modified.
    Purchases are grouped by calendar day (``time.floor("D")``): several orders on one day are one purchase
    whose value is the day's summed revenue.
    Out: one row per customer with >= 1 such order, index `customer_col` (sorted), columns
        frequency (int64)        distinct purchase days - 1 (repeat purchases),
        recency (float64)        last purchase day - first purchase day,
        T (float64)              cutoff - first purchase day (cutoff as given, not floored),
        monetary_value (float64) mean revenue over the repeat purchase days (first day excluded, as in
                                 lifetimes); 0.0 when frequency is 0,
    with times in units of `time_unit_days` days. Note T is measured to the (exclusive) cutoff, so with a
    midnight cutoff it is one day longer than lifetimes' T to an inclusive observation end.
    """
    if time_unit_days <= 0:
        raise ValueError(f"time_unit_days must be > 0, got {time_unit_days}")
    missing = [c for c in (customer_col, time_col, value_col) if c not in orders.columns]
    if missing:
        raise KeyError(f"orders lack columns {missing}")
    cutoff = pd.Timestamp(cutoff)
    known = orders.loc[(orders[time_col] < cutoff).to_numpy(dtype=bool), [customer_col, time_col, value_col]]
    if known[customer_col].isna().any():
        raise ValueError(f"orders have null {customer_col}; drop or map them before summarising")

    daily = (
        known.assign(_day=known[time_col].dt.floor("D"), _value=known[value_col].astype("float64"))
        .groupby([customer_col, "_day"], sort=True)["_value"]
        .sum()
        .reset_index()
    )
    by_customer = daily.groupby(customer_col, sort=True)
    n_days = by_customer.size()
    first_day = by_customer["_day"].min()
    last_day = by_customer["_day"].max()
    total = by_customer["_value"].sum()
    # `daily` is sorted by (customer, day), so each customer's first row is the first purchase day.
    first_value = daily.drop_duplicates(customer_col, keep="first").set_index(customer_col)["_value"]

    unit = pd.Timedelta(days=time_unit_days)
    frequency = (n_days - 1).astype("int64")
    repeat_value = (total - first_value.reindex(total.index)).to_numpy(dtype="float64")
    freq_arr = frequency.to_numpy()
    monetary = np.divide(
        repeat_value, freq_arr, out=np.zeros(len(freq_arr), dtype="float64"), where=freq_arr > 0
    )
    out = pd.DataFrame(
        {
            "frequency": freq_arr,
            "recency": ((last_day - first_day) / unit).to_numpy(dtype="float64"),
            "T": ((cutoff - first_day) / unit).to_numpy(dtype="float64"),
            "monetary_value": monetary,
        },
        index=frequency.index,
    )
    out.index.name = customer_col
    return out


def btyd_predict(
    summary: pd.DataFrame,
    horizon_days: float,
    penalizer_coef: float = 0.0,
    time_unit_days: float = 1.0,
    min_repeat_customers: int = MIN_REPEAT_CUSTOMERS,
    gamma_gamma_penalizer_coef: float = 0.0,
) -> pd.DataFrame:
    """Fit BG/NBD + Gamma-Gamma on `summary` and predict the next `horizon_days` per customer.

    In: the output of `rfm_summary` (frequency, recency, T in `time_unit_days` units, monetary_value), one
    row per customer, known at one cutoff. Out: same index, float64 columns
        btyd_expected_purchases_{h}d      expected repeat purchase days in (cutoff, cutoff + h days],
        btyd_prob_alive                   P(still active at the cutoff),
        btyd_expected_spend_per_purchase  Gamma-Gamma expected spend per purchase (negative mean spends of
                                          repeat buyers are treated as 0; one-time buyers get the
                                          population mean),
        btyd_expected_revenue_{h}d        expected purchases x expected spend,
        btyd_prob_no_purchase_{h}d        P(no purchase in the horizon), BG/NBD's closed form
                                          (`BetaGeoModel.probability_no_purchases`),
    where h = int(horizon_days). `penalizer_coef` applies to the BG/NBD fit, `gamma_gamma_penalizer_coef` to
    the Gamma-Gamma fit. They are separate because penalising Gamma-Gamma pulls q towards 1, where the
    population mean spend p v / (q - 1) explodes: on Online Retail (orders before 2011-09-01) a penalty of
    0.1 gives q = 1.01 and a one-time buyer's expected spend of ~20,000 against a mean repeat spend of ~420,
    while the unpenalised fit (which only sees repeat buyers and is well determined) gives ~410.
    Expected purchases are NaN where the hypergeometric term cannot be evaluated (see module notes; not
    seen on CDNOW, Online Retail or the tested extremes); the caller decides how to treat them.
    Raises BTYDFitError when fewer than `min_repeat_customers` customers have
    frequency > 0 (or positive spend), when either fit does not converge, or when Gamma-Gamma's q <= 1.
    """
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be > 0, got {horizon_days}")
    missing = [c for c in ("frequency", "recency", "T", "monetary_value") if c not in summary.columns]
    if missing:
        raise KeyError(f"summary lacks columns {missing}")
    x = summary["frequency"].to_numpy(dtype="float64")
    m = summary["monetary_value"].to_numpy(dtype="float64")
    n_repeat = int(np.sum(x > 0))
    n_spend = int(np.sum((x > 0) & (m > 0)))
    if min(n_repeat, n_spend) < min_repeat_customers:
        raise BTYDFitError(
            f"too few repeat customers to fit BTYD models: {n_repeat} with frequency > 0, {n_spend} of them "
            f"with positive spend (need {min_repeat_customers})"
        )
    recency = summary["recency"].to_numpy(dtype="float64")
    big_t = summary["T"].to_numpy(dtype="float64")
    bgnbd = BetaGeoModel(penalizer_coef).fit(x, recency, big_t)
    gamma_gamma = GammaGammaModel(gamma_gamma_penalizer_coef).fit(x, m)
    if gamma_gamma.params_["q"] <= 1.0:
        raise BTYDFitError(
            f"Gamma-Gamma q = {gamma_gamma.params_['q']:.4g} <= 1: expected spend is undefined"
        )

    h = int(horizon_days)
    purchases = bgnbd.expected_purchases(horizon_days / time_unit_days, x, recency, big_t)
    spend = gamma_gamma.expected_average_value(x, np.clip(m, 0.0, None))
    return pd.DataFrame(
        {
            f"btyd_expected_purchases_{h}d": purchases,
            "btyd_prob_alive": bgnbd.probability_alive(x, recency, big_t),
            "btyd_expected_spend_per_purchase": spend,
            f"btyd_expected_revenue_{h}d": purchases * spend,
            f"btyd_prob_no_purchase_{h}d": bgnbd.probability_no_purchases(
                horizon_days / time_unit_days, x, recency, big_t
            ),
        },
        index=summary.index,
    )
