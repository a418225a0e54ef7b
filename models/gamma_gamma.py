"""Gamma-Gamma model of the mean spend per repeat purchase in numpy/scipy.

Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base analysis", JMR 42(4); the
likelihood as in Fader & Hardie's note "The Gamma-Gamma model of monetary value". Parameters p, q, v. Fitted
as described in `models.btyd_fit`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from models.btyd_fit import BTYDFitError, as_float_array, group_rows, minimise


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
        x = as_float_array("frequency", frequency)
        m = as_float_array("monetary_value", monetary_value)
        if len(x) != len(m):
            raise ValueError("frequency and monetary_value must have the same length")
        keep = (x > 0) & (m > 0)
        if not keep.any():
            raise BTYDFitError("Gamma-Gamma fit needs customers with frequency > 0 and monetary_value > 0")
        # Rescale spends to mean 1 so that the optimiser starts near the answer and the penalty is unit-free.
        scale = 1.0 / m[keep].mean()
        (gx, gm), weights = group_rows(x[keep], m[keep] * scale)
        objective = self._objective_factory(gx, gm, weights, self.penalizer_coef)
        outcome = minimise(objective, 3, "Gamma-Gamma")
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
        x = as_float_array("frequency", frequency)
        m = as_float_array("monetary_value", monetary_value)
        p, q, v = self.params_["p"], self.params_["q"], self.params_["v"]
        m = np.where(x > 0, m, 0.0)
        denom = p * x + q - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            out = p * (v + x * m) / denom
        return np.where(denom > 0, out, np.nan)
