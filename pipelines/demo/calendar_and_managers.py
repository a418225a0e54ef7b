"""The calendar (seasonal order intensity, promotion windows) and the account managers (start, departure)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.demo.params import _DAYS_PER_YEAR


def _draw_calendar(start_ts: pd.Timestamp, horizon: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Daily grid with cumulative seasonal intensity and cumulative promotion-window measure.

    Orders are drawn by inverting these cumulative curves, which is an exact inhomogeneous Poisson process for a
    piecewise-constant daily intensity.
    """
    n_days = int(np.ceil(horizon)) + 1
    grid = np.arange(n_days + 1, dtype=np.float64)
    dates = np.datetime64(start_ts.normalize().date(), "D") + np.arange(n_days)
    day_of_year = (dates - dates.astype("datetime64[Y]")).astype(np.int64)
    month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day_of_month = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    # Q4 peak around early December, summer trough.
    seasonal = 1.0 + 0.35 * np.cos(2 * np.pi * (day_of_year - 335) / _DAYS_PER_YEAR)
    promo_day = (
        ((month == 1) & (day_of_month >= 2) & (day_of_month <= 8))
        | ((month == 7) & (day_of_month <= 10))
        | ((month == 11) & (day_of_month >= 24))
        | ((month == 12) & (day_of_month <= 2))
    )
    n_flash = int(np.ceil(horizon / _DAYS_PER_YEAR * 6))
    flash_start = rng.integers(0, n_days, size=n_flash)
    for offset in range(3):  # three-day flash sales
        promo_day[np.minimum(flash_start + offset, n_days - 1)] = True
    # A tiny floor keeps the cumulative curve strictly increasing, so its inverse is well defined.
    promo_intensity = promo_day.astype(np.float64) + 1e-6
    return {
        "grid": grid,
        "cum_seasonal": np.concatenate([[0.0], np.cumsum(seasonal)]),
        "cum_promo": np.concatenate([[0.0], np.cumsum(promo_intensity)]),
        "promo_day": promo_day,
    }


def _draw_managers(n_managers: int, horizon: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Account managers: a core that stays, a founding team, later hires; some leave (``left`` NaN = stays).

    Times are float days since ``start``; managers are sorted by start day so ids follow hiring order.
    """
    n_core = max(2, round(0.1 * n_managers))
    founding = rng.random(n_managers) < 0.55
    founding[:n_core] = True
    started = np.where(founding, 0.0, rng.uniform(0.0, 0.85 * horizon, n_managers))
    left = started + 180.0 + rng.random(n_managers) * (horizon - started - 180.0)
    leaves = (rng.random(n_managers) < 0.4) & (left < horizon - 1.0)
    leaves[:n_core] = False
    left = np.where(leaves, left, np.nan)
    order = np.lexsort((np.arange(n_managers), started))
    return {"started": started[order], "left": left[order]}
