"""Point-in-time feature table: validated tables + cutoff -> one row per customer known before the cutoff.

Input: `tables`, the validated contract representation (`orders` required; `returns`, `tickets`, `invoices`,
`referrals`, `customers`, `account_managers`, `assignments` optional). Inputs are never mutated.

Time semantics: a feature at cutoff c reads only events strictly before c; a window of w days is [c - w, c).
Invoice payments at or after c are unknown at c (the invoice counts as unpaid). Customer attributes without a
date (profile columns, customers.account_manager_id) are taken as they are in the table.

Output grain: one row per customer whose first order or `customers.signup_at` is before c; index `customer_id`
(str, unique, sorted). Numeric columns are float64 (counts too, flags as 0/1); profile columns are `category`.
A missing optional table removes its group's columns (see the manifest); a customer without events in a present
table gets 0 for counts and sums and NaN where a statistic is undefined (mean gap with < 2 purchase days,
ratios with a zero denominator).

All cutoffs of a training set go through the same code (`compute`), in one pass over the events.

Groups and the choices behind them (names and plain-language descriptions live in `features.registry`):
- profit (orders; returns; tickets): revenue, margin (revenue - cost; revenue x margin_rate_when_cost_missing
  where cost is absent or missing), discounts, returns, cost to serve (effort hours x hourly cost + tickets x
  cost per ticket; only with tickets) and net = margin - returns - cost to serve, per window and lifetime;
  average order value; margin trend = margin in the last trend_window_days minus margin in the same span before
  (a difference, not a ratio: defined and sign-stable when the earlier span is zero); revenue share of the
  company's revenue per window (concentration).
- tenure: tenure (first order or signup), recency, orders and distinct purchase days per window and lifetime,
  mean and coefficient of variation of gaps between purchase days (lifetime; a day counts at its first order),
  recency / mean gap ("overdue").
- referral (referrals): referrals made per window, referred customers who ordered within active_within_days,
  lifetime net profit before the cutoff of the customers referred, was_referred.
- service_effort (tickets): tickets, effort hours, complaints (kind), escalations per window and lifetime; effort
  hours per 1,000 revenue per window; mean satisfaction; days since the last complaint.
- payment (invoices, lifetime): invoices due before the cutoff, share paid late (after due, or unpaid and past
  due at the cutoff), mean days late over those invoices (on time = 0; unpaid ones count until the cutoff),
  overdue amount at the cutoff, disputes count and share of invoices issued (disputed is undated and taken as
  known at issue).
- price_sensitivity (orders.promo/discount; returns): promo order share, discount rate = discount / (revenue +
  discount), return rate by value and by count, per window and lifetime.
- relationship (assignments, else customers.account_manager_id; account_managers): manager departed in the
  90 days before the cutoff, manager changes (assignments only), manager tenure at the company, days since the
  current manager was assigned (assignments only).
- profile (customers): segment, size, region, acquisition_channel as categories; never personal columns or ids.
- season (orders): where the cutoff sits in the year, the company's seasonal index and the customer's revenue in
  the same window a year earlier, per window under a year (`features.seasonal`; missing without a year of history
  unless `seasonal_profile` is configured).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features._engine import (
    DAY_NS,
    LIFETIME,
    NAT,
    CustomerIndex,
    Plan,
    Span,
    per_customer_min,
    safe_ratio,
)
from features._engine import to_ns as _ns
from features.config import FeatureConfig, LabelConfig
from features.population import classify
from features.registry import feature_registry
from features.seasonal import company_season, season_columns, seasonal_offsets, seasonal_windows

GROUP_TABLES: dict[str, tuple[str, ...]] = {
    "profit": ("orders", "returns", "tickets"),
    "tenure": ("orders", "customers"),
    "referral": ("referrals", "orders"),
    "service_effort": ("tickets", "orders"),
    "payment": ("invoices",),
    "price_sensitivity": ("orders", "returns"),
    "relationship": ("assignments", "customers", "account_managers"),
    "profile": ("customers",),
    "season": ("orders",),
}
PROFILE_COLUMNS: tuple[str, ...] = ("segment", "size", "region", "acquisition_channel")
MANAGER_DEPARTED_DAYS = 90  # the column name carries it: relationship_manager_departed_90d


@dataclass(frozen=True)
class FeatureManifest:
    """What a feature table contains and why: groups present/absent with reasons, tables used, columns."""

    cutoffs: tuple[pd.Timestamp, ...]
    n_customers: int
    tables_used: tuple[str, ...]
    groups_present: tuple[str, ...]
    groups_absent: dict[str, str]
    notes: tuple[str, ...]
    features: dict[str, str] = field(default_factory=dict)  # name -> dtype

    @property
    def cutoff(self) -> pd.Timestamp:
        """The cutoff of a single-cutoff table."""
        if len(self.cutoffs) != 1:
            raise ValueError("this manifest covers several cutoffs; use .cutoffs")
        return self.cutoffs[0]

    def to_dict(self) -> dict[str, object]:
        return {
            "cutoffs": [str(c) for c in self.cutoffs],
            "n_customers": self.n_customers,
            "tables_used": list(self.tables_used),
            "groups_present": list(self.groups_present),
            "groups_absent": dict(self.groups_absent),
            "notes": list(self.notes),
            "features": dict(self.features),
        }


def _check_cutoff(cutoff: pd.Timestamp) -> pd.Timestamp:
    if not isinstance(cutoff, pd.Timestamp) or pd.isna(cutoff):
        raise TypeError(f"cutoff must be a pd.Timestamp, got {cutoff!r}")
    if cutoff.tzinfo is not None:
        raise ValueError("cutoff must be naive wall-clock time, like the validated tables")
    return cutoff


def _col(df: pd.DataFrame, name: str) -> bool:
    # Presence depends on the schema only, never on values: otherwise a value dated after the cutoff could
    # add a column to a table computed "before" it.
    return name in df.columns


def _flag(series: pd.Series) -> np.ndarray:
    """Nullable boolean -> float 0/1 with missing as 0 (an unflagged row)."""
    return series.astype("boolean").fillna(False).to_numpy(dtype=np.float64)


class _Builder:
    """Computes every group for the rows of a Plan. One instance per call; holds prepared per-table arrays."""

    def __init__(
        self, tables: Mapping[str, pd.DataFrame], cutoffs: Sequence[pd.Timestamp], config: FeatureConfig
    ) -> None:
        if "orders" not in tables:
            raise KeyError("the orders table is required")
        self.t = {k: v for k, v in tables.items() if v is not None}
        self.cfg = config
        self.company_revenue: Mapping[int | str, float] | None = None
        self.cutoff_list = [_check_cutoff(c) for c in cutoffs]
        self.out: dict[str, np.ndarray | pd.Categorical] = {}
        self.notes: list[str] = []
        self.absent: dict[str, str] = {}
        self.used: set[str] = {"orders"}

        ref_cols: list[pd.Series] = []
        self._ref_pos: dict[tuple[str, str], int] = {}
        for table, cols in (
            ("orders", ("customer_id",)),
            ("customers", ("customer_id",)),
            ("returns", ("customer_id",)),
            ("tickets", ("customer_id",)),
            ("invoices", ("customer_id",)),
            ("referrals", ("referrer_id", "referred_id")),
            ("assignments", ("customer_id",)),
        ):
            if table in self.t:
                for c in cols:
                    self._ref_pos[(table, c)] = len(ref_cols)
                    ref_cols.append(self.t[table][c])
        self.cust = CustomerIndex(ref_cols)

    def codes(self, table: str, column: str = "customer_id") -> np.ndarray:
        return self.cust.codes_of(self._ref_pos[(table, column)])

    # -- planning --------------------------------------------------------------------------------------------
    def plan(self, extra_offsets: Sequence[int] = ()) -> Plan:
        cfg = self.cfg
        offsets = {
            0,
            *cfg.windows_days,
            cfg.trend_window_days,
            2 * cfg.trend_window_days,
            MANAGER_DEPARTED_DAYS,
        }
        offsets |= set(extra_offsets) | seasonal_offsets(cfg.windows_days)
        cut_ns = pd.DatetimeIndex(self.cutoff_list).as_unit("ns").asi8
        self.p = Plan(cut_ns, offsets, self.cust.n)
        o = self.t["orders"]
        self.o_codes = self.codes("orders")
        self.o_times = _ns(o["ordered_at"])
        self.o_ev = self.p.events(self.o_codes, self.o_times)
        self.first_order = per_customer_min(self.o_codes, self.o_times, self.cust.n)
        self.signup = np.full(self.cust.n, np.iinfo(np.int64).max)
        self.churned = np.full(self.cust.n, np.iinfo(np.int64).max)
        if "customers" in self.t:
            cu = self.t["customers"]
            cc = self.codes("customers")
            if "signup_at" in cu.columns:
                self.used.add("customers")
                self.signup = per_customer_min(cc, _ns(cu["signup_at"]), self.cust.n)
            if "churned_at" in cu.columns:
                self.churned = per_customer_min(cc, _ns(cu["churned_at"]), self.cust.n)
        return self.p

    def last_order_all(self) -> np.ndarray:
        """(n_cut, n) time of the last order before each cutoff, in plan days (NaN = none)."""
        if not hasattr(self, "_last_all"):
            all_rows = [np.arange(self.cust.n)] * self.p.n_cut
            last = self.p.last_before(self.o_ev, self.p.days(self.o_ev.times), all_rows)
            self._last_all = last.reshape(self.p.n_cut, self.cust.n)
        return self._last_all

    def select_rows(self, label_config: LabelConfig | None) -> None:
        """Customers known before each cutoff; with a LabelConfig, only those eligible for training."""
        rows = []
        cut_days = self.p.cutoff_days()
        for i, c in enumerate(self.p.cutoffs):
            has_order = self.first_order < c
            keep = has_order | (self.signup < c)
            if label_config is not None:  # the one population rule (features.population), "scored" only
                last = self.last_order_all()[i]
                signup_days = np.where(self.signup < c, (self.signup - self.p.ref) / DAY_NS, np.nan)
                activity = np.where(np.isnan(last), signup_days, last)
                codes = classify(keep, has_order, self.churned < c, cut_days[i] - activity, label_config)
                keep = codes == 0
            rows.append(np.flatnonzero(keep))
        self.p.set_rows(rows)

    # -- helpers ---------------------------------------------------------------------------------------------
    def spans_w(self, lifetime: bool = True) -> list[tuple[str, Span]]:
        named = [(f"{w}d", (w, 0)) for w in self.cfg.windows_days]
        return [*named, ("lifetime", LIFETIME)] if lifetime else named

    def put(self, name: str, values: np.ndarray) -> None:
        self.out[name] = np.asarray(values, dtype=np.float64)

    # -- groups ----------------------------------------------------------------------------------------------
    def orders_stats(self, label_span: Span | None) -> None:
        """Sums needed by profit, tenure and price sensitivity (and labels), kept as row arrays on self."""
        p, cfg, o, ev = self.p, self.cfg, self.t["orders"], self.o_ev
        t_span = cfg.trend_window_days
        trend_spans: list[Span] = [(t_span, 0), (2 * t_span, t_span)]
        # Each statistic asks only for the spans it needs: fewer boundary columns, smaller matrices.
        w_spans = [s for _, s in self.spans_w()]
        l_spans = [label_span] if label_span else []
        revenue = o["revenue"].to_numpy(dtype=np.float64)
        if _col(o, "cost"):
            cost = o["cost"].to_numpy(dtype=np.float64)
            # Rows without a cost fall back to the configured margin rate rather than counting 100% margin.
            margin = np.where(np.isnan(cost), revenue * cfg.margin_rate_when_cost_missing, revenue - cost)
            if o["cost"].isna().any():
                self.notes.append(
                    "orders.cost missing on some rows: margin_rate_when_cost_missing used there"
                )
        else:
            margin = revenue * cfg.margin_rate_when_cost_missing
            self.notes.append(
                f"orders has no cost column: margin = revenue x {cfg.margin_rate_when_cost_missing}"
            )
        windows = [s for _, s in self.spans_w(lifetime=False)]
        # The concentration denominator (company revenue per window) and the referred customers' profit need
        # every customer, not only output rows: taken from the same matrices.
        need_all = "referrals" in self.t
        rev = p.sums(ev, ev.take(revenue), w_spans + l_spans, all_spans=windows)
        self.company_rev = {s: rev.pop(("all", s)).reshape(p.n_cut, -1).sum(axis=1) for s in windows}
        if self.company_revenue is not None:
            # A subset of the customers (a scoring chunk) still measures concentration against the whole company.
            self.company_rev = {s: np.full(p.n_cut, self.company_revenue[s[0]]) for s in windows}
        self.rev = rev
        self.n_orders = p.sums(ev, None, w_spans + l_spans)  # same columns as revenue: reuses its index
        self.margin = p.sums(
            ev, ev.take(margin), w_spans + trend_spans + l_spans, all_spans=[LIFETIME] if need_all else []
        )
        if need_all:
            self.margin_all = self.margin.pop(("all", LIFETIME))
        self.discount = self.promo = None
        if _col(o, "discount"):
            self.discount = p.sums(ev, ev.take(o["discount"].fillna(0.0).to_numpy(np.float64)), w_spans)
        if "promo" in o.columns:
            self.promo = p.sums(ev, ev.take(_flag(o["promo"])), w_spans)

    def returns_stats(self, label_span: Span | None) -> None:
        self.ret_amount = self.ret_count = None
        if "returns" not in self.t:
            return
        self.used.add("returns")
        r = self.t["returns"]
        ev = self.p.events(self.codes("returns"), _ns(r["returned_at"]))
        spans = [s for _, s in self.spans_w()] + ([label_span] if label_span else [])
        amount = ev.take(r["amount"].to_numpy(np.float64))
        need_all = [LIFETIME] if "referrals" in self.t else []
        self.ret_amount = self.p.sums(ev, amount, spans, all_spans=need_all)
        if need_all:
            self.ret_all = self.ret_amount.pop(("all", LIFETIME))
        self.ret_count = self.p.sums(ev, None, [s for _, s in self.spans_w()])

    def tickets_stats(self, label_span: Span | None) -> None:
        self.cost = None
        if "tickets" not in self.t:
            self.absent["service_effort"] = "tickets table absent"
            self.notes.append("tickets absent: no cost to serve; profit_net = margin - returns")
            return
        self.used.add("tickets")
        p, cfg, tk = self.p, self.cfg, self.t["tickets"]
        ev = p.events(self.codes("tickets"), _ns(tk["opened_at"]))
        hours = ev.take(tk["effort_minutes"].fillna(0.0).to_numpy(np.float64) / 60.0)
        cost = hours * cfg.service_hourly_cost + cfg.cost_per_ticket
        spans_named = self.spans_w()
        spans = [s for _, s in spans_named]
        need_all = [LIFETIME] if "referrals" in self.t else []
        self.cost = p.sums(ev, cost, spans + ([label_span] if label_span else []), all_spans=need_all)
        if need_all:
            self.cost_all = self.cost.pop(("all", LIFETIME))
        n_tickets = p.sums(ev, None, spans)
        self.hours = p.sums(ev, hours, spans)
        for suffix, s in spans_named:
            self.put(f"service_tickets_{suffix}", n_tickets[s])
            self.put(f"service_effort_hours_{suffix}", self.hours[s])
        if _col(tk, "kind"):
            complaint = ev.take((tk["kind"] == "complaint").fillna(False).to_numpy(dtype=np.float64))
            n_compl = p.sums(ev, complaint, spans)
            for suffix, s in spans_named:
                self.put(f"service_complaints_{suffix}", n_compl[s])
            sub = ev.subset(complaint > 0)
            last = p.last_before(sub, p.days(sub.times))
            self.put("service_days_since_complaint", p.per_row(p.cutoff_days()) - last)
        else:
            self.notes.append("tickets.kind absent: no complaint features")
        if "escalated" in tk.columns:
            n_esc = p.sums(ev, ev.take(_flag(tk["escalated"])), spans)
            for suffix, s in spans_named:
                self.put(f"service_escalations_{suffix}", n_esc[s])
        else:
            self.notes.append("tickets.escalated absent: no escalation features")
        if _col(tk, "satisfaction"):
            sat = ev.take(tk["satisfaction"].to_numpy(np.float64))
            rated = ~np.isnan(sat)
            s_sum = p.sums(ev, np.where(rated, sat, 0.0), [LIFETIME])[LIFETIME]
            s_n = p.sums(ev, rated.astype(np.float64), [LIFETIME])[LIFETIME]
            self.put("service_satisfaction_mean_lifetime", safe_ratio(s_sum, s_n))
        for suffix, s in self.spans_w(lifetime=False):
            self.put(
                f"service_effort_hours_per_1k_revenue_{suffix}",
                safe_ratio(self.hours[s], self.rev[s], 1000.0),
            )

    def profit(self) -> None:
        for suffix, s in self.spans_w():
            self.put(f"profit_revenue_{suffix}", self.rev[s])
            self.put(f"profit_margin_{suffix}", self.margin[s])
            net = self.margin[s].copy()
            if self.discount is not None:
                self.put(f"profit_discount_{suffix}", self.discount[s])
            if self.ret_amount is not None:
                self.put(f"profit_returns_{suffix}", self.ret_amount[s])
                net -= self.ret_amount[s]
            if self.cost is not None:
                self.put(f"profit_cost_to_serve_{suffix}", self.cost[s])
                net -= self.cost[s]
            self.put(f"profit_net_{suffix}", net)
        self.put("profit_avg_order_value_lifetime", safe_ratio(self.rev[LIFETIME], self.n_orders[LIFETIME]))
        t = self.cfg.trend_window_days
        self.put(f"profit_margin_trend_{t}d", self.margin[(t, 0)] - self.margin[(2 * t, t)])
        for suffix, s in self.spans_w(lifetime=False):
            self.put(
                f"profit_revenue_share_{suffix}", safe_ratio(self.rev[s], self.p.per_row(self.company_rev[s]))
            )

    def tenure(self) -> None:
        p = self.p
        cut_days = p.per_row(p.cutoff_days())
        row_cut_ns = p.per_row(p.cutoffs)
        codes = np.concatenate(p.rows) if p.rows else np.empty(0, dtype=np.int64)
        first = np.minimum(
            np.where(self.first_order[codes] < row_cut_ns, self.first_order[codes], np.iinfo(np.int64).max),
            np.where(self.signup[codes] < row_cut_ns, self.signup[codes], np.iinfo(np.int64).max),
        )
        self.put("tenure_days", (row_cut_ns - first) / DAY_NS)
        last = np.concatenate([self.last_order_all()[i, r] for i, r in enumerate(p.rows)])
        recency = cut_days - last
        self.put("recency_days", recency)
        for suffix, s in self.spans_w():
            self.put(f"orders_count_{suffix}", self.n_orders[s])

        # Purchase days: dedupe (customer, calendar day); a day enters the interval of its first order, and its
        # gap to the customer's previous purchase day is attributed to it (so gaps only look backwards).
        ev = self.o_ev
        counted = ev.interval < len(p.boundaries)  # drops NaT and orders at/after the last boundary
        o_codes, o_times = ev.codes[counted], ev.times[counted]
        day = o_times // DAY_NS
        day0 = int(day.min()) if len(day) else 0
        span = int(day.max()) - day0 + 1 if len(day) else 1
        key = o_codes * span + (day - day0)
        order = np.argsort(key)
        key_sorted = key[order]
        starts = (
            np.flatnonzero(np.r_[True, key_sorted[1:] != key_sorted[:-1]]) if len(key) else np.zeros(0, int)
        )
        uniq = key_sorted[starts]
        first_t = np.minimum.reduceat(o_times[order], starts) if len(starts) else np.zeros(0, np.int64)
        d_codes, d_day = uniq // span, uniq % span
        d_ev = p.events(d_codes, first_t)
        n_days = p.sums(d_ev, None, [s for _, s in self.spans_w()])
        for suffix, s in self.spans_w():
            self.put(f"orders_purchase_days_{suffix}", n_days[s])
        same = np.r_[False, d_codes[1:] == d_codes[:-1]]
        gap = np.where(same, np.r_[0, np.diff(d_day)], 0).astype(np.float64)
        g_n = p.sums(d_ev, d_ev.take(same.astype(np.float64)), [LIFETIME])[LIFETIME]
        g_sum = p.sums(d_ev, d_ev.take(gap), [LIFETIME])[LIFETIME]
        g_sq = p.sums(d_ev, d_ev.take(gap * gap), [LIFETIME])[LIFETIME]
        mean_gap = safe_ratio(g_sum, g_n)
        self.put("orders_gap_mean_days", mean_gap)
        # Gaps are whole days, so n*sum(g^2) - sum(g)^2 is exact in float64: no cancellation noise.
        var = safe_ratio(np.maximum(g_n * g_sq - g_sum * g_sum, 0.0), g_n * g_n)
        self.put("orders_gap_cv", np.where(g_n >= 2, np.sqrt(var) / mean_gap, np.nan))
        self.put("orders_overdue_ratio", safe_ratio(recency, np.nan_to_num(mean_gap, nan=0.0)))

    def price_sensitivity(self) -> None:
        if self.promo is None and self.discount is None and self.ret_amount is None:
            self.absent["price_sensitivity"] = "no orders.promo, no orders.discount and no returns table"
            return
        for suffix, s in self.spans_w():
            if self.promo is not None:
                self.put(f"price_promo_order_share_{suffix}", safe_ratio(self.promo[s], self.n_orders[s]))
            if self.discount is not None:
                gross = self.rev[s] + self.discount[s]
                self.put(f"price_discount_rate_{suffix}", safe_ratio(self.discount[s], gross))
            if self.ret_amount is not None:
                self.put(f"price_return_rate_value_{suffix}", safe_ratio(self.ret_amount[s], self.rev[s]))
                self.put(f"price_return_rate_count_{suffix}", safe_ratio(self.ret_count[s], self.n_orders[s]))

    def referral(self) -> None:
        if "referrals" not in self.t:
            self.absent["referral"] = "referrals table absent"
            return
        self.used.add("referrals")
        p, rf = self.p, self.t["referrals"]
        rc, dc = self.codes("referrals", "referrer_id"), self.codes("referrals", "referred_id")
        times = _ns(rf["referred_at"])
        ok = (rc >= 0) & (dc >= 0) & (rc != dc) & (times != NAT)
        rc, dc, times = rc[ok], dc[ok], times[ok]
        made = p.sums(p.events(rc, times), None, [s for _, s in self.spans_w()])
        for suffix, s in self.spans_w():
            self.put(f"referral_made_{suffix}", made[s])
        self.put("referral_was_referred", p.sums(p.events(dc, times), None, [LIFETIME])[LIFETIME] > 0)

        net_all = self.margin_all.copy()
        if self.ret_amount is not None:
            net_all -= self.ret_all
        if self.cost is not None:
            net_all -= self.cost_all
        net_all = net_all.reshape(p.n_cut, self.cust.n)
        last_all = self.last_order_all()
        cut_days = p.cutoff_days()
        active_parts, profit_parts = [], []
        for i, c in enumerate(p.cutoffs):
            before = times < c
            r, d = rc[before], dc[before]
            active = last_all[i, d] >= cut_days[i] - self.cfg.active_within_days
            n_active = np.bincount(r, weights=active.astype(np.float64), minlength=self.cust.n)
            profit = np.bincount(r, weights=net_all[i, d], minlength=self.cust.n)
            active_parts.append(n_active[p.rows[i]])
            profit_parts.append(profit[p.rows[i]])
        self.put("referral_active_referred", np.concatenate(active_parts))
        self.put("referral_referred_net_profit_lifetime", np.concatenate(profit_parts))

    def payment(self) -> None:
        if "invoices" not in self.t:
            self.absent["payment"] = "invoices table absent"
            return
        self.used.add("invoices")
        p, inv = self.p, self.t["invoices"]
        codes = self.codes("invoices")
        issued, due = _ns(inv["issued_at"]), _ns(inv["due_at"])
        paid = _ns(inv["paid_at"]) if "paid_at" in inv.columns else np.full(len(inv), NAT)
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
        self.put("payment_invoices_due_lifetime", n_due)
        self.put("payment_late_share_lifetime", safe_ratio(n_late, n_due))
        self.put("payment_days_late_mean_lifetime", safe_ratio(late_days, n_due))
        # Differences of equal sums can leave -1e-12 noise; an overdue amount is never negative.
        self.put("payment_overdue_amount", np.where(np.abs(overdue) < 1e-9, 0.0, overdue))
        if "disputed" in inv.columns:
            iss_ev = p.events(codes, issued)
            n_issued = p.sums(iss_ev, None, [LIFETIME])[LIFETIME]
            n_disp = p.sums(iss_ev, iss_ev.take(_flag(inv["disputed"])), [LIFETIME])[LIFETIME]
            self.put("payment_disputes_lifetime", n_disp)
            self.put("payment_dispute_share_lifetime", safe_ratio(n_disp, n_issued))
        else:
            self.notes.append("invoices.disputed absent: no dispute features")

    def relationship(self) -> None:
        p = self.p
        has_assign = "assignments" in self.t
        cu = self.t.get("customers")
        has_static = cu is not None and _col(cu, "account_manager_id")
        if not has_assign and not has_static:
            self.absent["relationship"] = "no assignments table and no customers.account_manager_id"
            return
        am = self.t.get("account_managers")
        mgr_ids = am["account_manager_id"] if am is not None else pd.Series([], dtype="str")
        mgr_index = pd.Index(mgr_ids.astype("str"))
        started = _ns(am["started_at"]) if am is not None and "started_at" in am.columns else None
        left = _ns(am["left_at"]) if am is not None and "left_at" in am.columns else None
        if am is not None:
            self.used.add("account_managers")

        def lookup(values: np.ndarray | None, mgr_codes: np.ndarray) -> np.ndarray:
            """Per-manager timestamp for manager codes (-1 = unknown manager -> NaT)."""
            if values is None:
                return np.full(len(mgr_codes), NAT)
            return np.where(mgr_codes >= 0, np.append(values, NAT)[mgr_codes], NAT)

        row_cut_ns = p.per_row(p.cutoffs)
        if has_assign:
            self.used.add("assignments")
            a = self.t["assignments"]
            codes, times = self.codes("assignments"), _ns(a["assigned_at"])
            ok = (codes >= 0) & (times != NAT)
            order = np.lexsort((times[ok], codes[ok]))
            codes, times = codes[ok][order], times[ok][order]
            mgr = mgr_index.get_indexer(pd.Index(a["account_manager_id"].astype("str").to_numpy()[ok][order]))
            mgr_key = pd.factorize(a["account_manager_id"].astype("str").to_numpy()[ok][order])[0]
            same_cust = np.r_[False, codes[1:] == codes[:-1]]
            change = same_cust & np.r_[False, mgr_key[1:] != mgr_key[:-1]]
            a_ev = p.events(codes, times)
            changes = p.sums(a_ev, a_ev.take(change.astype(np.float64)), [LIFETIME])[LIFETIME]
            self.put("relationship_manager_changes_lifetime", changes)
            # The manager in charge at the cutoff: the customer's last assignment before it.
            cur_mgr, cur_since = [], []
            for i, c in enumerate(p.cutoffs):
                idx = np.flatnonzero(times < c)
                cv = codes[idx]
                last = np.r_[cv[1:] != cv[:-1], True] if len(cv) else np.zeros(0, dtype=bool)
                pos = np.full(self.cust.n, -1)
                pos[cv[last]] = idx[last]
                pos_r = pos[p.rows[i]]
                cur_mgr.append(np.where(pos_r >= 0, np.append(mgr, -1)[pos_r], -1))
                cur_since.append(np.where(pos_r >= 0, np.append(times, NAT)[pos_r], NAT))
            row_mgr = np.concatenate(cur_mgr)
            since = np.concatenate(cur_since)
            self.put(
                "relationship_manager_assigned_days",
                np.where(since != NAT, (row_cut_ns - since) / DAY_NS, np.nan),
            )
            # A departure that happened while the manager held the customer (between this assignment and the next).
            next_t = np.r_[
                np.where(codes[1:] == codes[:-1], times[1:], np.iinfo(np.int64).max), np.iinfo(np.int64).max
            ]
            leave = lookup(left, mgr)
            dep_ok = (leave != NAT) & (leave >= times) & (leave < next_t)
            dep_codes, dep_times = codes[dep_ok], leave[dep_ok]
        else:
            self.used.add("customers")
            self.notes.append(
                "relationship from customers.account_manager_id (current manager, not point-in-time); "
                "no manager-change features without an assignments table"
            )
            cc = self.codes("customers")
            per_cust = np.full(self.cust.n, -1)
            m = mgr_index.get_indexer(pd.Index(cu["account_manager_id"].astype("str")))
            valid = cc >= 0
            per_cust[cc[valid]] = np.where(cu["account_manager_id"].isna().to_numpy()[valid], -1, m[valid])
            row_mgr = per_cust[np.concatenate(p.rows)]
            leave = lookup(left, per_cust)
            dep_codes = np.flatnonzero(leave != NAT)
            dep_times = leave[dep_codes]
        if left is not None:
            departed = p.sums(p.events(dep_codes, dep_times), None, [(MANAGER_DEPARTED_DAYS, 0)])
            self.put("relationship_manager_departed_90d", departed[(MANAGER_DEPARTED_DAYS, 0)] > 0)
        else:
            self.notes.append("no account_managers.left_at: no manager-departure feature")
        if started is not None:
            st = lookup(started, row_mgr)
            known = (st != NAT) & (st < row_cut_ns)
            self.put("relationship_manager_tenure_days", np.where(known, (row_cut_ns - st) / DAY_NS, np.nan))
        else:
            self.notes.append("no account_managers.started_at: no manager-tenure feature")

    def profile(self) -> None:
        cu = self.t.get("customers")
        present = [c for c in PROFILE_COLUMNS if cu is not None and c in cu.columns]
        if not present:
            self.absent["profile"] = (
                "customers table absent" if cu is None else "customers has no segment/size/region/channel"
            )
            return
        self.used.add("customers")
        cc = self.codes("customers")
        valid = cc >= 0
        rows = np.concatenate(self.p.rows)
        for col in present:
            values = cu[col].astype("str")
            categories = pd.Index(values.dropna().unique()).sort_values()
            per_cust = np.full(self.cust.n, -1)
            per_cust[cc[valid]] = categories.get_indexer(pd.Index(values))[valid]
            # The categories are those of the customers in the table, not of every row of `customers`: a value
            # seen only on customers who appear later must not show up, even as an empty category.
            codes = per_cust[rows]
            seen = np.unique(codes[codes >= 0])
            codes = np.where(codes >= 0, np.searchsorted(seen, codes), -1)
            self.out[f"profile_{col}"] = pd.Categorical.from_codes(codes, categories=categories[seen])

    def season(self) -> None:
        """Seasonal columns (`features.seasonal.season_columns`), company values from the whole company."""
        revenue = self.t["orders"]["revenue"].to_numpy(dtype=np.float64)
        columns, notes = season_columns(
            self.p, self.o_ev, self.o_times, revenue, self.cfg, self.company_revenue
        )
        self.out.update(columns)
        self.notes += notes

    def labels(self, horizon_days: int) -> None:
        """Labels from events in [cutoff, cutoff + horizon) only; see features.labels for the contract."""
        span: Span = (0, -horizon_days)
        h = horizon_days
        net = self.margin[span].copy()
        if self.ret_amount is not None:
            net -= self.ret_amount[span]
        if self.cost is not None:
            net -= self.cost[span]
        self.put(f"label_net_profit_{h}d", net)
        self.put(f"label_revenue_{h}d", self.rev[span])
        self.put(f"label_orders_{h}d", self.n_orders[span])
        codes = np.concatenate(self.p.rows)
        churned_at = self.churned[codes]
        horizon_end = self.p.per_row(self.p.cutoffs) + h * DAY_NS
        # A cancellation recorded by the end of the horizon decides; a churned_at after the horizon end is not
        # known when the label is, so those customers (like customers without one) churn by not ordering.
        churned = (churned_at < horizon_end) | (self.n_orders[span] == 0)
        self.put(f"label_churned_{h}d", churned)


def compute(
    tables: Mapping[str, pd.DataFrame],
    cutoffs: Sequence[pd.Timestamp],
    config: FeatureConfig,
    *,
    label_horizon_days: int | None = None,
    label_config: LabelConfig | None = None,
    features: bool = True,
    company_revenue: Mapping[int | str, float] | None = None,
) -> tuple[pd.DataFrame, FeatureManifest]:
    """The one code path: features and/or labels for every customer row at every cutoff, in one pass.

    Returns a long frame with columns `customer_id` (str), `cutoff` (datetime64[ns]), then feature columns, then
    label columns; rows ordered by cutoff then customer_id. Rows are customers known before each cutoff, or only
    the training-eligible ones when `label_config` is given.
    """
    cutoffs = sorted(_check_cutoff(c) for c in cutoffs)
    if len(set(cutoffs)) != len(cutoffs):
        raise ValueError("cutoffs must be distinct")
    b = _Builder(tables, cutoffs, config)
    if company_revenue is not None:
        if len(cutoffs) != 1:
            raise ValueError("company_revenue applies to a single cutoff")
        b.company_revenue = company_revenue
    label_span: Span | None = (0, -label_horizon_days) if label_horizon_days else None
    b.plan(extra_offsets=[-label_horizon_days] if label_horizon_days else [])
    b.select_rows(label_config)
    b.orders_stats(label_span)
    b.returns_stats(label_span)
    b.tickets_stats(label_span)
    if features:
        b.profit()
        b.tenure()
        b.price_sensitivity()
        b.referral()
        b.payment()
        b.relationship()
        b.profile()
        b.season()
    else:
        b.out = {}
    if label_horizon_days:
        b.labels(label_horizon_days)
    return _assemble(b, cutoffs, features)


def _assemble(
    b: _Builder, cutoffs: list[pd.Timestamp], features: bool
) -> tuple[pd.DataFrame, FeatureManifest]:
    p = b.p
    codes = np.concatenate(p.rows) if p.rows else np.empty(0, dtype=np.int64)
    row_cut = p.row_cut
    cut_index = pd.DatetimeIndex(cutoffs).as_unit("ns")
    columns: dict[str, object] = {
        "customer_id": pd.array(b.cust.ids.take(codes), dtype="str"),
        "cutoff": cut_index.take(row_cut),
    }
    # Features in registry (declaration) order, then labels: stable column order whatever the tables.
    order = {name: i for i, name in enumerate(feature_registry(b.cfg))}
    ranked = sorted(b.out, key=lambda k: (k.startswith("label_"), order.get(k, len(order))))
    columns.update({k: b.out[k] for k in ranked})
    frame = pd.DataFrame(columns, copy=False)
    feats = {k: str(frame[k].dtype) for k in ranked if not k.startswith("label_")}
    present = tuple(g for g in GROUP_TABLES if g not in b.absent) if features else ()
    manifest = FeatureManifest(
        cutoffs=tuple(cutoffs),
        n_customers=int(np.count_nonzero(np.bincount(codes, minlength=b.cust.n))),
        tables_used=tuple(t for t in GROUP_TABLES_ORDER if t in b.used or t == "orders"),
        groups_present=present,
        groups_absent=dict(b.absent) if features else {},
        notes=tuple(dict.fromkeys(b.notes)),
        features=feats,
    )
    return frame, manifest


GROUP_TABLES_ORDER: tuple[str, ...] = (
    "orders",
    "returns",
    "tickets",
    "invoices",
    "referrals",
    "customers",
    "account_managers",
    "assignments",
)


def company_revenue(
    tables: Mapping[str, pd.DataFrame], cutoff: pd.Timestamp, config: FeatureConfig
) -> dict[int | str, float]:
    """Company-level numbers before `cutoff` that a subset of the customers cannot compute for itself.

    Keys: each window in days -> company revenue in that window (the denominator of `profit_revenue_share_*`);
    `season_index_{w}` / `season_learned_{w}` per seasonal window (`features.seasonal.company_season`).
    Computed once over all customers, it lets a subset of them (a scoring chunk) get the same values.
    """
    cutoff = _check_cutoff(cutoff)
    o = tables["orders"]
    t = o["ordered_at"]
    rev = o["revenue"].to_numpy(dtype=np.float64)
    out: dict[int | str, float] = {}
    for w in config.windows_days:
        m = ((t >= cutoff - pd.Timedelta(days=w)) & (t < cutoff)).to_numpy()
        out[w] = float(rev[m].sum())
    windows = seasonal_windows(config.windows_days)
    if windows:
        cut_ns = pd.DatetimeIndex([cutoff]).as_unit("ns").asi8
        season = company_season(_ns(t), rev, cut_ns, windows, config.seasonal_profile)
        out.update({f"season_{k}": float(v[0]) for k, v in season.items() if k != "first_order_ns"})
    return out


def build_feature_table_with_manifest(
    tables: Mapping[str, pd.DataFrame],
    cutoff: pd.Timestamp,
    config: FeatureConfig,
    company_revenue: Mapping[int | str, float] | None = None,
) -> tuple[pd.DataFrame, FeatureManifest]:
    """Feature table at one cutoff (see module docstring for the contract) and its manifest.

    `company_revenue` (from `company_revenue(...)` on all customers) overrides the concentration denominator
    when `tables` hold only some of the customers.
    """
    frame, manifest = compute(tables, [_check_cutoff(cutoff)], config, company_revenue=company_revenue)
    frame = frame.drop(columns="cutoff").set_index("customer_id")
    return frame, manifest


def build_feature_table(
    tables: Mapping[str, pd.DataFrame],
    cutoff: pd.Timestamp,
    config: FeatureConfig,
    company_revenue: Mapping[int | str, float] | None = None,
) -> pd.DataFrame:
    """One row per customer known before `cutoff`, index customer_id, features from events before `cutoff`."""
    return build_feature_table_with_manifest(tables, cutoff, config, company_revenue)[0]
