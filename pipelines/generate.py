"""Synthetic demo company: a multi-year B2B/B2C business generated from latent customer archetypes.

The generator draws every customer from a blend of the three archetypes of the domain brief (great, good,
problem), settles who manages them and when they leave, and then draws all contract tables from those latent
parameters. The latent truth is returned separately so tests and demos can check what a model recovers; the
product pipeline never reads it.

Tables produced (names and columns per the data contract; dtypes per its validated representation):

- ``orders``: order_id, customer_id, ordered_at, revenue, cost, discount, promo, quantity, channel.
  Grain: one row per order. ``revenue`` is paid after discounts; ``cost`` is the cost of goods of the list-price
  basket, ``cost = (revenue + discount) * (1 - margin_rate)``, so discounts erode margin.
- ``returns``: return_id, customer_id, order_id, returned_at, amount, reason. Grain: one row per returned order.
- ``tickets``: ticket_id, customer_id, opened_at, closed_at, kind, effort_minutes, escalated, satisfaction.
  ``closed_at`` is empty while the ticket is still open at ``end``; ``satisfaction`` is empty when unsurveyed.
- ``invoices``: invoice_id, customer_id, issued_at, due_at, paid_at, amount, disputed. One invoice per order:
  ``issued_at = ordered_at``, ``due_at = issued_at + 30 days`` (may fall after ``end``), ``paid_at`` empty when
  unpaid at ``end``.
- ``referrals``: referrer_id, referred_id, referred_at. The referred customer signs up after ``referred_at``.
- ``customers``: customer_id, signup_at, segment, size, region, acquisition_channel, account_manager_id,
  churned_at, name, email, phone. ``churned_at`` is an explicit cancellation, present only for customers with a
  contract-like relationship who left before ``end``; the others simply stop ordering.
- ``account_managers``: account_manager_id, name, started_at, left_at.

Time semantics: every event (signup, order, return, ticket open/close, payment, referral, manager start/leave)
lies in ``[start, end]`` at whole seconds; only ``due_at`` may lie after ``end``. A customer's orders stop at
their latent churn time. Determinism: one ``numpy.random.Generator(PCG64(seed))`` drives every draw, in a fixed
order, and files are written by pyarrow with fixed settings, so a seed reproduces byte-identical files.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from features.contract import TABLES, TICKET_KINDS

ARCHETYPES: tuple[str, ...] = ("great", "good", "problem")
#: The contract tables the demo company has (all but the optional assignment history).
TABLE_NAMES: tuple[str, ...] = tuple(t for t in TABLES if t != "assignments")
RETURN_REASONS: tuple[str, ...] = (
    "damaged",
    "wrong_item",
    "not_as_described",
    "changed_mind",
    "quality",
    "late_delivery",
)
CHANNELS: tuple[str, ...] = ("web", "mobile_app", "store", "sales_rep", "edi")
SEGMENTS: tuple[str, ...] = ("B2C", "B2B")
SIZES: tuple[str, ...] = ("individual", "small", "medium", "large", "enterprise")
REGIONS: tuple[str, ...] = ("North", "South", "East", "West", "International")
ACQUISITION_CHANNELS: tuple[str, ...] = (
    "organic_search",
    "paid_search",
    "marketplace_deal",
    "sales_outbound",
    "partner",
    "event",
    "referral",
)

_DAYS_PER_YEAR = 365.25
_SECONDS_PER_DAY = 86_400
_PAYMENT_TERMS_DAYS = 30
_MANAGER_BIN_DAYS = 30.0
# Losing the relationship owner multiplies the churn hazard for a year, after which a new owner has bonded.
_MANAGER_SHOCK_MULTIPLIER = 4.0
_MANAGER_SHOCK_DAYS = 365.0
# Share of customers reserved to be acquired by word of mouth; unused reservations fall back to organic.
_REFERRAL_POOL_SHARE = 0.18
_MAX_LIFETIME_DAYS = 100 * 365.0

# Archetype mix of organic acquisitions and of referred ones (great customers bring in their like).
_ARCHETYPE_SHARE_ORGANIC = np.array([0.18, 0.62, 0.20])
_ARCHETYPE_SHARE_REFERRED = np.array([0.45, 0.42, 0.13])

# Median behaviour of a pure archetype (great, good, problem). A customer blends them with its archetype
# weights: positive rates geometrically, probabilities on the logit scale, then adds individual noise.
_RATE_PROFILE: dict[str, tuple[float, float, float]] = {
    "purchase_rate_per_year": (5.5, 5.0, 3.5),
    "order_value_multiplier": (1.3, 1.0, 0.8),
    "negotiated_discount_rate": (0.008, 0.03, 0.12),
    "service_need_per_year": (0.8, 0.5, 5.0),
    "effort_median_minutes": (20.0, 15.0, 60.0),
    "resolution_median_hours": (8.0, 6.0, 36.0),
    "referral_rate_per_year": (0.45, 0.04, 0.01),
    "churn_hazard_per_year": (0.08, 0.45, 0.30),
}
_RATE_NOISE_SD: dict[str, float] = {
    "purchase_rate_per_year": 0.5,
    "order_value_multiplier": 0.7,
    "negotiated_discount_rate": 0.4,
    "service_need_per_year": 0.5,
    "effort_median_minutes": 0.3,
    "resolution_median_hours": 0.3,
    "referral_rate_per_year": 0.5,
    "churn_hazard_per_year": 0.4,
}
_PROB_PROFILE: dict[str, tuple[float, float, float]] = {
    "margin_rate": (0.50, 0.42, 0.35),
    "promo_affinity": (0.05, 0.60, 0.20),
    "return_propensity": (0.02, 0.07, 0.18),
    "late_payment_prob": (0.03, 0.08, 0.45),
    "dispute_prob": (0.002, 0.01, 0.12),
    "escalation_prob": (0.02, 0.04, 0.25),
}
_PROB_NOISE_SD: dict[str, float] = {
    "margin_rate": 0.3,
    "promo_affinity": 0.6,
    "return_propensity": 0.5,
    "late_payment_prob": 0.5,
    "dispute_prob": 0.5,
    "escalation_prob": 0.5,
}
_SATISFACTION_MEAN = np.array([4.6, 4.0, 2.2])

# Ticket kind probabilities (columns follow TICKET_KINDS) by archetype, for B2C then B2B customers.
_KIND_PROBS = np.array(
    [
        [[0.40, 0.05, 0.05, 0.30, 0.05, 0.15], [0.30, 0.05, 0.05, 0.25, 0.30, 0.05]],  # great
        [[0.40, 0.10, 0.15, 0.20, 0.00, 0.15], [0.35, 0.10, 0.15, 0.20, 0.15, 0.05]],  # good
        [[0.15, 0.45, 0.20, 0.10, 0.00, 0.10], [0.10, 0.40, 0.20, 0.10, 0.15, 0.05]],  # problem
    ]
)
# Return reason probabilities (columns follow RETURN_REASONS) by archetype.
_REASON_PROBS = np.array(
    [
        [0.35, 0.25, 0.15, 0.05, 0.10, 0.10],
        [0.15, 0.15, 0.15, 0.35, 0.10, 0.10],
        [0.10, 0.10, 0.30, 0.15, 0.30, 0.05],
    ]
)
# Preferred order channel (columns follow CHANNELS) for B2C and B2B customers.
_CHANNEL_PROBS = np.array([[0.55, 0.30, 0.15, 0.00, 0.00], [0.35, 0.00, 0.00, 0.45, 0.20]])
# B2B company size (columns follow SIZES) and its effect on basket value and order frequency.
_B2B_SIZE_PROBS = np.array([0.0, 0.50, 0.30, 0.15, 0.05])
_SIZE_VALUE_MULTIPLIER = np.array([1.0, 0.8, 1.2, 2.0, 4.0])
_SIZE_RATE_MULTIPLIER = np.array([1.0, 1.0, 1.3, 1.6, 2.0])
# Median list-price basket of a B2C and of a B2B customer, before archetype and size effects.
_BASE_ORDER_VALUE = np.array([55.0, 150.0])
_REGION_PROBS = np.array([0.25, 0.20, 0.20, 0.25, 0.10])
# Organic acquisition channel (columns follow ACQUISITION_CHANNELS) by archetype: deal hunters come via deals.
_ACQUISITION_PROBS = np.array(
    [
        [0.35, 0.15, 0.05, 0.15, 0.15, 0.15, 0.0],
        [0.25, 0.30, 0.25, 0.05, 0.10, 0.05, 0.0],
        [0.25, 0.25, 0.20, 0.15, 0.10, 0.05, 0.0],
    ]
)

_FIRST_NAMES = (
    "Ada Alan Amara Ana Ben Bianca Carlos Chen Chloe Dana David Elena Emil Farah Felix Grace Hana Hugo Ines "
    "Ivan Jade Jonas Kai Karin Lena Leo Liam Lucia Maya Mateo Mia Nadia Noah Nora Omar Oscar Priya Quinn Rafael "
    "Rosa Sam Sara Sofia Tariq Theo Uma Vera Wei Yara Zoe"
).split()
_LAST_NAMES = (
    "Abbott Alvarez Baker Becker Brennan Castillo Chowdhury Cole Dubois Eriksen Fischer Fontaine Garcia Hale "
    "Hansen Ibrahim Ivanova Jensen Kaur Kim Kowalski Larsen Lopez Moreau Murphy Nakamura Novak Okafor Olsen "
    "Patel Petrov Quinlan Rossi Santos Schmidt Silva Singh Sorensen Tanaka Torres Ueda Varga Vogel Walsh Weber "
    "Xu Yilmaz Young Zhang Zimmer"
).split()
_COMPANY_SUFFIXES = "Ltd GmbH Inc LLC Group Partners Trading Holdings Supplies Works".split()


@dataclass(frozen=True)
class DemoCompany:
    """A generated company: contract tables plus the latent truth behind them.

    ``tables`` maps each contract table name (see ``TABLE_NAMES``) to a frame in the validated representation.
    ``truth`` has one row per customer (same order as ``tables["customers"]``): customer_id, archetype,
    archetype weights, the behaviour parameters each table was drawn from, the latent churn time (possibly after
    the window end), whether the manager's departure hit the customer, and who referred them.
    """

    tables: dict[str, pd.DataFrame]
    truth: pd.DataFrame


def generate_company(
    n_customers: int, start: str | pd.Timestamp, end: str | pd.Timestamp, seed: int
) -> DemoCompany:
    """Generate a synthetic company of ``n_customers`` customers active between ``start`` and ``end``.

    ``start`` and ``end`` are the inclusive window of every event (whole seconds, naive wall-clock). The same
    ``(n_customers, start, end, seed)`` always yields identical frames. Fully vectorised: the only Python loops
    run over referral generations and 30-day manager-assignment bins, never over customers or events.
    """
    if n_customers < 1:
        raise ValueError("n_customers must be at least 1")
    start_ts = pd.Timestamp(start)
    end_ts = pd.Timestamp(end)
    if start_ts.tzinfo is not None or end_ts.tzinfo is not None:
        raise ValueError("start and end must be naive timestamps (wall-clock)")
    start_ts = start_ts.floor("s")
    end_ts = end_ts.floor("s")
    horizon = (end_ts - start_ts).total_seconds() / _SECONDS_PER_DAY
    if horizon < 30:
        raise ValueError("the window from start to end must span at least 30 days")

    rng = np.random.Generator(np.random.PCG64(seed))
    calendar = _draw_calendar(start_ts, horizon, rng)
    managers = _draw_managers(max(5, round(n_customers / 75)), horizon, rng)
    cust = _draw_customers(n_customers, horizon, rng)
    referrals = _settle_customers(cust, managers, horizon, rng)
    orders = _draw_orders(cust, calendar, horizon, rng)
    returns = _draw_returns(cust, orders, horizon, rng)
    tickets = _draw_tickets(cust, horizon, rng)
    invoices = _draw_invoices(cust, orders, horizon, rng)
    return _assemble(cust, managers, orders, returns, tickets, invoices, referrals, start_ts, horizon, rng)


def write_company(company: DemoCompany, out_dir: Path, fmt: str = "parquet") -> dict[str, Path]:
    """Write every contract table to ``out_dir/<table>.<fmt>`` and the truth to ``out_dir/_truth/truth.parquet``.

    ``fmt`` is ``"parquet"`` (default) or ``"csv"`` (UTF-8, ISO-8601 timestamps ``YYYY-MM-DDTHH:MM:SS``, empty
    cells for missing values). Each file is written to a temporary file in the same directory and moved into
    place with ``os.replace``, so readers never see a half-written file. Returns table name -> path; the truth is
    under the key ``"_truth"`` (not a contract table; the product must not read it).
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', not {fmt!r}")
    out_dir = Path(out_dir)
    truth_dir = out_dir / "_truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in TABLE_NAMES:
        path = out_dir / f"{name}.{fmt}"
        _write_table(company.tables[name], path, fmt)
        paths[name] = path
    truth_path = truth_dir / "truth.parquet"
    _write_table(company.truth, truth_path, "parquet")
    paths["_truth"] = truth_path
    return paths


