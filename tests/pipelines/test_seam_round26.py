"""Round 26 of the train/score seam: run warnings that reached the team page's model card only, not the pages of
the account managers whose customers they concern (review of round 25).

Each test failed on the code before its fix (the `was:` of each docstring).
"""

from __future__ import annotations

import html
import re


def _text(page) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.read_text())).split())


def _pages(card: dict, out, with_customers: bool = True, kiosk: tuple[int, ...] = ()):
    """The pages of `demo_report_inputs(12, 2)` with `card` added to the model card; the customers at positions
    `kiosk` get the segment `kiosk`. Returns (paths, scores, customers)."""
    from pipelines.config import load_config
    from pipelines.reports import build_reports
    from tests.pipelines.report_fixtures import demo_report_inputs

    data = demo_report_inputs(12, 2, seed=4)
    customers = data["customers"].copy()
    customers.loc[list(kiosk), "segment"] = "kiosk"
    paths = build_reports(
        data["scores"],
        data["value_contrib"],
        data["model_card"] | card,
        out,
        load_config().report,
        data["registry"],
        customers=customers if with_customers else None,
        account_managers=data["account_managers"],
    )
    return paths, data["scores"], customers


def test_customers_of_a_category_unseen_in_training_are_marked_on_their_managers_page_only(tmp_path):
    """A new segment on a few customers (`'kiosk'`): `cvp score` warned "categories unseen in training, scored as
    missing: profile_segment: 'kiosk' (2 customers)", and since round 25 the team page's model card said it; the
    manager pages said nothing, not which of their customers the model read as of no segment (was: measured,
    these pages). Now each such customer is marked beside them on their manager's page, and a line atop the page
    says how many of theirs; a manager none of whose customers has one reads nothing of it, and no page names
    another manager's customer."""
    from pipelines.run_notes import run_card_notes

    manifest = {"unseen_categories": {"profile_segment": {"kiosk": 2}}}
    paths, scores, customers = _pages(run_card_notes(manifest), tmp_path / "r", kiosk=(0, 1))
    owner = str(scores.loc[0, "account_manager_id"])
    theirs = customers["account_manager_id"].astype("str") == owner
    marked = customers.loc[theirs & (customers["segment"] == "kiosk"), "name"].tolist()
    assert marked, "the fixture's first customer has a manager"
    mark = "Their segment ' kiosk ' is new to the model"  # the value isolated in its sentence (round 37)
    for mid, page in paths.managers.items():
        text = _text(page)
        mine = customers[(customers["account_manager_id"].astype("str") == str(mid))]
        n = int((mine["segment"] == "kiosk").sum())
        if n:
            assert f"New to the model: {n} of your customers ha" in text
            assert text.count(mark) == n  # one mark per customer of theirs, beside them
        else:
            assert "New to the model" not in text and mark not in text
        others = customers.loc[customers["account_manager_id"].astype("str") != str(mid), "name"]
        assert not any(name in text for name in others)  # never another manager's customer
    text = _text(paths.managers[owner])
    for name in marked:  # the mark in the customer's own row
        row = text.split(name, 1)[1]
        assert row.index(mark) < min((row.find(n) for n in customers["name"] if n in row), default=len(row))


def test_without_the_customer_table_every_manager_page_names_the_unseen_category_not_whose():
    """Pages made without `--data` cannot tell whose customers hold the unseen category: every manager page says
    the category and that it cannot mark which are theirs (was: nothing), with no count of the company's
    customers; with the customer table, a manager none of whose customers has one reads nothing."""
    import pandas as pd

    from pipelines.reports.phrases import unseen_mine_line, unseen_profile_marks

    unseen = {"profile_region": {"Central": 4}}
    ids = pd.Series(["C1", "C2"])
    assert unseen_profile_marks(ids, None, unseen) is None  # whose cannot be told
    line = unseen_mine_line(unseen, None)
    assert "never saw in training" in line and "team page's model card names it" in line
    assert "cannot mark which of them are yours" in line and "4" not in line
    # no value of the company's list on a manager's page: another manager's customer's rare category (the review:
    # a manager of one 'kiosk' customer read 'stall', held by another manager's one customer)
    two = {"profile_segment": {"kiosk": 1, "stall": 1}}
    for n in (None, 1):
        assert not {"kiosk", "stall", "Central"} & set(re.findall(r"\w+", unseen_mine_line(two, n)))
    assert unseen_mine_line(unseen, 0) is None and unseen_mine_line({}, None) is None
    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "region": ["North", "Central"]})
    marks = unseen_profile_marks(ids, customers, unseen).str.replace(r"<[^>]+>", "", regex=True)  # round 37
    assert marks.str.startswith("Their region 'Central'").tolist() == [
        False,
        True,
    ]


def test_model_inputs_and_a_replaced_champion_are_said_atop_every_page_in_a_managers_words():
    """A model trained without the tickets the data has ("Model inputs"), and pages of v1's scores after v2 was
    promoted ("Champion now"): both were on the team page's model card only, in a data team's words (`cvp
    score`, MLflow aliases); a manager reading their page saw "Version 1" and nothing else (was: `page_banners`
    had no key for them). Now both are said atop every page in plain words."""
    from pipelines.reports.phrases import page_banners
    from pipelines.run_notes import run_card_notes

    card = run_card_notes(
        {"input_column_differences": ["table tickets: in this data, not in the model's ..."]}
    )
    card |= {"model_version": "1", "champion_now": "version 2, not ...", "champion_now_version": "2"}
    banners = page_banners(card, "2025-06-30", 1.0)
    assert "trained on other data than this run read" in banners["model_inputs"]
    assert "`" not in banners["model_inputs"]  # no command, no column name: a manager's words
    assert "made by model version 1, replaced since by version 2" in banners["champion_now"]
    # a challenger's scores (its own `provisional` banner): no "replaced" banner beside it (the review: v2
    # challenger's scores read "made by model version 2, replaced since by version 1")
    challenger = page_banners(card | {"provisional": "still being evaluated ..."}, "2025-06-30", 1.0)
    assert challenger["champion_now"] is None and challenger["provisional"]
    quiet = page_banners({"model_version": "1"}, "2025-06-30", 1.0)
    assert quiet["model_inputs"] is None and quiet["champion_now"] is None


def test_the_champion_now_version_is_kept_apart_from_the_card_facts():
    """The card's `champion_now_version` (the banner's) and `unseen_values` (the pages' marks) are not listed as
    facts of the team page's model card beside their sentences (was: no such keys)."""
    from pipelines.reports.card import model_card_view
    from pipelines.run_notes import run_card_notes

    card = run_card_notes({"unseen_categories": {"profile_region": {"Central": 4}}})
    assert card["unseen_values"] == {"profile_region": {"Central": 4}}
    card |= {"champion_now": "version 2, not version 1", "champion_now_version": "2"}
    keys = {f["key"] for f in model_card_view(card, 365, "EUR")["facts"]}
    assert {"Unseen categories", "Champion now"} <= keys
    assert not keys & {"Unseen values", "Champion now version"}
