"""Feature groups on buying and paying behaviour (see `features.table` for the contract).

- tenure: tenure, recency, orders and distinct purchase days per window, gaps between purchase days, "overdue";
- payment: invoices due, share paid late, mean days late, overdue amount, disputes.

Each is a function of a prepared `features.builder.Builder` returning its `GroupColumns`.
"""

from __future__ import annotations

import numpy as np

from features._engine import DAY_NS, LIFETIME, NAT, safe_ratio, to_ns
from features.builder import Builder, GroupColumns, as_flag


def tenure(b: Builder) -> GroupColumns:
    g = GroupColumns()
    p = b.p
    cut_days = p.per_row(p.cutoff_days())
    row_cut_ns = p.per_row(p.cutoffs)
    codes = np.concatenate(p.rows) if p.rows else np.empty(0, dtype=np.int64)
    first = np.minimum(
        np.where(b.first_order[codes] < row_cut_ns, b.first_order[codes], np.iinfo(np.int64).max),
        np.where(b.signup[codes] < row_cut_ns, b.signup[codes], np.iinfo(np.int64).max),
    )
    g.put("tenure_days", (row_cut_ns - first) / DAY_NS)
    last = np.concatenate([b.last_order_all()[i, r] for i, r in enumerate(p.rows)])
    recency = cut_days - last
    g.put("recency_days", recency)
    for suffix, s in b.spans_w():
        g.put(f"orders_count_{suffix}", b.n_orders[s])

    # Purchase days: dedupe (customer, calendar day); a day enters the interval of its first order, and its
    # gap to the customer's previous purchase day is attributed to it (so gaps only look backwards).
    ev = b.o_ev
    counted = ev.interval < len(p.boundaries)  # drops NaT and orders at/after the last boundary
    o_codes, o_times = ev.codes[counted], ev.times[counted]
    day = o_times // DAY_NS
    day0 = int(day.min()) if len(day) else 0
    span = int(day.max()) - day0 + 1 if len(day) else 1
    key = o_codes * span + (day - day0)
    order = np.argsort(key)
    key_sorted = key[order]
    starts = np.flatnonzero(np.r_[True, key_sorted[1:] != key_sorted[:-1]]) if len(key) else np.zeros(0, int)
    uniq = key_sorted[starts]
    first_t = np.minimum.reduceat(o_times[order], starts) if len(starts) else np.zeros(0, np.int64)
    d_codes, d_day = uniq // span, uniq % span
    d_ev = p.events(d_codes, first_t)
    n_days = p.sums(d_ev, None, [s for _, s in b.spans_w()])
    for suffix, s in b.spans_w():
        g.put(f"orders_purchase_days_{suffix}", n_days[s])
    same = np.r_[False, d_codes[1:] == d_codes[:-1]]
    gap = np.where(same, np.r_[0, np.diff(d_day)], 0).astype(np.float64)
    g_n = p.sums(d_ev, d_ev.take(same.astype(np.float64)), [LIFETIME])[LIFETIME]
    g_sum = p.sums(d_ev, d_ev.take(gap), [LIFETIME])[LIFETIME]
    g_sq = p.sums(d_ev, d_ev.take(gap * gap), [LIFETIME])[LIFETIME]
    mean_gap = safe_ratio(g_sum, g_n)
    g.put("orders_gap_mean_days", mean_gap)
    # Gaps are whole days, so n*sum(g^2) - sum(g)^2 is exact in float64: no cancellation noise.
    var = safe_ratio(np.maximum(g_n * g_sq - g_sum * g_sum, 0.0), g_n * g_n)
    g.put("orders_gap_cv", np.where(g_n >= 2, np.sqrt(var) / mean_gap, np.nan))
    g.put("orders_overdue_ratio", safe_ratio(recency, np.nan_to_num(mean_gap, nan=0.0)))
    return g


def payment(b: Builder) -> GroupColumns:
    g = GroupColumns.reading(b.t, "invoices")
    if g.absent:
        return g
    p, inv = b.p, b.t["invoices"]
    codes = b.codes("invoices")
    issued, due = to_ns(inv["issued_at"]), to_ns(inv["due_at"])
    if "paid_at" not in inv.columns:
        # Without payment dates nobody knows which invoice was paid, or when: the lateness and overdue features
        # are not measured (was: every invoice read as unpaid, so every customer 100% late and all overdue).
        due_ev = p.events(codes, due)
        g.put("payment_invoices_due_lifetime", p.sums(due_ev, None, [LIFETIME])[LIFETIME])
        g.notes.append("invoices.paid_at absent: no lateness or overdue features")
        _disputes(g, b, codes, issued)
        return g
    paid = to_ns(inv["paid_at"])
    amount = inv["amount"].to_numpy(np.float64)
    unpaid = paid == NAT
    late = unpaid | (paid > due)  # whether the invoice is (or will be, if unpaid when due) paid late
    # An invoice is settled at max(due, paid): before that, at a cutoff past its due date, it is open and
    # overdue. Counting by due date minus counting by settlement date gives the open-and-overdue set.
    settled = np.where(unpaid, NAT, np.maximum(due, paid))
    due_ev, set_ev, paid_ev = p.events(codes, due), p.events(codes, settled), p.events(codes, paid)
    n_due = p.sums(due_ev, None, [LIFETIME])[LIFETIME]
    n_late = p.sums(due_ev, due_ev.take(late.astype(np.float64)), [LIFETIME])[LIFETIME]
    n_settled = p.sums(set_ev, None, [LIFETIME])[LIFETIME]
    due_days = p.days(due)
    due_sum_open = (
        p.sums(due_ev, due_ev.take(due_days), [LIFETIME])[LIFETIME]
        - p.sums(set_ev, set_ev.take(due_days), [LIFETIME])[LIFETIME]
    )
    n_open = n_due - n_settled
    days_late_paid = np.where(unpaid, 0.0, np.maximum(paid - due, 0) / DAY_NS)
    late_days = p.sums(paid_ev, paid_ev.take(days_late_paid), [LIFETIME])[LIFETIME]
    late_days += n_open * p.per_row(p.cutoff_days()) - due_sum_open
    overdue = (
        p.sums(due_ev, due_ev.take(amount), [LIFETIME])[LIFETIME]
        - p.sums(set_ev, set_ev.take(amount), [LIFETIME])[LIFETIME]
    )
    g.put("payment_invoices_due_lifetime", n_due)
    g.put("payment_late_share_lifetime", safe_ratio(n_late, n_due))
    g.put("payment_days_late_mean_lifetime", safe_ratio(late_days, n_due))
    # Differences of equal sums can leave -1e-12 noise; an overdue amount is never negative.
    g.put("payment_overdue_amount", np.where(np.abs(overdue) < 1e-9, 0.0, overdue))
    _disputes(g, b, codes, issued)
    return g


def _disputes(g: GroupColumns, b: Builder, codes: np.ndarray, issued: np.ndarray) -> None:
    p, inv = b.p, b.t["invoices"]
    if "disputed" in inv.columns:
        iss_ev = p.events(codes, issued)
        n_issued = p.sums(iss_ev, None, [LIFETIME])[LIFETIME]
        n_disp = p.sums(iss_ev, iss_ev.take(as_flag(inv["disputed"])), [LIFETIME])[LIFETIME]
        g.put("payment_disputes_lifetime", n_disp)
        g.put("payment_dispute_share_lifetime", safe_ratio(n_disp, n_issued))
    else:
        g.notes.append("invoices.disputed absent: no dispute features")
