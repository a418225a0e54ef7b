"""Event tables drawn from the latent customers: orders, returns, tickets, invoices (all times float days since
start; whole seconds are fixed in `assemble`)."""

from __future__ import annotations

import numpy as np

from features.contract import TICKET_KINDS
from pipelines.demo.params import (
    _CHANNEL_PROBS,
    _DAYS_PER_YEAR,
    _KIND_PROBS,
    _PAYMENT_TERMS_DAYS,
    _REASON_PROBS,
    _draw_categorical_rows,
)


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
