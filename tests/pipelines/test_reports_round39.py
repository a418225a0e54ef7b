"""Round 39 (reports, for a non-technical account manager): the month's "newly at risk" reads the scoring's
`at_risk` flag as every other count of the pages does (`book.likely_to_leave`), whatever tiers its rule covers, and
says "great" only when every one listed is; the team page's tiers and managers tables scroll sideways on a phone
and a departed manager's "left the company on ..." keeps its words whole.

Was: "Great customers newly at risk of leaving" listed great customers with the flag only (a widened rule's good
customers on the cards and first lists, not in the month's actions); at 420 pixels the tiers table ran past the
window's edge ("162,106" over "EUR") and the departed manager's note broke inside words ("compan" over "y on").
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.config import load_config
from tests.pipelines.report_fixtures import build_from, demo_report_inputs, report_config

CONFIG = load_config()


def _month(new_tier: list[str], old_tier: list[str], flags: list[str], old_flags: list[str]) -> dict:
    from pipelines.reports.actions import HistoryReport, manager_actions

    ids = [f"C{i}" for i in range(len(new_tier))]
    moves = pd.DataFrame(
        {
            "old_status": "scored",
            "old_tier": old_tier,
            "new_tier": new_tier,
            "old_rating": "B",
            "new_rating": "B",
            "old_churn_prob": 0.2,
            "new_churn_prob": 0.7,
            "value_change": [-float(i) for i in range(len(ids))],
            "old_flags": old_flags,
            "old_account_manager_id": "AM1",
        },
        index=pd.Index(ids, name="customer_id"),
    )
    history = HistoryReport(moves, "2024-12-01", [], [str(g) for g in CONFIG.tiers.rating.grades()])
    page = pd.DataFrame({"customer_id": ids, "customer_name": ids, "manager": "AM1", "flags": flags})
    config = report_config(currency=CONFIG.data.currency)
    groups = manager_actions(history, page, config)["groups"]
    return next(g for g in groups if g["key"] == "at-risk")


def test_newly_at_risk_reads_the_flag_whatever_tiers_its_rule_covers() -> None:
    """A widened rule (`tiers.flag_rules`, `only_tiers: [great, good]`) flags good customers at scoring: they are
    newly at risk like a great one (was: left out), and the title does not call them great. A customer flagged in
    the last run is not newly at risk, whatever their tier then (the flag, not the tier, is what is new)."""
    group = _month(
        new_tier=["good", "great", "great", "good", "problem"],
        old_tier=["good", "great", "good", "good", "good"],
        flags=["at_risk", "at_risk", "at_risk", "", ""],
        old_flags=["", "", "at_risk", "", ""],
    )
    assert [r["customer_id"] for r in group["rows"]] == ["C1", "C0"]  # the largest loss first, as before
    assert group["title"] == "Customers newly at risk of leaving"
    assert "great" not in group["title"].lower()


def test_newly_at_risk_says_great_when_every_one_listed_is() -> None:
    group = _month(
        new_tier=["great", "good"], old_tier=["great", "good"], flags=["at_risk", ""], old_flags=["", ""]
    )
    assert [r["customer_id"] for r in group["rows"]] == ["C0"]
    assert group["title"] == "Great customers newly at risk of leaving"


def test_the_team_pages_tables_scroll_on_a_phone_and_a_departure_keeps_its_words(tmp_path: Path) -> None:
    """At 420 pixels (chromium) the tiers table ran past the window's edge and "left the company on ..." broke
    inside words (its cell breaks a long name anywhere): now the tiers and managers tables are in boxes that scroll
    sideways, their amounts on one line, and the departure note keeps its words whole; print as before."""
    from pipelines.reports.pages import TEMPLATE_DIR

    data = demo_report_inputs(40, 3, seed=3)  # the last manager has left the company
    team = build_from(data, tmp_path / "reports").index.read_text(encoding="utf-8")
    assert (
        team.count('<div class="table-scroll"><table class="tiers">')
        == team.count('<table class="tiers">')
        == 1
    )
    assert team.count('<div class="table-scroll"><table class="managers">') == 1
    assert '<span class="small churn-high left-note">left the company on ' in team
    css = " ".join((TEMPLATE_DIR / "report.css").read_text(encoding="utf-8").split())
    assert "tr.manager-row td:first-child .left-note { overflow-wrap: normal; }" in css
    assert "table.tiers td.num, table.managers td.num { white-space: nowrap; }" in css
    assert ".table-scroll > table.tiers { min-width: 720px; }" in css
    assert ".table-scroll > table.customers, .table-scroll > table.tiers { min-width: 0; }" in css  # print
