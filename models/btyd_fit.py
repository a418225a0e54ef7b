"""The fitting machinery shared by the BTYD models (`models.bgnbd`, `models.gamma_gamma`).

Both likelihoods are written in log space with `gammaln`/`digamma` and analytic gradients, optimised with
L-BFGS-B over log-parameters (`minimise`). Rows with identical inputs are grouped and weighted (`group_rows`),
and every term that depends on the frequency alone is evaluated once per distinct frequency, so a fit costs
O(distinct rows). As in lifetimes, the objective is the mean negative log-likelihood per customer plus
`penalizer_coef * sum(params**2)`. BG/NBD times are rescaled so that max(T) = 10 before fitting (as lifetimes
does, so a penalizer means the same thing here and there); Gamma-Gamma spends are rescaled to a mean of 1
(lifetimes does not; with raw currency the penalty on v would depend on the currency unit). With
`penalizer_coef = 0` neither rescaling changes the maximum-likelihood estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from scipy.optimize import minimize

# Log-parameter box. Parameters are unit-free or in rescaled units (see module notes), so values beyond
# 1e-6 .. 1e6 mean the likelihood keeps improving towards a boundary (e.g. r -> 0 when nobody repeats):
# reaching the box counts as "did not converge".
_LOG_BOUND = float(np.log(1e6))
_GRAD_TOL = 1e-4  # max |gradient| of the mean objective accepted as a stationary point


class BTYDFitError(RuntimeError):
    """A BTYD model could not be fitted (too few repeat customers, no convergence, unusable parameters)."""


def as_float_array(name: str, values: object) -> np.ndarray:
    arr = np.asarray(values, dtype="float64")
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has NaN or infinite values")
    return arr


@dataclass(frozen=True)
class FitOutcome:
    log_params: np.ndarray
    objective: float
    max_abs_grad: float


@cache
def _blas():
    """The BLAS libraries loaded (scipy's and numpy's OpenBLAS), found once: `threadpoolctl` scans the process."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def minimise(objective, n_params: int, what: str) -> FitOutcome:
    """L-BFGS-B over log-parameters from 0; on a doubtful stop, polish with Nelder-Mead and L-BFGS-B again.

    Converged means: finite objective, max |gradient| < _GRAD_TOL and no log-parameter at the box edge.
    Raises BTYDFitError otherwise.

    On one BLAS thread: every BLAS call here is tiny (L-BFGS-B's steps on 3-4 parameters, the objective's dot
    products over distinct rows), and OpenBLAS handing each to its thread pool cost 3-5 ms a step on 2 busy cores
    (a BG/NBD fit of 5,000 customers 0.45 s against 0.065 s on one thread; the same estimates).
    """
    with _blas().limit(limits=1, user_api="blas"):
        return _minimise(objective, n_params, what)


def _minimise(objective, n_params: int, what: str) -> FitOutcome:
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
    return FitOutcome(log_params=x, objective=float(f), max_abs_grad=max_grad)


def group_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the given columns and how many times each occurs (for a weighted likelihood)."""
    frame = pd.DataFrame({f"c{i}": c for i, c in enumerate(columns)})
    counts = frame.groupby(list(frame.columns), sort=False).size()
    keys = counts.index.to_frame(index=False)
    return [keys[f"c{i}"].to_numpy(dtype="float64") for i in range(len(columns))], counts.to_numpy("float64")
