"""Feature groups on money (see `features.table` for the contract and the choices behind each column).

- profit: revenue, margin, discounts, returns, cost to serve and net per window and lifetime, average order value,
  margin trend, revenue share of the company (concentration);
- price_sensitivity: promo order share, discount rate, return rates by value and count;
- referral: referrals made, referred customers still active, their lifetime net profit, was_referred.

Each is a function of a prepared `features.builder.Builder` returning its `GroupColumns`.
"""

from __future__ import annotations

import numpy as np

from features._engine import LIFETIME, NAT, safe_ratio, to_ns
from features.builder import Builder, GroupColumns


def profit(b: Builder) -> GroupColumns:
    g = GroupColumns()
    for suffix, s in b.spans_w():
        g.put(f"profit_revenue_{suffix}", b.rev[s])
        g.put(f"profit_margin_{suffix}", b.margin[s])
        net = b.margin[s].copy()
        if b.discount is not None:
            g.put(f"profit_discount_{suffix}", b.discount[s])
        if b.ret_amount is not None:
            g.put(f"profit_returns_{suffix}", b.ret_amount[s])
            net -= b.ret_amount[s]
        if b.cost is not None:
            g.put(f"profit_cost_to_serve_{suffix}", b.cost[s])
            net -= b.cost[s]
        g.put(f"profit_net_{suffix}", net)
    g.put("profit_avg_order_value_lifetime", safe_ratio(b.rev[LIFETIME], b.n_orders[LIFETIME]))
    t = b.cfg.trend_window_days
    g.put(f"profit_margin_trend_{t}d", b.margin[(t, 0)] - b.margin[(2 * t, t)])
    for suffix, s in b.spans_w(lifetime=False):
        g.put(f"profit_revenue_share_{suffix}", safe_ratio(b.rev[s], b.p.per_row(b.company_rev[s])))
    return g


def price_sensitivity(b: Builder) -> GroupColumns:
    g = GroupColumns()
    if b.promo is None and b.discount is None and b.ret_amount is None:
        g.absent = "no orders.promo, no orders.discount and no returns table"
        return g
    for suffix, s in b.spans_w():
        if b.promo is not None:
            g.put(f"price_promo_order_share_{suffix}", safe_ratio(b.promo[s], b.n_orders[s]))
        if b.discount is not None:
            gross = b.rev[s] + b.discount[s]
            g.put(f"price_discount_rate_{suffix}", safe_ratio(b.discount[s], gross))
        if b.ret_amount is not None:
            g.put(f"price_return_rate_value_{suffix}", safe_ratio(b.ret_amount[s], b.rev[s]))
            g.put(f"price_return_rate_count_{suffix}", safe_ratio(b.ret_count[s], b.n_orders[s]))
    return g


def referral(b: Builder) -> GroupColumns:
    g = GroupColumns.reading(b.t, "referrals")
    if g.absent:
        return g
    p, rf = b.p, b.t["referrals"]
    rc, dc = b.codes("referrals", "referrer_id"), b.codes("referrals", "referred_id")
    times = to_ns(rf["referred_at"])
    ok = (rc >= 0) & (dc >= 0) & (rc != dc) & (times != NAT)
    rc, dc, times = rc[ok], dc[ok], times[ok]
    made = p.sums(p.events(rc, times), None, [s for _, s in b.spans_w()])
    for suffix, s in b.spans_w():
        g.put(f"referral_made_{suffix}", made[s])
    g.put("referral_was_referred", p.sums(p.events(dc, times), None, [LIFETIME])[LIFETIME] > 0)

    net_all = b.margin_all.copy()
    if b.ret_amount is not None:
        net_all -= b.ret_all
    if b.cost is not None:
        net_all -= b.cost_all
    net_all = net_all.reshape(p.n_cut, b.cust.n)
    last_all = b.last_order_all()
    cut_days = p.cutoff_days()
    active_parts, profit_parts = [], []
    for i, c in enumerate(p.cutoffs):
        before = times < c
        r, d = rc[before], dc[before]
        active = last_all[i, d] >= cut_days[i] - b.cfg.active_within_days
        n_active = np.bincount(r, weights=active.astype(np.float64), minlength=b.cust.n)
        profit = np.bincount(r, weights=net_all[i, d], minlength=b.cust.n)
        active_parts.append(n_active[p.rows[i]])
        profit_parts.append(profit[p.rows[i]])
    g.put("referral_active_referred", np.concatenate(active_parts))
    g.put("referral_referred_net_profit_lifetime", np.concatenate(profit_parts))
    return g
