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

Numerical notes
- Both likelihoods are written in log space with `gammaln`/`digamma` and analytic gradients, optimised with
  L-BFGS-B over log-parameters. Rows with identical inputs are grouped and weighted, and every term that
  depends on the frequency alone is evaluated once per distinct frequency, so a fit costs O(distinct rows).
- As in lifetimes, the objective is the mean negative log-likelihood per customer plus
  `penalizer_coef * sum(params**2)`. BG/NBD times are rescaled so that max(T) = 10 before fitting (as
  lifetimes does, so a penalizer means the same thing here and there); Gamma-Gamma spends are rescaled to a
  mean of 1 (lifetimes does not; with raw currency the penalty on v would depend on the currency unit).
  With `penalizer_coef = 0` neither rescaling changes the maximum-likelihood estimate.
- The conditional expected number of purchases uses the Euler transform of the hypergeometric term,
  ``2F1(r+x, b+x; a+b+x-1; z) (1-z)^(r+x) = 2F1(a+b-1-r, a-1; a+b+x-1; z) (1-z)^(a-1)``,
  ``z = t / (alpha+T+t)``, whose upper parameters do not grow with the frequency x, so it neither overflows for
  large x nor cancels catastrophically (lifetimes computes the untransformed 2F1 first, which overflows for
  large x and then falls back to this form). Where scipy's `hyp2f1` still returns a non-finite value, a
  direct power series is summed instead; entries that remain non-finite are returned as NaN, never inf.
  The closed form divides by a - 1 (a removable singularity): within 1e-4 of a = 1 it is interpolated
  linearly between a = 1 -/+ 1e-4 (relative error ~1e-8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1

MIN_REPEAT_CUSTOMERS = 20
# Log-parameter box. Parameters are unit-free or in rescaled units (see module notes), so values beyond
# 1e-6 .. 1e6 mean the likelihood keeps improving towards a boundary (e.g. r -> 0 when nobody repeats):
# reaching the box counts as "did not converge".
_LOG_BOUND = float(np.log(1e6))
_GRAD_TOL = 1e-4  # max |gradient| of the mean objective accepted as a stationary point
_SERIES_MAX_TERMS = 20_000
_A_NEAR_ONE = 1e-4  # |a - 1| below which expected purchases are interpolated across the a = 1 singularity


class BTYDFitError(RuntimeError):
    """A BTYD model could not be fitted (too few repeat customers, no convergence, unusable parameters)."""


# --------------------------------------------------------------------------------------------------------
# RFM summary
# --------------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------------------


def _as_float_array(name: str, values: object) -> np.ndarray:
    arr = np.asarray(values, dtype="float64")
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has NaN or infinite values")
    return arr


@dataclass(frozen=True)
class _FitOutcome:
    log_params: np.ndarray
    objective: float
    max_abs_grad: float


def _minimise(objective, n_params: int, what: str) -> _FitOutcome:
    """L-BFGS-B over log-parameters from 0; on a doubtful stop, polish with Nelder-Mead and L-BFGS-B again.

    Converged means: finite objective, max |gradient| < _GRAD_TOL and no log-parameter at the box edge.
    Raises BTYDFitError otherwise.
    """
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * n_params
    x0 = np.zeros(n_params)
    # Tight tolerances so that a fit drifting along a flat ridge towards a boundary reaches the box instead
    # of stopping early with a small gradient and plausible-looking parameters.
    options = {"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10}
    res = minimize(objective, x0, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
    x = res.x
    f, g = objective(x)
    if not (np.isfinite(f) and np.max(np.abs(g)) < _GRAD_TOL):
        # L-BFGS-B can stop early in a flat or badly scaled valley; a simplex step gets it moving again.
        nm = minimize(
            lambda z: objective(np.clip(z, -_LOG_BOUND, _LOG_BOUND))[0],
            x,
            method="Nelder-Mead",
            options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-12},
        )
        res = minimize(
            objective,
            np.clip(nm.x, -_LOG_BOUND, _LOG_BOUND),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options=options,
        )
        x = res.x
        f, g = objective(x)
    max_grad = float(np.max(np.abs(g)))
    at_edge = bool(np.any(np.abs(x) >= _LOG_BOUND - 1e-6))
    if not np.isfinite(f) or not np.all(np.isfinite(x)) or max_grad >= _GRAD_TOL or at_edge:
        raise BTYDFitError(
            f"{what} fit did not converge (objective={f:.6g}, max|grad|={max_grad:.3g}, "
            f"params at bound={at_edge}, optimizer: {res.message}); try a penalizer_coef > 0"
        )
    return _FitOutcome(log_params=x, objective=float(f), max_abs_grad=max_grad)


def _group_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the given columns and how many times each occurs (for a weighted likelihood)."""
    frame = pd.DataFrame({f"c{i}": c for i, c in enumerate(columns)})
    counts = frame.groupby(list(frame.columns), sort=False).size()
    keys = counts.index.to_frame(index=False)
    return [keys[f"c{i}"].to_numpy(dtype="float64") for i in range(len(columns))], counts.to_numpy("float64")


# --------------------------------------------------------------------------------------------------------
# BG/NBD
# --------------------------------------------------------------------------------------------------------


def _check_bgnbd_inputs(frequency: object, recency: object, T: object) -> tuple[np.ndarray, ...]:
    x = _as_float_array("frequency", frequency)
    t_x = _as_float_array("recency", recency)
    big_t = _as_float_array("T", T)
    if not (len(x) == len(t_x) == len(big_t)):
        raise ValueError("frequency, recency and T must have the same length")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be non-negative integers (repeat purchase counts)")
    if np.any(t_x < 0) or np.any(t_x > big_t) or np.any(big_t <= 0):
        raise ValueError("need 0 <= recency <= T and T > 0")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("recency must be 0 when frequency is 0")
    return x, t_x, big_t


class BetaGeoModel:
    """BG/NBD model of repeat purchase counts (Fader, Hardie & Lee 2005).

    Inputs are per-customer arrays (frequency = repeat purchases, recency = time of last purchase since the
    first, T = age since the first purchase, all in one time unit). After `fit`, `params_` holds r, alpha (in
    the input's time unit), a, b; `n_customers_` / `n_groups_` the rows used and distinct rows fitted.
    """

    def __init__(self, penalizer_coef: float = 0.0) -> None:
        self.penalizer_coef = penalizer_coef

    @staticmethod
    def _objective_factory(x, t_x, big_t, weights, penalizer_coef):
        """Penalised mean negative log-likelihood and its gradient w.r.t. log(r, alpha, a, b).

        Per customer, ll = A1 + A2 + A3 + [x > 0] softplus(d) with
            A1 + A2 = lnG(r+x) - lnG(r) + r ln(alpha) + lnG(a+b) + lnG(b+x) - lnG(b) - lnG(a+b+x),
            A3 = -(r+x) ln(alpha+T),   d = ln(a/(b+x-1)) + (r+x) ln((alpha+T)/(alpha+t_x)),
        i.e. FHL's ln[A3-term + A4-term] written as A3 + log(1 + e^d), d being the log-odds of "dropped out
        after the last purchase". Terms in x alone are summed per distinct x and A3 per distinct T with
        precomputed weights, so only repeat buyers cost per-row work. `fit` passes grouped rows with times
        rescaled to max(T) = 10; the function itself works in whatever unit it is given.
        """
        w = weights / weights.sum()
        ux, x_idx = np.unique(x, return_inverse=True)
        w_by_x = np.bincount(x_idx, weights=w, minlength=len(ux))
        ut, t_idx = np.unique(big_t, return_inverse=True)
        w_by_t = np.bincount(t_idx, weights=w, minlength=len(ut))
        wx_by_t = np.bincount(t_idx, weights=w * x, minlength=len(ut))
        rep = x > 0
        x_r, tx_r, t_r, w_r, xi_r = x[rep], t_x[rep], big_t[rep], w[rep], x_idx[rep]
        bx_minus_1 = np.maximum(ux, 1.0) - 1.0  # b + x - 1 is only used for x >= 1

        def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
            r, alpha, a, b = np.exp(log_params)
            dg_ab = digamma(a + b)
            dg_abx = digamma(a + b + ux)
            total = w_by_x @ (
                gammaln(r + ux)
                - gammaln(r)
                + gammaln(a + b)
                + gammaln(b + ux)
                - gammaln(b)
                - gammaln(a + b + ux)
            ) + r * np.log(alpha)
            g_r = w_by_x @ (digamma(r + ux) - digamma(r)) + np.log(alpha)
            g_alpha = r / alpha
            g_a = w_by_x @ (dg_ab - dg_abx)
            g_b = w_by_x @ (dg_ab + digamma(b + ux) - digamma(b) - dg_abx)

            log_at_u = np.log(alpha + ut)
            coef = r * w_by_t + wx_by_t
            total -= coef @ log_at_u
            g_r -= w_by_t @ log_at_u
            g_alpha -= coef @ (1.0 / (alpha + ut))

            gap = np.log(alpha + t_r) - np.log(alpha + tx_r)
            d = (np.log(a) - np.log(b + bx_minus_1))[xi_r] + (r + x_r) * gap
            total += w_r @ np.logaddexp(0.0, d)
            w4 = w_r * expit(d)  # weighted posterior probability of "dropped out after the last purchase"
            g_r += w4 @ gap
            g_alpha += w4 @ ((r + x_r) * (1.0 / (alpha + t_r) - 1.0 / (alpha + tx_r)))
            g_a += w4.sum() / a
            g_b -= np.bincount(xi_r, weights=w4, minlength=len(ux)) @ (1.0 / (b + bx_minus_1))

            params = np.array([r, alpha, a, b])
            value = -float(total) + penalizer_coef * float(np.sum(params**2))
            grad = -np.array([g_r, g_alpha, g_a, g_b]) * params + 2.0 * penalizer_coef * params**2
            if not np.isfinite(value) or not np.all(np.isfinite(grad)):
                return np.inf, np.zeros(4)
            return value, grad

        return objective

    def fit(self, frequency, recency, T) -> BetaGeoModel:
        """Fit r, alpha, a, b by (penalised) maximum likelihood. Raises BTYDFitError if it does not converge."""
        x, t_x, big_t = _check_bgnbd_inputs(frequency, recency, T)
        if not np.any(x > 0):
            raise BTYDFitError("BG/NBD fit needs repeat buyers (frequency > 0); none in the data")
        scale = 10.0 / big_t.max()
        (gx, gtx, gt), weights = _group_rows(x, t_x * scale, big_t * scale)
        objective = self._objective_factory(gx, gtx, gt, weights, self.penalizer_coef)
        outcome = _minimise(objective, 4, "BG/NBD")
        r, alpha, a, b = np.exp(outcome.log_params)
        self.params_ = {"r": float(r), "alpha": float(alpha / scale), "a": float(a), "b": float(b)}
        self.n_customers_ = len(x)
        self.n_groups_ = len(gx)
        return self

    def _params(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "params_"):
            raise RuntimeError("BetaGeoModel is not fitted")
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def log_likelihood(self, frequency, recency, T) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters (no penalty), in the input's time unit."""
        x, t_x, big_t = _check_bgnbd_inputs(frequency, recency, T)
        r, alpha, a, b = self._params()
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
        a3 = -(r + x) * np.log(alpha + big_t)
        with np.errstate(divide="ignore", invalid="ignore"):
            a4 = np.where(
                x > 0,
                np.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0) - (r + x) * np.log(alpha + t_x),
                -np.inf,
            )
        return a1 + a2 + np.logaddexp(a3, a4)

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        """P(customer still active at T | x, t_x, T); exactly 1 when frequency is 0 (BG/NBD assumption)."""
        x, t_x, big_t = _check_bgnbd_inputs(frequency, recency, T)
        return np.where(x == 0, 1.0, expit(-self._log_odds_dead(x, t_x, big_t)))

    def _log_odds_dead(self, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self._params()
        # log[ a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x) ]; only meaningful for x > 0.
        return (
            (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
            + np.log(a)
            - np.log(b + np.maximum(x, 1) - 1)
        )

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """E[number of purchases in (T, T + t] | x, t_x, T], t in the input's time unit (scalar or array).

        Non-decreasing in t, 0 at t = 0. Entries whose hypergeometric term cannot be evaluated are NaN.
        """
        x, t_x, big_t = _check_bgnbd_inputs(frequency, recency, T)
        t = np.broadcast_to(np.asarray(t, dtype="float64"), x.shape)
        if np.any(t < 0) or not np.all(np.isfinite(t)):
            raise ValueError("t must be finite and >= 0")
        r, alpha, a, b = self._params()
        if abs(a - 1.0) < _A_NEAR_ONE:
            # The closed form has a removable singularity at a = 1 (0/0); E is smooth in a, so interpolate
            # linearly between a = 1 -/+ delta (error O(delta^2) ~ 1e-8 relative, cancellation ~ 1e-12).
            lo = _expected_given_alive(t, x, big_t, r, alpha, 1.0 - _A_NEAR_ONE, b)
            hi = _expected_given_alive(t, x, big_t, r, alpha, 1.0 + _A_NEAR_ONE, b)
            given_alive = lo + (hi - lo) * (a - 1.0 + _A_NEAR_ONE) / (2.0 * _A_NEAR_ONE)
        else:
            given_alive = _expected_given_alive(t, x, big_t, r, alpha, a, b)
        p_alive = np.where(x == 0, 1.0, expit(-self._log_odds_dead(x, t_x, big_t)))
        with np.errstate(over="ignore", invalid="ignore"):
            out = given_alive * p_alive
        out = np.where(t == 0, 0.0, out)
        return np.where(np.isfinite(out), out, np.nan)

    def probability_no_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """P(no purchase in (T, T + t] | x, t_x, T), t in the input's time unit: a churn score for a horizon.

        Given alive, lambda ~ Gamma(r+x, alpha+T) and no purchase means no purchase event (dropout only
        happens right after a purchase), so P = 1 - P(alive) * (1 - ((alpha+T)/(alpha+T+t))^(r+x)).
        Unlike 1 - P(alive), which is 0 for every one-time buyer, this ranks one-time buyers by age and rate.
        """
        x, t_x, big_t = _check_bgnbd_inputs(frequency, recency, T)
        t = np.broadcast_to(np.asarray(t, dtype="float64"), x.shape)
        if np.any(t < 0) or not np.all(np.isfinite(t)):
            raise ValueError("t must be finite and >= 0")
        r, alpha, _, _ = self._params()
        p_alive = np.where(x == 0, 1.0, expit(-self._log_odds_dead(x, t_x, big_t)))
        p_some_if_alive = -np.expm1((r + x) * np.log1p(-t / (alpha + big_t + t)))
        return np.clip(1.0 - p_alive * p_some_if_alive, 0.0, 1.0)


def _expected_given_alive(
    t: np.ndarray, x: np.ndarray, big_t: np.ndarray, r: float, alpha: float, a: float, b: float
) -> np.ndarray:
    """E[purchases in (T, T + t] | alive at T, x, T] = (a+b+x-1)/(a-1) [1 - 2F1(a+b-1-r, a-1; a+b+x-1; z)
    (1-z)^(a-1)], z = t/(alpha+T+t) (the Euler-transformed FHL formula; a != 1)."""
    z = t / (alpha + big_t + t)
    c = a + b + x - 1.0
    hyp = _hyp2f1_euler(a + b - 1.0 - r, a - 1.0, c, z)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        log_pow = (a - 1.0) * np.log1p(-z)
        positive = hyp > 0
        # expm1 keeps precision for small t (the bracket is then ~ t); a negative 2F1 (possible when
        # a + b + x < 1) cannot cancel, so the plain product is exact enough there.
        one_minus = np.where(
            positive,
            -np.expm1(np.log(np.where(positive, hyp, 1.0)) + log_pow),
            1.0 - hyp * np.exp(log_pow),
        )
        return c / (a - 1.0) * one_minus


def _hyp2f1_euler(p1: float, p2: float, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """2F1(p1, p2; c; z) for 0 <= z < 1 (NaN where it cannot be evaluated).

    scipy's `hyp2f1` first; where it is not finite (scipy's z -> 1 - z transform involves Gamma(c - p1 - p2),
    which overflows for large c), the power series, which converges fast exactly there because c is large.
    """
    with np.errstate(all="ignore"):
        val = np.asarray(hyp2f1(p1, p2, c, z), dtype="float64")
        bad = ~np.isfinite(val)
        if np.any(bad):
            val = val.copy()
            val[bad] = _hyp2f1_series(p1, p2, c[bad], z[bad])
        return val


def _hyp2f1_series(p1: float, p2: float, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Plain power series of 2F1, vectorised; NaN for entries not converged within _SERIES_MAX_TERMS."""
    total = np.ones_like(z)
    term = np.ones_like(z)
    done = np.zeros(z.shape, dtype=bool)
    for k in range(_SERIES_MAX_TERMS):
        term = term * (p1 + k) * (p2 + k) / ((c + k) * (k + 1.0)) * z
        total = total + term
        done = np.abs(term) <= 1e-17 * np.abs(total)
        if done.all():
            break
    return np.where(done & np.isfinite(total), total, np.nan)


# --------------------------------------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------------------------------------


class GammaGammaModel:
    """Gamma-Gamma model of the mean spend per repeat purchase (Fader, Hardie & Lee 2005, RFM and CLV).

    Fitted on customers with frequency > 0 and monetary_value > 0 only (the model needs positive spends of
    repeat purchases). After `fit`, `params_` holds p, q, v (v in the input's currency).
    """

    def __init__(self, penalizer_coef: float = 0.0) -> None:
        self.penalizer_coef = penalizer_coef

    @staticmethod
    def _objective_factory(x, m, weights, penalizer_coef):
        w_norm = weights / weights.sum()
        log_m, log_x = np.log(m), np.log(x)

        def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
            p, q, v = np.exp(log_params)
            px = p * x
            log_xm_v = np.log(x * m + v)
            ll = (
                gammaln(px + q)
                - gammaln(px)
                - gammaln(q)
                + q * np.log(v)
                + (px - 1.0) * log_m
                + px * log_x
                - (px + q) * log_xm_v
            )
            dg_pxq = digamma(px + q)
            d_p = x * (dg_pxq - digamma(px) + log_m + log_x - log_xm_v)
            d_q = dg_pxq - digamma(q) + np.log(v) - log_xm_v
            d_v = q / v - (px + q) / (x * m + v)
            params = np.array([p, q, v])
            value = -float(np.dot(w_norm, ll)) + penalizer_coef * float(np.sum(params**2))
            grad = -np.array([np.dot(w_norm, d) for d in (d_p, d_q, d_v)]) * params
            grad = grad + 2.0 * penalizer_coef * params**2
            if not np.isfinite(value):
                return np.inf, np.zeros(3)
            return value, grad

        return objective

    def fit(self, frequency, monetary_value) -> GammaGammaModel:
        """Fit p, q, v on the rows with frequency > 0 and monetary_value > 0. Raises BTYDFitError on failure."""
        x = _as_float_array("frequency", frequency)
        m = _as_float_array("monetary_value", monetary_value)
        if len(x) != len(m):
            raise ValueError("frequency and monetary_value must have the same length")
        keep = (x > 0) & (m > 0)
        if not keep.any():
            raise BTYDFitError("Gamma-Gamma fit needs customers with frequency > 0 and monetary_value > 0")
        # Rescale spends to mean 1 so that the optimiser starts near the answer and the penalty is unit-free.
        scale = 1.0 / m[keep].mean()
        (gx, gm), weights = _group_rows(x[keep], m[keep] * scale)
        objective = self._objective_factory(gx, gm, weights, self.penalizer_coef)
        outcome = _minimise(objective, 3, "Gamma-Gamma")
        p, q, v = np.exp(outcome.log_params)
        self.params_ = {"p": float(p), "q": float(q), "v": float(v / scale)}
        self.n_customers_ = int(keep.sum())
        return self

    def expected_average_value(self, frequency, monetary_value) -> np.ndarray:
        """E[mean spend per purchase | x, mean observed spend] = p (v + x m) / (p x + q - 1).

        For frequency 0 (monetary_value ignored) this is the population mean p v / (q - 1); NaN where the
        denominator is <= 0 (q <= 1: the population mean does not exist).
        """
        if not hasattr(self, "params_"):
            raise RuntimeError("GammaGammaModel is not fitted")
        x = _as_float_array("frequency", frequency)
        m = _as_float_array("monetary_value", monetary_value)
        p, q, v = self.params_["p"], self.params_["q"], self.params_["v"]
        m = np.where(x > 0, m, 0.0)
        denom = p * x + q - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            out = p * (v + x * m) / denom
        return np.where(denom > 0, out, np.nan)


# --------------------------------------------------------------------------------------------------------
# Both together
# --------------------------------------------------------------------------------------------------------


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
