"""Round 37 (reports, for a non-technical account manager): the ideal-customer profile in a manager's words, every
name inside a sentence isolated for right-to-left text, and a large book's page usable (who needs action first,
the top of each tier, every customer in a CSV file beside the page).

Was: "Separation (AUC)", "strength", "Wilson interval", "before the cutoff", money medians without a currency
(`438.09`) and column names as hover text on the profile section; "moved to <name> (AM0002)" with the name bare
in the sentence (a right-to-left name took the id and the words beside it into its run); a manager of 4,600
customers got a 7.5 MB page listing every one of them (50,000: about 75 MB).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.pipelines.report_fixtures import build_from, demo_report_inputs, report_config

RTL = "שרה לוי"  # a right-to-left name
ARABIC = "محمد علي"


# --- 1. the ideal-customer profile in a manager's words -----------------------------------------------------------


def test_the_profile_view_words_each_figure() -> None:
    from pipelines.reports.profile_section import _amount, _how_often, _sets_apart

    assert _amount(438.09, "currency", "EUR") == "438 EUR"
    assert _amount(0.238, "share", "EUR") == "24%"
    assert _amount(12.0, "days", "EUR") == "12 days"
    assert _amount(3.25, "hours per 1,000 currency", "EUR") == "3.2 hours per 1,000 EUR"
    assert _amount(4.0, "score 1-5", "EUR") == "4 of 5"
    assert _amount(float("nan"), "currency", "EUR") == "unknown"
    assert _how_often(2.14) == "2.1 times as often" and _how_often(1.0) == "about as often"
    assert _how_often(0.4) == "less often"
    assert _sets_apart(0.52) == "hardly higher" and _sets_apart(0.81) == "very clearly higher"
    assert _sets_apart(0.35) == "clearly lower"


# --- 2. names inside sentences isolated --------------------------------------------------------------------------


def _bare(html: str, name: str) -> list[str]:
    """Each place `name` shows outside an element the pages isolate (`class="name"` / `class="who"`)."""
    return [
        html[max(m.start() - 50, 0) : m.end() + 10]
        for m in re.finditer(re.escape(name), html)
        if not html[: m.start()].endswith(('class="name">', 'class="who">'))
    ]


def test_names_and_ids_inside_sentences_are_isolated() -> None:
    """The history's sentences name a manager by name and id: each is in an isolating element, the name's bidi
    controls dropped (was: "moved to שרה לוי (AM2) since the last run", bare)."""
    from pipelines.reports.actions import handed_over, moved_from, moved_to, with_last_run

    staff = {"AM2": (RTL + "\u202e", ""), "AM3": (ARABIC, "left the company on 2025-01-02")}
    said = [
        moved_to("AM2", staff),
        moved_from("AM3", staff),
        moved_from("AM3", staff, "2024-10-01"),
        handed_over("AM3", staff),
        handed_over("AM9", staff),  # an id the directory no longer knows
        with_last_run("AM2", staff),
    ]
    for text in said:
        html = str(text)
        assert "\u202e" not in html
        for name in (RTL, ARABIC, "AM2", "AM3", "AM9"):
            assert not _bare(html, name), (name, html)
    assert str(moved_to("AM2", staff)) == (
        f'moved to <span class="who">{RTL}</span> (<span class="who">AM2</span>) since the last run'
    )
    assert moved_to("AM2", staff).striptags() == f"moved to {RTL} (AM2) since the last run"


def test_a_category_new_to_the_model_is_isolated_in_its_sentence() -> None:
    from pipelines.reports.phrases import unseen_profile_marks

    ids = pd.Series(["C1", "C2"])
    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "region": [ARABIC, "North"]})
    marks = unseen_profile_marks(ids, customers, {"profile_region": {ARABIC: 1}})
    assert marks is not None
    assert f"region '<span class=\"who\">{ARABIC}</span>' is new to the model" in marks.iloc[0]
    assert marks.iloc[1] == ""


def test_the_pages_isolate_every_name_and_manager_id(tmp_path: Path) -> None:
    """The manager page's "Account manager <id>" and the team page's manager ids (was: bare), names as before;
    one helper (`phrases.isolated`) for all. A small book's page is as before."""
    data = demo_report_inputs(40, 3, seed=11)
    managers = data["account_managers"].copy()
    managers["name"] = [f"{RTL} {i}" for i in range(len(managers))]
    managers["account_manager_id"] = [f"{ARABIC}{i}" for i in range(len(managers))]
    mapping = dict(
        zip(data["account_managers"]["account_manager_id"], managers["account_manager_id"], strict=True)
    )
    scores = data["scores"].copy()
    scores["account_manager_id"] = scores["account_manager_id"].map(mapping)
    data = {**data, "account_managers": managers, "scores": scores}
    paths = build_from(data, tmp_path / "reports")
    # a small book (under `report.page_all_customers_up_to`): every customer on the page, as before, and no CSV
    assert not list((tmp_path / "reports").glob("*.csv"))
    mine = scores.loc[scores["account_manager_id"] == f"{ARABIC}0", "customer_id"]
    page = paths.managers[f"{ARABIC}0"].read_text(encoding="utf-8")
    assert sorted(re.findall(r'<tr class="customer" data-customer-id="([^"]+)"', page)) == sorted(mine)
    assert "Your customers, most valuable first" in page and "book-cut" not in page
    for path in [paths.index, *paths.managers.values()]:
        html = re.sub(r"<title>.*?</title>", "", path.read_text(encoding="utf-8"))
        for name in [*managers["name"], *managers["account_manager_id"]]:
            assert not _bare(re.sub(r'href="[^"]*"', "", html), name), (path.name, name)


