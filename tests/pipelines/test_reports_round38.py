"""Round 38 (reports, for a non-technical account manager): every amount of a reason with its currency and a
category inside a reason isolated for right-to-left text; a capped page lists those flagged at risk first (the
scoring's flag, whatever tiers its rule covers) and caps the new customers, the CSV beside it holding every one of the manager's
customers (the new ones too) and opening in a spreadsheet by double-click (UTF-8 byte-order mark); the team page's
drivers and separators say the currency in each cell.

Was: "1,015 gross margin in the last 90 days" (the registry's phrase without the currency); "having come through
<a right-to-left channel> lowers expected profit by about 30 EUR" with the channel bare in the sentence; the
`at_risk` flag (great customers) alone first on a capped page; every new customer on a capped page and none in its
CSV; "+120" in the drivers' cells; "within active_within_days" in a description.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.config import load_config
from tests.pipelines.report_fixtures import build_from, demo_report_inputs, report_config

CONFIG = load_config()
REPORT = CONFIG.report
RTL = "שרה לוי"


# --- 1. reasons: the currency, a category isolated, a setting in words ---------------------------------------------


def test_a_reasons_amount_says_its_currency() -> None:
    from features.registry import describe_value

    assert describe_value("profit_margin_90d", 1015.2, "EUR") == "1,015 EUR gross margin in the last 90 days"
    assert describe_value("profit_margin_trend_90d", -15.0, "USD").startswith("margin changed by -15 USD ")
    assert (
        describe_value("orders_count_90d", 3, "EUR") == "3 orders in the last 90 days"
    )  # no amount of money
    # the sentences scoring's reasons give (models.reason_text.render_reasons, what the pages and CSV show): a
    # money feature's amount with its currency (a guard: main's scoring said it already)
    from models.reason_text import render_reasons

    stored = pd.DataFrame(
        {
            "value_reason_feature_1": ["profit_margin_90d", "profit_margin_trend_90d"],
            "value_reason_value_1": [1015.2, -15.0],
            "value_reason_category_1": [None, None],
            "value_reason_effect_1": [120.0, -30.0],
            "value_reason_together_1": [0.0, 0.0],
        }
    )
    said = render_reasons(stored, "value", "EUR")["value_reason_1"].tolist()
    assert said[0].startswith("1,015 EUR gross margin in the last 90 days"), said
    assert said[1].startswith("gross margin changed by -15 EUR "), said


def test_a_description_names_its_setting_in_words_with_its_value() -> None:
    from features.registry import feature_registry

    text = feature_registry(CONFIG.features)["referral_active_referred"].description
    assert "active_within_days" not in text
    assert f"{CONFIG.features.active_within_days:,} days" in text


def test_a_category_inside_a_reason_is_isolated() -> None:
    from models.lookalike import _reason_words
    from pipelines.reports.phrases import lookalike_reason_isolated, reason_isolated

    said = reason_isolated(
        f"having come through {RTL}\u202e lowers expected profit by about 30 EUR, together with the other "
        "profile details",
        "profile_acquisition_channel",
    )
    assert str(said) == (
        f'having come through <span class="who">{RTL}</span> lowers expected profit by about 30 EUR, together '
        "with the other profile details"
    )
    segment = reason_isolated(
        "being in the a lowers b segment raises churn risk by about 2 points", "profile_segment"
    )
    assert (
        str(segment)
        == 'being in the <span class="who">a lowers b</span> segment raises churn risk by about 2 points'
    )
    # other reasons: text as they are (the pages escape it), the period in a manager's words
    plain = reason_isolated("<b>1,015 EUR</b> net profit before the cutoff raises ...", "profit_net_lifetime")
    assert plain == "<b>1,015 EUR</b> net profit to date raises ..." and not hasattr(plain, "__html__")
    # a new customer's reason, as the lookalike model words it
    text = _reason_words("acquisition_channel", RTL, 0.3, "EUR")
    assert str(lookalike_reason_isolated(text)) == (
        f'acquisition channel: <span class="who">{RTL}</span> (raises the chance)'
    )
    first = _reason_words("early_first_order_value", 1240.0, 0.3, "EUR")
    assert str(lookalike_reason_isolated(first)) == first


def test_the_pages_isolate_a_category_in_a_reason(tmp_path: Path) -> None:
    data = demo_report_inputs(40, 2, seed=4)
    scores = data["scores"].copy()
    scores["value_reason_1"] = f"having come through {RTL} lowers expected profit by about 30 EUR"
    scores["value_reason_feature_1"] = "profile_acquisition_channel"
    data["scores"] = scores
    paths = build_from(data, tmp_path / "reports")
    html = paths.managers["AM001"].read_text(encoding="utf-8")
    assert f'having come through <span class="who">{RTL}</span> lowers' in html
    assert f"through {RTL} lowers" not in html


# --- 2. a capped page: who needs action first, the new customers capped and in the CSV ------------------------------


@pytest.fixture(scope="module")
def capped(tmp_path_factory) -> dict[str, Any]:
    data = demo_report_inputs(700, 2, seed=8)
    scores = data["scores"].copy()
    mine = (scores["account_manager_id"] == "AM001").to_numpy()
    # good customers flagged at risk of leaving, as a widened rule (`only_tiers: [great, good]`) flags them at scoring
    good = np.flatnonzero(mine & (scores["tier"] == "good").to_numpy())[:6]
    scores.loc[good, "pred_churn_prob_365d"] = 0.8
    scores.loc[good, "flags"] = "at_risk"
    # and good customers likely to leave but not flagged: the reports read the flag only (no second rule)
    red = np.flatnonzero(mine & (scores["tier"] == "good").to_numpy())[6:9]
    scores.loc[red, "pred_churn_prob_365d"] = 0.9
    scores.loc[red, "flags"] = ""
    scores.loc[red, "pred_value_365d"] = 6e6 + np.arange(len(red))
    scores.loc[good, "pred_value_365d"] = 5e6 + np.arange(len(good))  # worth more than anyone
    scores["status"], scores["status_reason"] = "scored", ""
    new = np.flatnonzero(mine)[-40:]  # 40 new customers of AM001, scored by the lookalike model
    scores["tier"] = scores["tier"].astype("object")
    scores.loc[new, ["status", "status_reason"]] = ["new", "signed up 12 days ago"]
    scores.loc[new, ["pred_value_365d", "pred_churn_prob_365d"]] = float("nan")
    scores.loc[new, "tier"] = None
    scores["lookalike_prob_great"] = np.where(
        np.isin(np.arange(len(scores)), new), np.linspace(0.9, 0.1, len(scores)), np.nan
    )
    scores["lookalike_expected_value"] = np.where(np.isin(np.arange(len(scores)), new), 812.4, np.nan)
    scores["lookalike_reason_1"] = pd.Series(
        [f"acquisition channel: {RTL} (raises the chance)"] * len(scores)
    ).where(np.isin(np.arange(len(scores)), new))
    scores["provisional_tier"] = pd.Series(["good (provisional)"] * len(scores)).where(
        np.isin(np.arange(len(scores)), new)
    )
    data["scores"] = scores
    out = tmp_path_factory.mktemp("book38") / "reports"
    config = report_config(page_all_customers_up_to=100, page_customers_per_tier=10)
    return {
        "data": data,
        "paths": build_from(data, out, config),
        "out": out,
        "good": scores.loc[good, "customer_id"].tolist(),
        "red": scores.loc[red, "customer_id"].tolist(),
        "new": scores.loc[new, "customer_id"].tolist(),
    }


def test_a_widened_at_risk_flag_reaches_a_capped_pages_first_list(capped: dict[str, Any]) -> None:
    """The first list is the scoring's `at_risk` flag, whatever tiers its rule covers (config as data); a customer
    shown in red but not flagged is listed by value in their tier, not first (one rule, the flag's)."""
    html = capped["paths"].managers["AM001"].read_text(encoding="utf-8")
    listed = re.findall(r'<tr class="customer" data-customer-id="([^"]+)"', html)
    assert listed[:6] == capped["good"][::-1]  # the most valuable of the flagged first
    assert "At risk of leaving: get in touch first" in html
    assert not set(capped["red"]) & set(listed[:6])
    book = pd.read_csv(capped["out"] / "manager-AM001-customers.csv", dtype=str, keep_default_na=False)
    flagged = set(book.loc[book["At risk of leaving"] == "yes", "Customer"])
    assert set(capped["good"]) <= flagged and not set(capped["red"]) & flagged


def test_a_capped_page_caps_the_new_customers_and_the_csv_holds_them(capped: dict[str, Any]) -> None:
    html = capped["paths"].managers["AM001"].read_text(encoding="utf-8")
    section = re.search(r'<section id="new-customers">(.*?)</section>', html, re.S)
    assert section is not None
    shown = re.findall(r'<tr data-customer-id="([^"]+)"', section[1])
    assert len(shown) == 10  # was: all 40
    assert "Your new customers (40)" in section[1] and "manager-AM001-customers.csv" in section[1]
    assert f'acquisition channel: <span class="who">{RTL}</span> (raises the chance)' in section[1]
    path = capped["out"] / "manager-AM001-customers.csv"
    book = pd.read_csv(path, dtype=str, keep_default_na=False)
    scores = capped["data"]["scores"]
    assert sorted(book["Customer"]) == sorted(
        scores.loc[scores["account_manager_id"] == "AM001", "customer_id"]
    )
    new = book[book["Status"] == "new"]
    assert sorted(new["Customer"]) == sorted(capped["new"])  # was: none of them
    assert set(new["Expected value, next 12 months (EUR)"]) == {"812"}
    assert set(new["Tier"]) == {"good (provisional)"}
    assert new["Why no score"].str.startswith("signed up 12 days ago; ").all()  # its status reason kept
    assert (new.index > book.index[book["Status"] == "scored"].max()).all()  # after the scored ones
    # the CSV opens in a spreadsheet by double-click: UTF-8 with its byte-order mark (was: without)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and RTL.encode() in raw


# --- 4. the team page's money cells -------------------------------------------------------------------------------


def test_the_team_pages_drivers_and_separators_say_the_currency(capped: dict[str, Any]) -> None:
    html = capped["paths"].index.read_text(encoding="utf-8")
    tables = re.findall(r'<table class="drivers[^"]*">(.*?)</table>', html, re.S)
    assert len(tables) >= 2
    for table in tables:
        cells = re.findall(r'<td class="num">([^<]*)</td>', table)
        assert cells and all(c.endswith(" EUR") for c in cells if c), cells[:5]


# --- 3. the formula check, vectorised: the same cells as the rule cell by cell ---------------------------------------


def test_the_vectorised_formula_check_marks_the_cells_the_rule_marks() -> None:
    """A refactor's guard (passes on main too): the Arrow path and the mixed-column path agree with the rule."""
    from pipelines.csv_cells import _FORMULA_START, _PLAIN_NUMBER, neutralise_formulas

    cells = [
        "=1",
        "-5",
        "-1e5",
        "+1 a",
        "@a",
        "\tb",
        "\rc",
        "x",
        "",
        None,
        "-",
        "+",
        ".5",
        "-.5e3",
        "=",
        "ש=1",
    ]
    mixed = [*cells, 1, 2.5, b"=y"]

    def rule(v: Any) -> Any:
        if isinstance(v, str) and v.startswith(_FORMULA_START) and not re.match(_PLAIN_NUMBER, v):
            return "'" + v
        return v

    for column in (cells, mixed):
        frame = pd.DataFrame({"a": pd.Series(column, dtype=object)})
        got = neutralise_formulas(frame)["a"].tolist()
        assert got == [rule(v) for v in column]


def test_every_page_counts_those_at_risk_as_the_first_list(capped: dict[str, Any]) -> None:
    """The manager's card, the team page's manager table and the capped page's first list: one count (was: the
    great tier's flag on the cards, beside a longer list)."""
    html = " ".join(capped["paths"].managers["AM001"].read_text(encoding="utf-8").split())
    group = re.search(r"At risk of leaving: get in touch first \(([\d,]+)\)", html)
    card = re.search(r'<div class="big">([\d,]+)</div><div class="label">at risk of leaving', html)
    assert group is not None and card is not None and group[1] == card[1]
    team = " ".join(capped["paths"].index.read_text(encoding="utf-8").split())
    row = re.search(r"AM001</span>.*?</tr>", team)
    assert row is not None and f'<td class="num">{group[1]}</td></tr>' in row[0]


def test_a_waterfalls_labels_fit_beside_the_chart_and_its_amounts_say_the_currency(
    capped: dict[str, Any],
) -> None:
    """At most 40 characters in the 282 units left of the bars (was: 44 plus "…" in 242 units: "Share of the
    company's revenue in the last …" ran past the chart's edge in chromium, "e of the company's ...")."""
    html = capped["paths"].managers["AM001"].read_text(encoding="utf-8")
    labels = re.findall(r'<text x="(\d+)" y="[\d.]+" text-anchor="end">([^<]*)</text>', html)
    left = [(int(x), t) for x, t in labels if not re.match(r"^[+\-\d,]", t)]
    assert left and all(len(t.replace("&#39;", "'")) <= 40 and x >= 282 for x, t in left), left[:3]
    assert any(t.endswith("…") for _, t in left)
    # every step's amount says its currency, as the first and last bar (was "+2,075")
    amounts = [t for x, t in labels if re.match(r"^[+\-\d]", t)]
    assert amounts and all(t.endswith(" EUR") for t in amounts), amounts[:4]


def test_the_customer_table_scrolls_on_a_narrow_screen_rather_than_cutting_its_figures(
    capped: dict[str, Any],
) -> None:
    """At 420 pixels (a phone, chromium's screenshot) the fixed-layout table squeezed its columns: "5,6" over "51 EU"
    over "R" (the cell's `overflow-wrap: anywhere` beat the figures' rule) and its headers over each other. Now each
    customer table is in a box that scrolls sideways, at least 760 pixels wide, its figures kept whole; print as
    before."""
    from pipelines.reports.pages import TEMPLATE_DIR

    html = capped["paths"].managers["AM001"].read_text(encoding="utf-8")
    tables = html.count('<table class="customers">')
    assert tables and html.count('<div class="table-scroll"><table class="customers">') == tables
    css = " ".join((TEMPLATE_DIR / "report.css").read_text(encoding="utf-8").split())
    assert ".table-scroll { overflow-x: auto; }" in css
    assert ".table-scroll > table.customers { min-width: 760px; }" in css
    assert (
        "table.customers td.num, table.customers .risk-pct, table.customers .mono { overflow-wrap: normal; }"
        in css
    )
    # the team page's drivers and separators: an amount and its currency on one line, the table in a scroll box
    team = capped["paths"].index.read_text(encoding="utf-8")
    assert (
        team.count('<div class="table-scroll"><table class="drivers')
        == team.count('<table class="drivers')
        > 1
    )
    assert "table.drivers td.num { white-space: nowrap; }" in css


def test_the_vectorised_formula_check_is_stricter_on_numbers_not_plain() -> None:
    """A number with a line break after it, or in other digits, is no plain number: prefixed (was: left as is)."""
    from pipelines.csv_cells import neutralise_formulas

    cells = pd.Series(["-5\n", "-١٢", "+１２", "-5", "=1+1"], dtype=object)
    got = neutralise_formulas(pd.DataFrame({"a": cells}))["a"].tolist()
    assert got == ["'-5\n", "'-١٢", "'+１２", "-5", "'=1+1"]


def test_the_csv_keeps_a_categorys_spaces_as_written(tmp_path: Path) -> None:
    """A category inside a reason, isolated on the page, goes to the CSV as written (was: runs of spaces and tabs
    merged by markupsafe's striptags, "Web  Shop\tX" -> "Web Shop X")."""
    from markupsafe import Markup

    from pipelines.reports.book import _plain

    cell = Markup('having come through <span class="who">{}</span> lowers').format("Web  Shop\tX <b> &")
    assert _plain(cell) == "having come through Web  Shop\tX <b> & lowers"