# ----------------------------------------------------------------------------------------------------------
# Latent structure: calendar, managers, customers, referral generations
# ----------------------------------------------------------------------------------------------------------


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


def _blend_rates(weights: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-customer positive rates and probabilities blended from the archetype profiles plus noise."""
    params: dict[str, np.ndarray] = {}
    n = len(weights)
    for name, profile in _RATE_PROFILE.items():
        log_mean = weights @ np.log(np.asarray(profile))
        params[name] = np.exp(log_mean + _RATE_NOISE_SD[name] * rng.standard_normal(n))
    for name, profile in _PROB_PROFILE.items():
        p = np.asarray(profile)
        logit_mean = weights @ np.log(p / (1 - p))
        params[name] = 1.0 / (1.0 + np.exp(-(logit_mean + _PROB_NOISE_SD[name] * rng.standard_normal(n))))
    params["satisfaction_mean"] = weights @ _SATISFACTION_MEAN
    return params


def _draw_customers(n: int, horizon: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Latent customer attributes; times are float days since ``start``, set for organic acquisition.

    Returns parallel arrays indexed by internal customer number (not yet the final id order).
    """
    referral_candidate = rng.random(n) < _REFERRAL_POOL_SHARE
    u = rng.random(n)
    archetype = np.where(
        referral_candidate,
        np.searchsorted(np.cumsum(_ARCHETYPE_SHARE_REFERRED), u, side="right"),
        np.searchsorted(np.cumsum(_ARCHETYPE_SHARE_ORGANIC), u, side="right"),
    ).clip(0, 2)
    # Most customers are close to one archetype; a minority are genuine mixtures. mix <= 0.5 keeps the drawn
    # archetype as the largest weight.
    mix = 0.5 * rng.beta(1.0, 2.0, n)
    weights = (1.0 - mix)[:, None] * np.eye(3)[archetype] + mix[:, None] * rng.dirichlet(np.ones(3), n)
    params = _blend_rates(weights, rng)

    great_share = weights[:, 0]
    is_b2b = rng.random(n) < 0.22 + 0.15 * great_share
    size = np.where(is_b2b, _draw_categorical(_B2B_SIZE_PROBS, n, rng), 0)
    region = _draw_categorical(_REGION_PROBS, n, rng)
    preferred_channel = _draw_categorical_rows(_CHANNEL_PROBS, is_b2b.astype(np.int64), rng)
    acquisition = _draw_categorical_rows(_ACQUISITION_PROBS, archetype, rng)

    # Basket value: heavy-tailed across customers (lognormal noise times company size), so a few whales carry
    # a visible share of revenue.
    base_value = _BASE_ORDER_VALUE[is_b2b.astype(np.int64)]
    mean_order_value = base_value * params["order_value_multiplier"] * _SIZE_VALUE_MULTIPLIER[size]
    purchase_rate = params["purchase_rate_per_year"] * _SIZE_RATE_MULTIPLIER[size]
    mean_quantity = np.where(is_b2b, 4.0 + 3.0 * size, 1.6)

    signup = _draw_organic_signups(n, horizon, rng)
    lifetime = np.minimum(
        rng.exponential(1.0, n) / params["churn_hazard_per_year"] * _DAYS_PER_YEAR, _MAX_LIFETIME_DAYS
    )
    return {
        "archetype": archetype,
        "weights": weights,
        "referral_candidate": referral_candidate,
        "is_b2b": is_b2b,
        "size": size,
        "region": region,
        "preferred_channel": preferred_channel,
        "acquisition": acquisition,
        "mean_order_value": mean_order_value,
        "purchase_rate": purchase_rate,
        "mean_quantity": mean_quantity,
        "signup": signup,
        "lifetime": lifetime,
        "manager": np.full(n, -1, dtype=np.int64),
        "churn": np.full(n, np.nan),
        "shocked": np.zeros(n, dtype=bool),
        "referred_by": np.full(n, -1, dtype=np.int64),
        **params,
    }


def _draw_organic_signups(n: int, horizon: float, rng: np.random.Generator) -> np.ndarray:
    """Signup days: a launch cohort in the first month, then growing acquisition (density rising linearly)."""
    growth = 1.5
    u = rng.random(n)
    # Inverse CDF of a density proportional to 1 + growth * x on [0, 1].
    x = (np.sqrt(1.0 + 2.0 * growth * u * (1.0 + growth / 2.0)) - 1.0) / growth
    later = x * 0.97 * horizon
    launch = rng.random(n) * min(30.0, horizon / 4)
    return np.where(rng.random(n) < 0.08, launch, later)


def _assign_managers(
    signup: np.ndarray, managers: dict[str, np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """Pick for each signup a manager employed through the signup's 30-day bin, uniformly among them."""
    n_bins = int(np.floor(signup.max() / _MANAGER_BIN_DAYS)) + 1 if len(signup) else 1
    lo = np.arange(n_bins) * _MANAGER_BIN_DAYS
    hi = lo + _MANAGER_BIN_DAYS
    left = managers["left"]
    # NaN (never leaves) compares False, so such managers stay active.
    active = (managers["started"][None, :] <= lo[:, None]) & ~(left[None, :] <= hi[:, None])
    counts = active.sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat = np.nonzero(active)[1]
    bins = np.floor(signup / _MANAGER_BIN_DAYS).astype(np.int64)
    pick = np.floor(rng.random(len(signup)) * counts[bins]).astype(np.int64)
    return flat[offsets[bins] + pick]


def _settle(
    idx: np.ndarray, cust: dict[str, np.ndarray], managers: dict[str, np.ndarray], rng: np.random.Generator
) -> None:
    """Fix manager and latent churn time of customers ``idx`` whose signup is final (in place).

    The churn time is the signup plus a latent lifetime drawn under a constant hazard; if the customer's manager
    leaves during that lifetime, the hazard is multiplied for ``_MANAGER_SHOCK_DAYS`` after the departure.
    Rescaling the remaining (memoryless) lifetime by the multiplier is the exact piecewise-constant hazard draw.
    """
    signup = cust["signup"][idx]
    manager = _assign_managers(signup, managers, rng)
    churn0 = signup + cust["lifetime"][idx]
    left = managers["left"][manager]
    hit = (left > signup) & (left < churn0)
    excess = np.where(hit, churn0 - left, 0.0)
    k, w = _MANAGER_SHOCK_MULTIPLIER, _MANAGER_SHOCK_DAYS
    shocked_churn = np.where(excess < k * w, left + excess / k, churn0 - (k - 1.0) * w)
    cust["manager"][idx] = manager
    cust["churn"][idx] = np.where(hit, shocked_churn, churn0)
    cust["shocked"][idx] = hit


def _settle_customers(
    cust: dict[str, np.ndarray], managers: dict[str, np.ndarray], horizon: float, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Settle all customers and grow referral chains generation by generation.

    Organic customers are settled first; each settled customer makes referrals as a Poisson process over their
    active life; each referral claims one reserved customer whose signup becomes the referral time plus a short
    lag. Newly referred customers form the next generation, so chains (a referred customer referring others)
    arise naturally. Reserved customers never claimed fall back to organic acquisition.
    Returns referral events as arrays: referrer, referred (internal numbers), at (float days).
    """
    pool = rng.permutation(np.flatnonzero(cust["referral_candidate"]))
    current = np.flatnonzero(~cust["referral_candidate"])
    referrers, referred, at = [], [], []
    while len(current) and len(pool):
        _settle(current, cust, managers, rng)
        signup = cust["signup"][current]
        active = np.maximum(np.minimum(cust["churn"][current], horizon) - signup, 0.0)
        n_events = rng.poisson(cust["referral_rate_per_year"][current] * active / _DAYS_PER_YEAR)
        who = np.repeat(current, n_events)
        when = np.repeat(signup, n_events) + rng.random(len(who)) * np.repeat(active, n_events)
        new_signup = when + rng.exponential(21.0, len(who))
        ok = new_signup < horizon
        who, when, new_signup = who[ok], when[ok], new_signup[ok]
        if len(who) > len(pool):
            keep = np.sort(rng.permutation(len(who))[: len(pool)])
            who, when, new_signup = who[keep], when[keep], new_signup[keep]
        claimed, pool = pool[: len(who)], pool[len(who) :]
        cust["signup"][claimed] = new_signup
        cust["referred_by"][claimed] = who
        referrers.append(who)
        referred.append(claimed)
        at.append(when)
        current = claimed
    if len(current):
        _settle(current, cust, managers, rng)
    if len(pool):
        # Unclaimed reservations were acquired organically after all, with their organic signup.
        _settle(pool, cust, managers, rng)
    referred_all = np.concatenate(referred) if referred else np.empty(0, dtype=np.int64)
    cust["acquisition"][referred_all] = ACQUISITION_CHANNELS.index("referral")
    return {
        "referrer": np.concatenate(referrers) if referrers else np.empty(0, dtype=np.int64),
        "referred": referred_all,
        "at": np.concatenate(at) if at else np.empty(0),
    }


# ----------------------------------------------------------------------------------------------------------
# Event tables (all times float days since start; whole seconds are fixed in _assemble)
# ----------------------------------------------------------------------------------------------------------


def _draw_orders(
    cust: dict[str, np.ndarray], calendar: dict[str, np.ndarray], horizon: float, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Orders: a first order right after signup, then a seasonal Poisson process until churn or ``end``.

    A share ``promo_affinity`` of each customer's later orders is placed inside promotion windows (deal hunting)
    and flagged promo; other orders in a window take the deal occasionally. Rows are sorted by time.
    """
    n = len(cust["signup"])
    signup = cust["signup"]
    stop = np.minimum(cust["churn"], horizon)
    grid, cum_s, cum_p = calendar["grid"], calendar["cum_seasonal"], calendar["cum_promo"]

    first_t = signup + rng.exponential(0.5, n)
    has_first = first_t <= stop
    first_cust = np.flatnonzero(has_first)
    first_t = first_t[has_first]

    s_lo, s_hi = np.interp(signup, grid, cum_s), np.interp(stop, grid, cum_s)
    p_lo, p_hi = np.interp(signup, grid, cum_p), np.interp(stop, grid, cum_p)
    mass_years = np.maximum(s_hi - s_lo, 0.0) / _DAYS_PER_YEAR
    n_extra = rng.poisson(cust["purchase_rate"] * mass_years)
    extra_cust = np.repeat(np.arange(n), n_extra)
    u = rng.random(len(extra_cust))
    # Deal hunting needs at least half a promotion day inside the customer's active life.
    sought = (rng.random(len(extra_cust)) < cust["promo_affinity"][extra_cust]) & (
        (p_hi - p_lo)[extra_cust] > 0.5
    )
    extra_t = np.empty(len(extra_cust))
    c_b = extra_cust[~sought]
    extra_t[~sought] = np.interp(s_lo[c_b] + u[~sought] * (s_hi - s_lo)[c_b], cum_s, grid)
    c_p = extra_cust[sought]
    extra_t[sought] = np.interp(p_lo[c_p] + u[sought] * (p_hi - p_lo)[c_p], cum_p, grid)
    extra_t = np.minimum(extra_t, stop[extra_cust])

    c = np.concatenate([first_cust, extra_cust])
    t = np.concatenate([first_t, extra_t])
    # Acquisition deals: a deal hunter's first order is often on a welcome offer.
    first_promo = rng.random(len(first_cust)) < cust["promo_affinity"][first_cust]
    sought = np.concatenate([first_promo, sought])
    order = np.argsort(t, kind="stable")
    c, t, sought = c[order], t[order], sought[order]

    m = len(c)
    day = np.minimum(t.astype(np.int64), len(calendar["promo_day"]) - 1)
    in_window = calendar["promo_day"][day]
    promo = sought | (in_window & (rng.random(m) < 0.2))
    negotiated = np.minimum(cust["negotiated_discount_rate"][c] * rng.gamma(2.0, 0.5, m), 0.5)
    discount_rate = np.where(promo, rng.uniform(0.10, 0.30, m), negotiated)
    mean_q = cust["mean_quantity"][c]
    quantity = 1.0 + rng.poisson(mean_q - 1.0)
    unit_price = cust["mean_order_value"][c] / mean_q
    gross = np.round(unit_price * quantity * rng.lognormal(-0.03, 0.25, m), 2)
    gross = np.maximum(gross, 0.5)
    discount = np.round(gross * discount_rate, 2)
    revenue = np.round(gross - discount, 2)
    cost = np.round(gross * (1.0 - cust["margin_rate"][c]), 2)
    b2b = cust["is_b2b"][c].astype(np.int64)
    other_channel = _draw_categorical_rows(_CHANNEL_PROBS, b2b, rng)
    channel = np.where(rng.random(m) < 0.85, cust["preferred_channel"][c], other_channel)
    return {
        "cust": c,
        "t": t,
        "revenue": revenue,
        "cost": cost,
        "discount": discount,
        "promo": promo,
        "quantity": quantity,
        "channel": channel,
    }


def _draw_returns(
    cust: dict[str, np.ndarray], orders: dict[str, np.ndarray], horizon: float, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Returns: each order is returned with the customer's propensity (higher for promo orders)."""
    c = orders["cust"]
    m = len(c)
    p = np.minimum(cust["return_propensity"][c] * np.where(orders["promo"], 1.6, 1.0), 0.9)
    is_returned = rng.random(m) < p
    returned_at = orders["t"] + 1.0 + rng.exponential(8.0, m)
    full = rng.random(m) < 0.65
    amount = np.round(orders["revenue"] * np.where(full, 1.0, rng.uniform(0.2, 0.9, m)), 2)
    keep = is_returned & (returned_at <= horizon) & (amount > 0)
    idx = np.flatnonzero(keep)
    reason = _draw_categorical_rows(_REASON_PROBS, cust["archetype"][c[idx]], rng)
    order = np.argsort(returned_at[idx], kind="stable")
    idx = idx[order]
    return {
        "cust": c[idx],
        "order_row": idx,
        "t": returned_at[idx],
        "amount": amount[idx],
        "reason": reason[order],
    }


def _draw_tickets(
    cust: dict[str, np.ndarray], horizon: float, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Tickets: a Poisson process at the customer's service need over their active life."""
    n = len(cust["signup"])
    signup = cust["signup"]
    active = np.maximum(np.minimum(cust["churn"], horizon) - signup, 0.0)
    n_tickets = rng.poisson(cust["service_need_per_year"] * active / _DAYS_PER_YEAR)
    c = np.repeat(np.arange(n), n_tickets)
    k = len(c)
    opened = signup[c] + rng.random(k) * active[c]
    profile = cust["archetype"][c] * 2 + cust["is_b2b"][c].astype(np.int64)
    kind = _draw_categorical_rows(_KIND_PROBS.reshape(-1, len(TICKET_KINDS)), profile, rng)
    meeting = kind == TICKET_KINDS.index("meeting")
    complaint = kind == TICKET_KINDS.index("complaint")
    effort = np.round(
        cust["effort_median_minutes"][c] * np.where(meeting, 2.5, 1.0) * rng.lognormal(0.0, 0.8, k), 0
    )
    escalated = rng.random(k) < np.minimum(cust["escalation_prob"][c] * np.where(complaint, 2.0, 1.0), 0.95)
    resolution_hours = (
        cust["resolution_median_hours"][c] * np.where(escalated, 3.0, 1.0) * rng.lognormal(0, 1, k)
    )
    closed = opened + resolution_hours / 24.0
    score = cust["satisfaction_mean"][c] - 0.8 * escalated - 0.4 * complaint + 0.9 * rng.standard_normal(k)
    satisfaction = np.clip(np.round(score), 1.0, 5.0)
    satisfaction[rng.random(k) < 0.45] = np.nan  # most tickets go unsurveyed
    order = np.argsort(opened, kind="stable")
    return {
        "cust": c[order],
        "t": opened[order],
        "closed": np.where(closed <= horizon, closed, np.nan)[order],
        "kind": kind[order],
        "effort": np.maximum(effort, 1.0)[order],
        "escalated": escalated[order],
        "satisfaction": satisfaction[order],
    }


def _draw_invoices(
    cust: dict[str, np.ndarray], orders: dict[str, np.ndarray], horizon: float, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Invoices: one per order; payment delay by the customer's late-payment and dispute propensities."""
    c = orders["cust"]
    m = len(c)
    disputed = rng.random(m) < cust["dispute_prob"][c]
    late = disputed | (rng.random(m) < cust["late_payment_prob"][c])
    on_time_delay = rng.uniform(0.0, _PAYMENT_TERMS_DAYS, m)
    late_delay = _PAYMENT_TERMS_DAYS + 1.0 + rng.exponential(np.where(disputed, 75.0, 30.0), m)
    delay = np.where(late, late_delay, on_time_delay)
    # Bad debt: some disputed bills and a few late ones are never paid.
    never = rng.random(m) < np.where(disputed, 0.3, np.where(late, 0.03, 0.0))
    paid = orders["t"] + delay
    paid = np.where(never | (paid > horizon), np.nan, paid)
    return {"paid_delay": np.where(np.isnan(paid), np.nan, delay), "disputed": disputed}


# ----------------------------------------------------------------------------------------------------------
# Assembly into contract frames
# ----------------------------------------------------------------------------------------------------------


def _assemble(
    cust: dict[str, np.ndarray],
    managers: dict[str, np.ndarray],
    orders: dict[str, np.ndarray],
    returns: dict[str, np.ndarray],
    tickets: dict[str, np.ndarray],
    invoices: dict[str, np.ndarray],
    referrals: dict[str, np.ndarray],
    start_ts: pd.Timestamp,
    horizon: float,
    rng: np.random.Generator,
) -> DemoCompany:
    """Turn latent arrays into contract frames: ids in signup/time order, whole-second timestamps."""
    n = len(cust["signup"])
    start_ns = start_ts.value
    horizon_s = int(np.floor(horizon * _SECONDS_PER_DAY))

    def to_seconds(days: np.ndarray) -> np.ndarray:
        # Floor to whole seconds and clamp, so float round-off can never push an event past ``end``.
        sec = np.floor(np.nan_to_num(days, nan=0.0) * _SECONDS_PER_DAY)
        return np.minimum(sec, horizon_s).astype(np.int64)

    def to_ts(sec: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
        ns = start_ns + sec * 1_000_000_000
        if missing is not None:
            ns = np.where(missing, np.iinfo(np.int64).min, ns)  # int64 min is NaT
        return ns.view("datetime64[ns]")

    # Customers are numbered in signup order, as a real system would.
    signup_s = to_seconds(cust["signup"])
    by_signup = np.lexsort((np.arange(n), signup_s))
    rank = np.empty(n, dtype=np.int64)
    rank[by_signup] = np.arange(n)
    cust_ids_sorted = _make_ids("C", n, 6)
    cust_id_of = pc.take(cust_ids_sorted, pa.array(rank))
    manager_ids = _make_ids("AM", len(managers["started"]), 4)

    def cust_col(internal: np.ndarray) -> pd.Series:
        return _str_series(pc.take(cust_id_of, pa.array(internal, type=pa.int64())))

    # --- orders and invoices (same row order: one invoice per order)
    order_s = to_seconds(orders["t"])
    n_orders = len(order_s)
    order_ids = _make_ids("O", n_orders, 8)
    ordered_at = to_ts(order_s)
    orders_df = pd.DataFrame(
        {
            "order_id": _str_series(order_ids),
            "customer_id": cust_col(orders["cust"]),
            "ordered_at": ordered_at,
            "revenue": orders["revenue"],
            "cost": orders["cost"],
            "discount": orders["discount"],
            "promo": pd.array(orders["promo"], dtype="boolean"),
            "quantity": orders["quantity"].astype(np.float64),
            "channel": _codes_to_str(orders["channel"], CHANNELS),
        }
    )
    delay_s = np.floor(np.nan_to_num(invoices["paid_delay"], nan=0.0) * _SECONDS_PER_DAY).astype(np.int64)
    paid_s = np.minimum(order_s + delay_s, horizon_s)
    invoices_df = pd.DataFrame(
        {
            "invoice_id": _str_series(_make_ids("I", n_orders, 8)),
            "customer_id": orders_df["customer_id"],
            "issued_at": ordered_at,
            "due_at": to_ts(order_s + _PAYMENT_TERMS_DAYS * _SECONDS_PER_DAY),
            "paid_at": to_ts(paid_s, np.isnan(invoices["paid_delay"])),
            "amount": orders["revenue"],
            "disputed": pd.array(invoices["disputed"], dtype="boolean"),
        }
    )

    # --- returns: never before the order they refund
    return_s = np.maximum(to_seconds(returns["t"]), order_s[returns["order_row"]])
    returns_df = pd.DataFrame(
        {
            "return_id": _str_series(_make_ids("R", len(return_s), 8)),
            "customer_id": cust_col(returns["cust"]),
            "order_id": _str_series(pc.take(order_ids, pa.array(returns["order_row"], type=pa.int64()))),
            "returned_at": to_ts(return_s),
            "amount": returns["amount"],
            "reason": _codes_to_str(returns["reason"], RETURN_REASONS),
        }
    )

    # --- tickets
    opened_s = to_seconds(tickets["t"])
    closed_missing = np.isnan(tickets["closed"])
    closed_s = np.maximum(to_seconds(tickets["closed"]), opened_s)
    tickets_df = pd.DataFrame(
        {
            "ticket_id": _str_series(_make_ids("T", len(opened_s), 8)),
            "customer_id": cust_col(tickets["cust"]),
            "opened_at": to_ts(opened_s),
            "closed_at": to_ts(closed_s, closed_missing),
            "kind": _codes_to_str(tickets["kind"], TICKET_KINDS),
            "effort_minutes": tickets["effort"],
            "escalated": pd.array(tickets["escalated"], dtype="boolean"),
            "satisfaction": tickets["satisfaction"],
        }
    )

    # --- referrals: the referral moment never after the referred customer's signup second
    ref_s = np.minimum(to_seconds(referrals["at"]), signup_s[referrals["referred"]])
    ref_order = np.lexsort((rank[referrals["referred"]], ref_s))
    referrals_df = pd.DataFrame(
        {
            "referrer_id": cust_col(referrals["referrer"][ref_order]),
            "referred_id": cust_col(referrals["referred"][ref_order]),
            "referred_at": to_ts(ref_s[ref_order]),
        }
    )

    # --- customers, in id order
    s = by_signup
    churned_by_end = cust["churn"] <= horizon
    # Contract-like relationships (mostly B2B) record an explicit cancellation; the rest just stop buying.
    explicit = churned_by_end & (rng.random(n) < np.where(cust["is_b2b"], 0.6, 0.08))
    churn_s = to_seconds(np.where(churned_by_end, cust["churn"], 0.0))
    names, emails, phones = _fake_contacts(rank, cust["is_b2b"], rng)
    customers_df = pd.DataFrame(
        {
            "customer_id": _str_series(cust_ids_sorted),
            "signup_at": to_ts(signup_s[s]),
            "segment": _codes_to_str(cust["is_b2b"][s].astype(np.int64), SEGMENTS),
            "size": _codes_to_str(cust["size"][s], SIZES),
            "region": _codes_to_str(cust["region"][s], REGIONS),
            "acquisition_channel": _codes_to_str(cust["acquisition"][s], ACQUISITION_CHANNELS),
            "account_manager_id": _str_series(pc.take(manager_ids, pa.array(cust["manager"][s]))),
            "churned_at": to_ts(churn_s[s], ~explicit[s]),
            "name": _str_series(pc.take(names, pa.array(s))),
            "email": _str_series(pc.take(emails, pa.array(s))),
            "phone": _str_series(pc.take(phones, pa.array(s))),
        }
    )

    # --- account managers
    n_managers = len(managers["started"])
    manager_names, _, _ = _fake_contacts(np.arange(n_managers), np.zeros(n_managers, dtype=bool), rng)
    managers_df = pd.DataFrame(
        {
            "account_manager_id": _str_series(manager_ids),
            "name": _str_series(manager_names),
            "started_at": to_ts(to_seconds(managers["started"])),
            "left_at": to_ts(to_seconds(managers["left"]), np.isnan(managers["left"])),
        }
    )

    truth = _truth_frame(cust, s, cust_ids_sorted, cust_id_of, start_ns, horizon)
    tables = {
        "orders": orders_df,
        "returns": returns_df,
        "tickets": tickets_df,
        "invoices": invoices_df,
        "referrals": referrals_df,
        "customers": customers_df,
        "account_managers": managers_df,
    }
    return DemoCompany(tables=tables, truth=truth)


def _truth_frame(
    cust: dict[str, np.ndarray],
    s: np.ndarray,
    cust_ids_sorted: pa.Array,
    cust_id_of: pa.Array,
    start_ns: int,
    horizon: float,
) -> pd.DataFrame:
    """Latent truth per customer, rows in customer-id order (see ``DemoCompany``)."""
    churn_ns = start_ns + np.floor(cust["churn"][s] * _SECONDS_PER_DAY).astype(np.int64) * 1_000_000_000
    referred_by = cust["referred_by"][s]
    referrer_ids = pc.take(cust_id_of, pa.array(np.where(referred_by >= 0, referred_by, 0)))
    referrer_ids = pc.if_else(pa.array(referred_by >= 0), referrer_ids, pa.scalar(None, pa.string()))
    n_referrals = np.bincount(referred_by[referred_by >= 0], minlength=len(s))[s]
    weights = cust["weights"][s]
    columns: dict[str, object] = {
        "customer_id": _str_series(cust_ids_sorted),
        "archetype": _codes_to_str(cust["archetype"][s], ARCHETYPES),
        "weight_great": weights[:, 0],
        "weight_good": weights[:, 1],
        "weight_problem": weights[:, 2],
        "is_b2b": cust["is_b2b"][s],
        "mean_order_value": cust["mean_order_value"][s],
        "purchase_rate_per_year": cust["purchase_rate"][s],
    }
    for name in (*_RATE_PROFILE, *_PROB_PROFILE, "satisfaction_mean"):
        if name not in ("purchase_rate_per_year", "order_value_multiplier"):
            columns[name] = cust[name][s]
    columns.update(
        {
            "churn_at": churn_ns.view("datetime64[ns]"),
            "churned_by_end": cust["churn"][s] <= horizon,
            "manager_departure_shock": cust["shocked"][s],
            "referred_by": _str_series(referrer_ids),
            "n_referrals": n_referrals.astype(np.int64),
        }
    )
    return pd.DataFrame(columns)


# ----------------------------------------------------------------------------------------------------------
# Small vectorised helpers
# ----------------------------------------------------------------------------------------------------------


def _draw_categorical(probs: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Category codes drawn from one probability vector."""
    cum = np.cumsum(probs)
    return np.minimum(np.searchsorted(cum / cum[-1], rng.random(size), side="right"), len(probs) - 1)


def _draw_categorical_rows(table: np.ndarray, row: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Category codes where draw ``i`` follows the distribution in row ``row[i]`` of ``table``."""
    cum = np.cumsum(table, axis=1)
    cum = cum / cum[:, -1:]
    u = rng.random(len(row))
    codes = np.empty(len(row), dtype=np.int64)
    for r in range(len(table)):  # a handful of profiles, never one iteration per customer or event
        mask = row == r
        codes[mask] = np.searchsorted(cum[r], u[mask], side="right")
    return np.minimum(codes, table.shape[1] - 1)


def _make_ids(prefix: str, n: int, min_width: int) -> pa.Array:
    """Ids ``prefix`` + zero-padded 1-based counter, wide enough for ``n`` (e.g. C000001)."""
    width = max(min_width, len(str(n)))
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1, dtype=np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _str_series(values: pa.Array | pa.ChunkedArray) -> pd.Series:
    """A pandas ``str`` series backed by the given Arrow strings (no Python objects)."""
    return values.to_pandas()


def _codes_to_str(codes: np.ndarray, labels: tuple[str, ...]) -> pd.Series:
    return _str_series(pc.take(pa.array(labels), pa.array(np.asarray(codes, dtype=np.int64))))


def _fake_contacts(
    number: np.ndarray, is_b2b: np.ndarray, rng: np.random.Generator
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Fake, deterministic name/email/phone; emails use reserved example domains and are unique by ``number``.

    Phones use the fictional +1-555-01xx range. Returns Arrow arrays aligned with ``number``.
    """
    n = len(number)
    first = pc.take(pa.array(_FIRST_NAMES), pa.array(rng.integers(0, len(_FIRST_NAMES), n)))
    last = pc.take(pa.array(_LAST_NAMES), pa.array(rng.integers(0, len(_LAST_NAMES), n)))
    partner = pc.take(pa.array(_LAST_NAMES), pa.array(rng.integers(0, len(_LAST_NAMES), n)))
    suffix = pc.take(pa.array(_COMPANY_SUFFIXES), pa.array(rng.integers(0, len(_COMPANY_SUFFIXES), n)))
    tag = pc.cast(pa.array(np.asarray(number, dtype=np.int64) + 1), pa.string())
    person = pc.binary_join_element_wise(first, last, " ")
    company = pc.binary_join_element_wise(last, "&", partner, suffix, " ")
    person_mail = pc.binary_join_element_wise(
        pc.utf8_lower(first), ".", pc.utf8_lower(last), ".", tag, "@example.com", ""
    )
    company_mail = pc.binary_join_element_wise("accounts@", pc.utf8_lower(last), "-", tag, ".example.org", "")
    b2b = pa.array(np.asarray(is_b2b, dtype=bool))
    phone = pc.binary_join_element_wise(
        "+1-555-01", pc.utf8_lpad(pc.cast(pa.array(rng.integers(0, 100, n)), pa.string()), 2, "0"), ""
    )
    return pc.if_else(b2b, company, person), pc.if_else(b2b, company_mail, person_mail), phone


def _write_table(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    """Write one frame with fixed settings, atomically (temp file in the same directory, then os.replace)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        if fmt == "parquet":
            pq.write_table(
                table,
                tmp_name,
                compression="zstd",
                compression_level=3,
                use_dictionary=True,
                write_statistics=True,
                version="2.6",
                row_group_size=1_000_000,
            )
        else:
            pa_csv.write_csv(_csv_ready(table), tmp_name)
        # mkstemp creates owner-only files; data files are meant to be shared like any other output.
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _csv_ready(table: pa.Table) -> pa.Table:
    """Timestamps as ISO-8601 strings (whole seconds); everything else as pyarrow writes it."""
    columns = []
    for column in table.columns:
        if pa.types.is_timestamp(column.type):
            column = pc.strftime(column.cast(pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S")
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)