# --- 3. a large book's page ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_book(tmp_path_factory) -> dict[str, Any]:
    data = demo_report_inputs(900, 2, seed=3)
    scores = data[
        "scores"
    ].copy()  # 30 of AM001's customers lapsed: listed whole in the CSV, in part on the page
    lapsed = scores.index[(scores["account_manager_id"] == "AM001").to_numpy()][:30]
    scores["status"], scores["status_reason"] = "scored", ""
    scores.loc[lapsed, ["status", "status_reason"]] = ["lapsed", "no order for 900 days"]
    scores.loc[lapsed, ["pred_value_365d", "pred_churn_prob_365d"]] = float("nan")
    scores["tier"] = scores["tier"].astype("object")
    scores.loc[lapsed, "tier"] = None
    # equal values among the problem customers: listed by id, as everywhere (was: by id descending)
    problem = scores[
        (scores["account_manager_id"] == "AM001")
        & (scores["tier"] == "problem")
        & (scores["status"] == "scored")
    ].sort_values("pred_value_365d")
    scores.loc[problem.index[:5], "pred_value_365d"] = problem["pred_value_365d"].iloc[0]
    data["scores"] = scores
    customers = data["customers"].copy()
    customers.loc[customers.index[0], "name"] = '=HYPERLINK("http://x")'
    # a name with a bidi override, scored and not: dropped in the CSV as on the page (was: copied raw)
    for cid in (problem["customer_id"].iloc[0], scores.loc[lapsed[0], "customer_id"]):
        customers.loc[customers["customer_id"] == cid, "name"] = RTL + "\u202e"
    data["customers"] = customers
    out = tmp_path_factory.mktemp("book37") / "reports"
    config = report_config(page_all_customers_up_to=100, page_customers_per_tier=12)
    return {"data": data, "paths": build_from(data, out, config), "out": out}


def test_a_large_book_lists_who_needs_action_first_and_the_top_of_each_tier(big_book: dict[str, Any]) -> None:
    data, paths = big_book["data"], big_book["paths"]
    scores = data["scores"]
    mine = scores[(scores["account_manager_id"] == "AM001") & (scores["status"] == "scored")]
    assert len(mine) > 300
    html = paths.managers["AM001"].read_text(encoding="utf-8")
    listed = re.findall(r'<tr class="customer" data-customer-id="([^"]+)"', html)
    tiers = sorted(set(mine["tier"].astype(str)))
    assert (
        len(listed) == len(set(listed)) <= 12 * (len(tiers) + 1)
    )  # was: every one of the manager's customers
    assert set(listed) <= set(mine["customer_id"])
    at_risk = mine[mine["flags"].fillna("").str.contains("at_risk")]
    at_risk = at_risk.sort_values(["pred_value_365d", "customer_id"], ascending=[False, True])
    first = listed[: min(12, len(at_risk))]
    assert first == at_risk["customer_id"].head(12).tolist()  # those at risk first, the most valuable first
    for tier in tiers:
        of_tier = mine[(mine["tier"].astype(str) == tier) & ~mine["customer_id"].isin(first)]
        order = of_tier.sort_values(["pred_value_365d", "customer_id"], ascending=[tier == "problem", True])
        shown = [c for c in listed[len(first) :] if c in set(of_tier["customer_id"])]
        assert shown == order["customer_id"].head(12).tolist(), tier  # problem: the largest loss first
    csv = "manager-AM001-customers.csv"
    assert f'<a href="{csv}" download>' in html  # the page says where the rest are
    assert f"All {len(mine):,}</strong>" in html
    # the customers without a score: the first 12 listed, the 30 counted, the rest in the CSV
    unscored = re.search(r'<section id="not-scored">(.*?)</section>', html, re.S)
    assert unscored is not None and "Customers without a score (30)" in unscored[1]
    assert len(re.findall(r"<tr data-customer-id=", unscored[1])) == 12 and csv in unscored[1]
    # the reasons' all-time period in a manager's words, on the page and in its CSV (was: "... before the cutoff")
    assert "before the cutoff" in " ".join(mine["value_reason_1"].astype(str))  # the fixture's reasons say it
    for path in [paths.index, *paths.managers.values()]:
        assert "before the cutoff" not in path.read_text(encoding="utf-8"), path.name
    assert "before the cutoff" not in (big_book["out"] / csv).read_text(encoding="utf-8")


