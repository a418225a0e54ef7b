"""BG/NBD model of repeat purchase counts in numpy/scipy.

Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the Pareto/NBD model",
Marketing Science 24(2). Parameters r, alpha (purchase-rate gamma), a, b (dropout beta). Fitted as described
in `models.btyd_fit`.

Numerical notes
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

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1

from models.btyd_fit import BTYDFitError, as_float_array, group_rows, minimise

_SERIES_MAX_TERMS = 20_000
_A_NEAR_ONE = 1e-4  # |a - 1| below which expected purchases are interpolated across the a = 1 singularity


def _check_bgnbd_inputs(frequency: object, recency: object, T: object) -> tuple[np.ndarray, ...]:
    x = as_float_array("frequency", frequency)
    t_x = as_float_array("recency", recency)
    big_t = as_float_array("T", T)
    if not (len(x) == len(t_x) == len(big_t)):
        raise ValueError("frequency, recency and T must have the same length")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be non-negative integers (repeat purchase counts)")
    if np.any(t_x < 0) or np.any(t_x > big_t) or np.any(big_t <= 0):
        raise ValueError("need 0 <= recency <= T and T > 0")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("recency must be 0 when frequency is 0")
    return x, t_x, big_t


def _check_horizon(t: object, shape: tuple[int, ...]) -> np.ndarray:
    """The horizon t (scalar or array) broadcast to `shape`; finite and >= 0 or ValueError."""
    t = np.broadcast_to(np.asarray(t, dtype="float64"), shape)
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError("t must be finite and >= 0")
    return t


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
        (gx, gtx, gt), weights = group_rows(x, t_x * scale, big_t * scale)
        objective = self._objective_factory(gx, gtx, gt, weights, self.penalizer_coef)
        outcome = minimise(objective, 4, "BG/NBD")
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
        return self._p_alive(x, t_x, big_t)

    def _p_alive(self, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        """P(alive at T) on checked inputs: 1 for x = 0, else 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))."""
        r, alpha, a, b = self._params()
        # log[ a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x) ]: the log-odds of dead; only meaningful for x > 0.
        log_odds_dead = (
            (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
            + np.log(a)
            - np.log(b + np.maximum(x, 1) - 1)
        )
        return np.where(x == 0, 1.0, expit(-log_odds_dead))

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """E[number of purchases in (T, T + t] | x, t_x, T], t in the input's time unit (scalar or array).

        Non-decreasing in t, 0 at t = 0. Entries whose hypergeometric term cannot be evaluated are NaN.
        """
        x, t_x, big_t = _check_bgnbd_inputs(frequency, recency, T)
        t = _check_horizon(t, x.shape)
        r, alpha, a, b = self._params()
        if abs(a - 1.0) < _A_NEAR_ONE:
            # The closed form has a removable singularity at a = 1 (0/0); E is smooth in a, so interpolate
            # linearly between a = 1 -/+ delta (error O(delta^2) ~ 1e-8 relative, cancellation ~ 1e-12).
            lo = _expected_given_alive(t, x, big_t, r, alpha, 1.0 - _A_NEAR_ONE, b)
            hi = _expected_given_alive(t, x, big_t, r, alpha, 1.0 + _A_NEAR_ONE, b)
            given_alive = lo + (hi - lo) * (a - 1.0 + _A_NEAR_ONE) / (2.0 * _A_NEAR_ONE)
        else:
            given_alive = _expected_given_alive(t, x, big_t, r, alpha, a, b)
        p_alive = self._p_alive(x, t_x, big_t)
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
        t = _check_horizon(t, x.shape)
        r, alpha, _, _ = self._params()
        p_alive = self._p_alive(x, t_x, big_t)
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
