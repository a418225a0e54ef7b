"""Feature groups on the account (see `features.table` for the contract).

- relationship: manager departed in the last 90 days, manager changes, manager tenure, days with the current one;
- profile: segment, size, region, acquisition channel as categories (never personal columns or ids);
- season: where the cutoff sits in the year and the seasonal indexes (`features.seasonal`).

Each is a function of a prepared `features.builder.Builder` returning its `GroupColumns`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features._engine import DAY_NS, LIFETIME, NAT, to_ns
from features.builder import MANAGER_DEPARTED_DAYS, Builder, GroupColumns, has_column
from features.profile_names import PROFILE_COLUMNS, profile_feature
from features.seasonal import season_columns


def relationship(b: Builder) -> GroupColumns:
    g = GroupColumns()
    p = b.p
    has_assign = "assignments" in b.t
    cu = b.t.get("customers")
    has_static = cu is not None and has_column(cu, "account_manager_id")
    if not has_assign and not has_static:
        g.absent = "no assignments table and no customers.account_manager_id"
        return g
    am = b.t.get("account_managers")
    mgr_ids = am["account_manager_id"] if am is not None else pd.Series([], dtype="str")
    mgr_index = pd.Index(mgr_ids.astype("str"))
    started = to_ns(am["started_at"]) if am is not None and "started_at" in am.columns else None
    left = to_ns(am["left_at"]) if am is not None and "left_at" in am.columns else None
    if am is not None:
        g.used.add("account_managers")

    def lookup(values: np.ndarray | None, mgr_codes: np.ndarray) -> np.ndarray:
        """Per-manager timestamp for manager codes (-1 = unknown manager -> NaT)."""
        if values is None:
            return np.full(len(mgr_codes), NAT)
        return np.where(mgr_codes >= 0, np.append(values, NAT)[mgr_codes], NAT)

    row_cut_ns = p.per_row(p.cutoffs)
    if has_assign:
        g.used.add("assignments")
        a = b.t["assignments"]
        codes, times = b.codes("assignments"), to_ns(a["assigned_at"])
        ok = (codes >= 0) & (times != NAT)
        order = np.lexsort((times[ok], codes[ok]))
        codes, times = codes[ok][order], times[ok][order]
        mgr = mgr_index.get_indexer(pd.Index(a["account_manager_id"].astype("str").to_numpy()[ok][order]))
        mgr_key = pd.factorize(a["account_manager_id"].astype("str").to_numpy()[ok][order])[0]
        same_cust = np.r_[False, codes[1:] == codes[:-1]]
        change = same_cust & np.r_[False, mgr_key[1:] != mgr_key[:-1]]
        a_ev = p.events(codes, times)
        changes = p.sums(a_ev, a_ev.take(change.astype(np.float64)), [LIFETIME])[LIFETIME]
        g.put("relationship_manager_changes_lifetime", changes)
        # The manager in charge at the cutoff: the customer's last assignment before it.
        cur_mgr, cur_since = [], []
        for i, c in enumerate(p.cutoffs):
            idx = np.flatnonzero(times < c)
            cv = codes[idx]
            last = np.r_[cv[1:] != cv[:-1], True] if len(cv) else np.zeros(0, dtype=bool)
            pos = np.full(b.cust.n, -1)
            pos[cv[last]] = idx[last]
            pos_r = pos[p.rows[i]]
            cur_mgr.append(np.where(pos_r >= 0, np.append(mgr, -1)[pos_r], -1))
            cur_since.append(np.where(pos_r >= 0, np.append(times, NAT)[pos_r], NAT))
        row_mgr = np.concatenate(cur_mgr)
        since = np.concatenate(cur_since)
        g.put(
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
        g.used.add("customers")
        g.notes.append(
            "relationship from customers.account_manager_id (current manager, not point-in-time); "
            "no manager-change features without an assignments table"
        )
        cc = b.codes("customers")
        per_cust = np.full(b.cust.n, -1)
        m = mgr_index.get_indexer(pd.Index(cu["account_manager_id"].astype("str")))
        valid = cc >= 0
        per_cust[cc[valid]] = np.where(cu["account_manager_id"].isna().to_numpy()[valid], -1, m[valid])
        row_mgr = per_cust[np.concatenate(p.rows)]
        leave = lookup(left, per_cust)
        dep_codes = np.flatnonzero(leave != NAT)
        dep_times = leave[dep_codes]
    if left is not None:
        departed = p.sums(p.events(dep_codes, dep_times), None, [(MANAGER_DEPARTED_DAYS, 0)])
        g.put("relationship_manager_departed_90d", departed[(MANAGER_DEPARTED_DAYS, 0)] > 0)
    else:
        g.notes.append("no account_managers.left_at: no manager-departure feature")
    if started is not None:
        st = lookup(started, row_mgr)
        known = (st != NAT) & (st < row_cut_ns)
        g.put("relationship_manager_tenure_days", np.where(known, (row_cut_ns - st) / DAY_NS, np.nan))
    else:
        g.notes.append("no account_managers.started_at: no manager-tenure feature")
    return g


def profile(b: Builder) -> GroupColumns:
    g = GroupColumns.reading(
        b.t, "customers", PROFILE_COLUMNS, "customers has no segment/size/region/channel"
    )
    if g.absent:
        return g
    cu = b.t["customers"]
    present = [c for c in PROFILE_COLUMNS if c in cu.columns]
    cc = b.codes("customers")
    valid = cc >= 0
    rows = np.concatenate(b.p.rows)
    for col in present:
        values = cu[col].astype("str")
        categories = pd.Index(values.dropna().unique()).sort_values()
        per_cust = np.full(b.cust.n, -1)
        per_cust[cc[valid]] = categories.get_indexer(pd.Index(values))[valid]
        # The categories are those of the customers in the table, not of every row of `customers`: a value
        # seen only on customers who appear later must not show up, even as an empty category.
        codes = per_cust[rows]
        seen = np.unique(codes[codes >= 0])
        codes = np.where(codes >= 0, np.searchsorted(seen, codes), -1)
        g.columns[profile_feature(col)] = pd.Categorical.from_codes(codes, categories=categories[seen])
    return g


def season(b: Builder) -> GroupColumns:
    """Seasonal columns (`features.seasonal.season_columns`), company values from the whole company."""
    g = GroupColumns()
    revenue = b.t["orders"]["revenue"].to_numpy(dtype=np.float64)
    columns, notes = season_columns(b.p, b.o_ev, b.o_times, revenue, b.cfg, b.company_revenue)
    g.columns.update(columns)
    g.notes += notes
    return g
