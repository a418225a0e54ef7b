"""Latent customers: archetype blends, behaviour rates, organic and referred signups, manager assignment,
churn settled over referral generations."""

from __future__ import annotations

import numpy as np

from pipelines.demo.params import (
    _ACQUISITION_PROBS,
    _ARCHETYPE_SHARE_ORGANIC,
    _ARCHETYPE_SHARE_REFERRED,
    _B2B_SIZE_PROBS,
    _BASE_ORDER_VALUE,
    _CHANNEL_PROBS,
    _DAYS_PER_YEAR,
    _MANAGER_BIN_DAYS,
    _MANAGER_SHOCK_DAYS,
    _MANAGER_SHOCK_MULTIPLIER,
    _MAX_LIFETIME_DAYS,
    _PROB_NOISE_SD,
    _PROB_PROFILE,
    _RATE_NOISE_SD,
    _RATE_PROFILE,
    _REFERRAL_POOL_SHARE,
    _REGION_PROBS,
    _SATISFACTION_MEAN,
    _SIZE_RATE_MULTIPLIER,
    _SIZE_VALUE_MULTIPLIER,
    ACQUISITION_CHANNELS,
    _draw_categorical,
    _draw_categorical_rows,
)


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
