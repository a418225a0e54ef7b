"""The state every feature group reads: the plan (cutoffs x windows), customer codes and shared sums.

`Builder` prepares, once per call of `features.table.compute`, the per-table event arrays and the statistics that
several groups share (revenue, margin, orders, returns, cost to serve per span), and selects the rows (customers
known before each cutoff, or the training-eligible ones). The groups (`features.groups_*`) are functions of a
prepared Builder that return their columns as a `GroupColumns`; they never change the Builder. Time semantics and
the output contract are those of `features.table`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features._engine import (
    DAY_NS,
    LIFETIME,
    CustomerIndex,
    Plan,
    Span,
    per_customer_min,
    safe_ratio,
    to_ns,
)
from features.config import FeatureConfig, LabelConfig
from features.population import came_back, classify
from features.seasonal import seasonal_offsets

MANAGER_DEPARTED_DAYS = 90  # the column name carries it: relationship_manager_departed_90d


def check_cutoff(cutoff: pd.Timestamp) -> pd.Timestamp:
    if not isinstance(cutoff, pd.Timestamp) or pd.isna(cutoff):
        raise TypeError(f"cutoff must be a pd.Timestamp, got {cutoff!r}")
    if cutoff.tzinfo is not None:
        raise ValueError("cutoff must be naive wall-clock time, like the validated tables")
    return cutoff


def has_column(df: pd.DataFrame, name: str) -> bool:
    # Presence depends on the schema only, never on values: otherwise a value dated after the cutoff could
    # add a column to a table computed "before" it.
    return name in df.columns


def as_flag(series: pd.Series) -> np.ndarray:
    """Nullable boolean -> float 0/1 with missing as 0 (an unflagged row)."""
    return series.astype("boolean").fillna(False).to_numpy(dtype=np.float64)


@dataclass
class GroupColumns:
    """What one feature group yields: columns (one value per output row), notes, tables used, why it is absent."""

    columns: dict[str, np.ndarray | pd.Categorical] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    absent: str | None = None

    def put(self, name: str, values: np.ndarray) -> None:
        self.columns[name] = np.asarray(values, dtype=np.float64)

    @classmethod
    def reading(
        cls,
        tables: Mapping[str, pd.DataFrame],
        table: str,
        any_of: Sequence[str] = (),
        without_columns: str | None = None,
    ) -> GroupColumns:
        """An empty group that reads `table`: marked used, or absent ("<table> table absent") when the table is
        missing, or absent with `without_columns` when none of `any_of` (if given) is a column of the table."""
        g = cls()
        if table not in tables:
            g.absent = f"{table} table absent"
        elif any_of and not any(c in tables[table].columns for c in any_of):
            g.absent = without_columns or f"{table} has none of {', '.join(any_of)}"
        else:
            g.used.add(table)
        return g


class Builder:
    """Computes every group for the rows of a Plan. One instance per call; holds prepared per-table arrays."""

    def __init__(
        self, tables: Mapping[str, pd.DataFrame], cutoffs: Sequence[pd.Timestamp], config: FeatureConfig
    ) -> None:
        if "orders" not in tables:
            raise KeyError("the orders table is required")
        self.t = {k: v for k, v in tables.items() if v is not None}
        self.cfg = config
        # Whole-company values per cutoff (`features.table.company_revenue`), in cutoff order, when the tables hold
        # some of the customers only (a scoring chunk, a training sample).
        self.company_revenue: Sequence[Mapping[int | str, float]] | None = None
        self.cutoff_list = [check_cutoff(c) for c in cutoffs]
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
        self.o_times = to_ns(o["ordered_at"])
        self.o_ev = self.p.events(self.o_codes, self.o_times)
        self.first_order = per_customer_min(self.o_codes, self.o_times, self.cust.n)
        self.signup = np.full(self.cust.n, np.iinfo(np.int64).max)
        self.churned = np.full(self.cust.n, np.iinfo(np.int64).max)
        if "customers" in self.t:
            cu = self.t["customers"]
            cc = self.codes("customers")
            if "signup_at" in cu.columns:
                self.used.add("customers")
                self.signup = per_customer_min(cc, to_ns(cu["signup_at"]), self.cust.n)
            if "churned_at" in cu.columns:
                self.churned = per_customer_min(cc, to_ns(cu["churned_at"]), self.cust.n)
        return self.p

    def last_order_all(self) -> np.ndarray:
        """(n_cut, n) time of the last order before each cutoff, in plan days (NaN = none)."""
        if not hasattr(self, "_last_all"):
            all_rows = [np.arange(self.cust.n)] * self.p.n_cut
            last = self.p.last_before(self.o_ev, self.p.days(self.o_ev.times), all_rows)
            self._last_all = last.reshape(self.p.n_cut, self.cust.n)
        return self._last_all

    def came_back_at(self, i: int) -> np.ndarray:
        """(n,) whether each customer ordered again a day or more after their `churned_at`, before cutoff `i`
        (`features.population.came_back`: that cancellation no longer counts)."""
        known = self.churned != np.iinfo(np.int64).max
        churned = np.where(known, self.p.days(np.where(known, self.churned, 0)), np.nan)
        return came_back(self.last_order_all()[i], churned, 1.0)

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
                cancelled = (self.churned < c) & ~self.came_back_at(i)
                codes = classify(keep, has_order, cancelled, cut_days[i] - activity, label_config)
                keep = codes == 0
            rows.append(np.flatnonzero(keep))
        self.p.set_rows(rows)

    # -- helpers ---------------------------------------------------------------------------------------------
    def spans_w(self, lifetime: bool = True) -> list[tuple[str, Span]]:
        named = [(f"{w}d", (w, 0)) for w in self.cfg.windows_days]
        return [*named, ("lifetime", LIFETIME)] if lifetime else named

    def put(self, name: str, values: np.ndarray) -> None:
        self.out[name] = np.asarray(values, dtype=np.float64)

    def add(self, group: str, columns: GroupColumns) -> None:
        """Takes one group's output: its columns, notes, tables used and why it is absent (if it is)."""
        self.out.update(columns.columns)
        self.notes += columns.notes
        self.used |= columns.used
        if columns.absent is not None:
            self.absent[group] = columns.absent

    # -- shared statistics (and the service-effort columns they yield) ----------------------------------------------------------------------------------------------
    def orders_stats(self, label_span: Span | None) -> None:
        """Sums needed by profit, tenure and price sensitivity (and labels), kept as row arrays on self."""
        p, cfg, o, ev = self.p, self.cfg, self.t["orders"], self.o_ev
        t_span = cfg.trend_window_days
        trend_spans: list[Span] = [(t_span, 0), (2 * t_span, t_span)]
        # Each statistic asks only for the spans it needs: fewer boundary columns, smaller matrices.
        w_spans = [s for _, s in self.spans_w()]
        l_spans = [label_span] if label_span else []
        revenue = o["revenue"].to_numpy(dtype=np.float64)
        if has_column(o, "cost"):
            cost = o["cost"].to_numpy(dtype=np.float64)
            # Rows without a cost fall back to the configured margin rate rather than counting 100% margin.
            margin = np.where(np.isnan(cost), revenue * cfg.margin_rate_when_cost_missing, revenue - cost)
            missing = o["cost"].isna()
            if missing.all():  # a column of nulls (a Parquet export's empty column) is no cost at all
                self.notes.append(
                    f"orders.cost missing on every row: margin = revenue x {cfg.margin_rate_when_cost_missing}"
                )
            elif missing.any():
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
            # A subset of the customers (a scoring chunk, a training sample) still measures concentration against
            # the whole company, at each cutoff.
            self.company_rev = {
                s: np.array([tot[s[0]] for tot in self.company_revenue], dtype=np.float64) for s in windows
            }
        self.rev = rev
        self.n_orders = p.sums(ev, None, w_spans + l_spans)  # same columns as revenue: reuses its index
        self.margin = p.sums(
            ev, ev.take(margin), w_spans + trend_spans + l_spans, all_spans=[LIFETIME] if need_all else []
        )
        if need_all:
            self.margin_all = self.margin.pop(("all", LIFETIME))
        self.discount = self.promo = None
        if has_column(o, "discount"):
            self.discount = p.sums(ev, ev.take(o["discount"].fillna(0.0).to_numpy(np.float64)), w_spans)
        if "promo" in o.columns:
            self.promo = p.sums(ev, ev.take(as_flag(o["promo"])), w_spans)

    def returns_stats(self, label_span: Span | None) -> None:
        self.ret_amount = self.ret_count = None
        if "returns" not in self.t:
            return
        self.used.add("returns")
        r = self.t["returns"]
        ev = self.p.events(self.codes("returns"), to_ns(r["returned_at"]))
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
        ev = p.events(self.codes("tickets"), to_ns(tk["opened_at"]))
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
        if has_column(tk, "kind"):
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
            n_esc = p.sums(ev, ev.take(as_flag(tk["escalated"])), spans)
            for suffix, s in spans_named:
                self.put(f"service_escalations_{suffix}", n_esc[s])
        else:
            self.notes.append("tickets.escalated absent: no escalation features")
        if has_column(tk, "satisfaction"):
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
        cutoff = self.p.per_row(self.p.cutoffs)
        horizon_end = cutoff + h * DAY_NS
        # A cancellation inside the horizon decides; a churned_at after the horizon end is not known when the
        # label is, and one before the cutoff is a win-back's (`came_back`: they ordered again since), so those
        # customers (like customers without one) churn by not ordering. Only events from the cutoff on are read.
        churned = ((churned_at >= cutoff) & (churned_at < horizon_end)) | (self.n_orders[span] == 0)
        self.put(f"label_churned_{h}d", churned)