def test_the_csv_beside_a_large_page_holds_that_managers_customers_only(big_book: dict[str, Any]) -> None:
    data, out = big_book["data"], big_book["out"]
    scores = data["scores"].set_index("customer_id")
    everyone = scores[scores["account_manager_id"] == "AM001"]
    mine = everyone[everyone["status"] == "scored"]
    book = pd.read_csv(out / "manager-AM001-customers.csv", dtype=str, keep_default_na=False)
    assert sorted(book["Customer"]) == sorted(everyone.index)  # every one of theirs, no one else's
    unscored = book[book["Status"] != "scored"]
    assert len(unscored) == 30 and set(unscored["Why no score"]) == {"no order for 900 days"}
    assert (book.index[book["Status"] != "scored"] >= len(mine)).all()  # after the scored ones
    book = book[book["Status"] == "scored"]
    assert list(book.columns[:5]) == [
        "Customer",
        "Name",
        "Tier",
        "Rating",
        "Expected value, next 12 months (EUR)",
    ]
    value = pd.to_numeric(book["Expected value, next 12 months (EUR)"])
    assert (value.diff().dropna() <= 0).all()  # most valuable first, as the page
    first = book.iloc[0]
    assert int(first["Expected value, next 12 months (EUR)"]) == round(
        mine.loc[first["Customer"], "pred_value_365d"]
    )
    churn = pd.to_numeric(book["Chance of leaving within a year (%)"])
    expected = (mine.loc[book["Customer"], "pred_churn_prob_365d"] * 100).round(1).to_numpy()
    assert (churn.to_numpy() == expected).all()
    raw = (out / "manager-AM001-customers.csv").read_text(encoding="utf-8")
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", raw)  # no bidi control from a name
    assert raw.count(RTL) == 2
    assert "=HYPERLINK" not in raw or "'=HYPERLINK" in raw  # a formula is never a live cell
    others = scores.index[scores["account_manager_id"] != "AM001"]
    assert not set(others) & set(book["Customer"])


def test_a_large_problem_tier_lists_equal_values_by_id(big_book: dict[str, Any]) -> None:
    """The fixture's five largest losses of AM001 are equal: the page lists them by id (was: by id descending)."""
    scores = big_book["data"]["scores"]
    mine = scores[(scores["account_manager_id"] == "AM001") & (scores["tier"] == "problem")]
    tied = mine[mine["pred_value_365d"] == mine["pred_value_365d"].min()]["customer_id"].tolist()
    assert len(tied) == 5
    html = big_book["paths"].managers["AM001"].read_text(encoding="utf-8")
    listed = re.findall(r'<tr class="customer" data-customer-id="([^"]+)"', html)
    shown = [c for c in listed if c in tied]
    assert shown == sorted(tied)


def test_a_large_book_of_customers_without_a_score_points_to_its_csv(tmp_path: Path) -> None:
    """Every customer of a manager without a score, more than a page lists: the page says the first ones are
    listed and all are in the CSV, under the heading of a book without rows (was: "each is listed below" over the
    first 50 only, under "Your customers: who to look at first" over no list)."""
    data = demo_report_inputs(120, 2, seed=5)
    scores = data["scores"].copy()
    mine = (scores["account_manager_id"] == "AM001").to_numpy()
    scores["status"], scores["status_reason"] = "scored", ""
    scores.loc[mine, ["status", "status_reason"]] = ["lapsed", "no order for 900 days"]
    scores.loc[mine, ["pred_value_365d", "pred_churn_prob_365d"]] = float("nan")
    scores["tier"] = scores["tier"].astype("object")
    scores.loc[mine, "tier"] = None
    data["scores"] = scores
    n = int(mine.sum())
    assert n > 20
    paths = build_from(
        data, tmp_path / "reports", report_config(page_all_customers_up_to=20, page_customers_per_tier=7)
    )
    html = paths.managers["AM001"].read_text(encoding="utf-8")
    csv = "manager-AM001-customers.csv"
    section = re.search(r'<section id="customers">(.*?)</section>', html, re.S)
    assert section is not None
    assert "who to look at first" not in html and "Your customers, most valuable first" in section[1]
    said = re.search(r'<p class="muted" id="none-scored">(.*?)</p>', section[1], re.S)
    assert said is not None and "each is listed below" not in said[1]
    assert f"the first 7 of {n}" in " ".join(said[1].split()) and f'<a href="{csv}" download>' in said[1]
    assert len(re.findall(r"<tr data-customer-id=", html)) == 7
    book = pd.read_csv(tmp_path / "reports" / csv, dtype=str, keep_default_na=False)
    assert sorted(book["Customer"]) == sorted(scores.loc[mine, "customer_id"])


def test_isolated_keeps_markup_as_it_is() -> None:
    """`phrases.isolated` escapes text and keeps markup as markup, as `escape` does (was: escaped twice)."""
    from markupsafe import Markup

    from pipelines.reports.phrases import isolated

    assert str(isolated(Markup("<b>A</b>\u202e"))) == '<span class="who"><b>A</b></span>'
    assert str(isolated("<b>A</b>", "name")) == '<span class="name">&lt;b&gt;A&lt;/b&gt;</span>'
