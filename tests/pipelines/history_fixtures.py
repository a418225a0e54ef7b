"""A hand-made previous run for the synthetic report inputs (`report_fixtures.demo_report_inputs`): test fixture.

`previous_run_history(data)` changes a few named customers of the previous run (and flags of this run, in
`data["scores"]`) so each "This month's actions" group has a known member, and returns the `HistoryReport` the report job would build, plus who is where.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from models.explain import BASE_COLUMN
from pipelines.config import load_config
from pipelines.reports.actions import HistoryReport


def previous_run_history(data: dict[str, Any]) -> tuple[HistoryReport, dict[str, str]]:
    from models.transitions import tier_transitions

    cfg = load_config()
    new = data["scores"].copy()
    new["status"] = "scored"
    old = new.copy()
    contrib = data["value_contrib"]
    old_contrib = contrib.copy()
    owned = new[new["account_manager_id"].notna()]
    great = owned[(owned["tier"] == "great")]
    problem = owned[(owned["tier"] == "problem")]
    rated = owned[owned["rating"].isin(["A", "B", "C"])]
    expected: dict[str, str] = {}
    # newly at risk: great now, at risk now, not at risk last run
    cid = great["customer_id"].iloc[0]
    new.loc[new["customer_id"] == cid, "flags"] = "at_risk"
    old.loc[old["customer_id"] == cid, "flags"] = ""
    expected["at-risk"] = cid
    # their churn risk rose since the last run: support hours (churn contributions in probability points)
    ids = new["customer_id"]
    old_churn = pd.DataFrame({"service_effort_hours_90d": 0.01, BASE_COLUMN: 0.2}, index=ids.to_numpy())
    new_churn = old_churn.copy()
    new_churn.loc[cid, "service_effort_hours_90d"] = 0.09
    # became a problem: good last run
    cid = problem["customer_id"].iloc[0]
    old.loc[old["customer_id"] == cid, "tier"] = "good"
    old_contrib.loc[cid] = old_contrib.loc[cid] * 0.5
    expected["became-problem"] = cid
    # manager left: the flag is new this run
    cid = owned[~owned["customer_id"].isin(expected.values())]["customer_id"].iloc[0]
    new.loc[new["customer_id"] == cid, "flags"] = "manager_departed"
    old.loc[old["customer_id"] == cid, "flags"] = ""
    expected["manager-left"] = cid
    # rating upgrade: one grade lower last run
    cid = rated[~rated["customer_id"].isin(expected.values())]["customer_id"].iloc[0]
    grade = new.loc[new["customer_id"] == cid, "rating"].iloc[0]
    old.loc[old["customer_id"] == cid, "rating"] = {"A": "B", "B": "C", "C": "D"}[grade]
    expected["thank-you"] = cid
    h = 365
    a, b = old.set_index("customer_id"), new.set_index("customer_id")
    moves = tier_transitions(
        a,
        b,
        old_contrib,
        contrib,
        data["registry"],
        value_column=f"pred_expected_net_value_{h}d",
        churn_column=f"pred_churn_prob_{h}d",
        currency=cfg.data.currency,
        n_deltas=cfg.explain.n_reasons,
        old_churn_contrib=old_churn,
        new_churn_contrib=new_churn,
    )
    moves["old_flags"] = a["flags"].reindex(moves.index).astype("str")
    moves["old_account_manager_id"] = a["account_manager_id"].reindex(moves.index).astype("str")
    counts = old["tier"].value_counts().to_dict()
    runs = [
        {"as_of": "2024-12-01", "tiers": {k: int(v) for k, v in counts.items()}},
        {"as_of": "2025-01-01", "tiers": {k: int(v) for k, v in new["tier"].value_counts().items()}},
    ]
    grades = [str(g) for g in cfg.tiers.rating.grades()]
    history = HistoryReport(moves, "2024-12-01", runs, grades)
    data["scores"] = new  # this run's scores, as the pages will read them
    owner = new.set_index("customer_id")["account_manager_id"]
    return history, {k: f"{v}|{owner[v]}" for k, v in expected.items()}


def owner_of(expected: dict[str, str], key: str) -> tuple[str, str]:
    cid, manager = expected[key].split("|")
    return cid, manager


def page_rows(html: str, section: str) -> list[str]:
    """The customer ids of one "This month's actions" group of a page (empty when the group is absent)."""
    import re

    m = re.search(rf'<div class="action-group" id="this-month-{section}">(.*?)</div>', html, re.S)
    return [] if m is None else re.findall(r'<tr class="action-row" data-customer-id="([^"]+)"', m[1])
