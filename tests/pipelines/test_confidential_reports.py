"""An account manager's page names only that manager's customers, in a hostile company: managers whose ids differ
by case or look like a hashed page name, a manager without a scored customer, customers without a manager,
customers reassigned since the last run (`--history`), new and not-scored customers. Every page is parsed for the
customer ids, names and e-mails of other managers' customers; the team page for any customer's."""

from __future__ import annotations

import re

import numpy as np

from tests.pipelines.history_fixtures import previous_run_history
from tests.pipelines.report_fixtures import demo_report_inputs, demo_site


def _with_status(scores, status: np.ndarray) -> None:
    """`status` into `scores`, with the lookalike scores, reason and provisional tier `cvp score` gives new ones."""
    scores["status"] = status
    scores["lookalike_prob_great"] = np.where(status == "new", 0.4, np.nan)
    scores["lookalike_expected_value"] = np.where(status == "new", 300.0, np.nan)
    scores["lookalike_reason_1"] = np.where(status == "new", "first order large", None)
    scores["provisional_tier"] = np.where(status == "new", "good (provisional)", None)


def _company():
    data = demo_report_inputs(60, 4, seed=9)
    scores, customers, managers = data["scores"], data["customers"], data["account_managers"]
    ids = scores["customer_id"].to_numpy(dtype=object)
    owner = scores["account_manager_id"].to_numpy(dtype=object, copy=True)
    owner[ids == "C0001"] = "am001"  # differs from AM001 only by case
    owner[ids == "C0002"] = "am_001-0123456789ab"  # shaped like a hashed page name
    owner[ids == "C0003"] = None  # unassigned
    scores["account_manager_id"] = owner
    scores["account_manager_id"] = scores["account_manager_id"].astype("str")
    customers["account_manager_id"] = scores["account_manager_id"]
    managers.loc[len(managers)] = {
        "account_manager_id": "AM999",
        "name": "Manager Nobody",
        "started_at": None,
    }
    managers.loc[len(managers)] = {"account_manager_id": "am001", "name": "Manager Twin", "started_at": None}
    managers.loc[len(managers)] = {"account_manager_id": "am_001-0123456789ab", "name": "Manager Hash"}
    history, _ = previous_run_history(data)  # sets data["scores"] to this run's
    scores = data["scores"]
    moved = scores["customer_id"].isin(["C0010", "C0011", "C0012", "C0013"])  # reassigned since the last run
    history.transitions.loc[scores.loc[moved, "customer_id"], "old_account_manager_id"] = "AM002"
    status = np.where(scores["customer_id"].isin(["C0020", "C0021", "C0003"]), "new", "scored")
    status[scores["customer_id"].isin(["C0030", "C0031"]).to_numpy()] = "lapsed"
    _with_status(scores, status)
    data["scores"] = scores
    return data, history


def test_every_page_names_only_its_managers_customers(tmp_path):
    data, history = _company()
    scores, customers = data["scores"], data["customers"].set_index("customer_id")
    _, paths = demo_site(tmp_path, history, data)
    owner = scores.set_index("customer_id")["account_manager_id"].astype(object)
    owner = owner.where(owner.notna() & (owner.astype(str).str.strip() != ""), "")
    pages = {**{m: p for m, p in paths.managers.items()}, "": paths.unassigned}
    assert {"AM001", "am001", "am_001-0123456789ab", "AM999", ""} <= set(pages), sorted(pages)
    assert len({p.name.casefold() for p in pages.values()}) == len(pages)
    last = history.transitions["old_account_manager_id"].astype(object)
    for manager, path in pages.items():
        html = path.read_text()
        mine = set(owner[owner == manager].index)
        # and by id only, their customers of the last run who are another manager's now ("Customers moved to
        # another account manager", round 18)
        moved_away = set(last[(last == manager) & (last.index.isin(owner.index))].index) - mine
        shown = set(re.findall(r"C\d{4}", html))
        assert shown <= mine | moved_away, (manager, sorted(shown - mine - moved_away))
        for cid in set(owner.index) - mine:
            for value in customers.loc[cid, ["name", "email", "phone"]]:
                assert str(value) not in html, (manager, cid, value)
        # nothing of this run of another manager's customer on the page: the last run's figures only
        for cid in shown - mine:
            rows = re.findall(rf'<tr class="action-row" data-customer-id="{cid}">(.*?)</tr>', html, re.S)
            assert rows and cid not in re.sub(r'<tr class="action-row".*?</tr>', "", html, flags=re.S), cid
            old = history.transitions.loc[cid]
            for row in rows:
                cells = [re.sub(r"<[^>]+>", " ", c).split() for c in re.findall(r"<td.*?</td>", row, re.S)]
                tier, rating, risk, change = cells[1:5]
                assert tier == [old["old_tier"], "→", "–"] and rating == [old["old_rating"], "→", "–"], cells
                assert risk == [f"{100 * old['old_churn_prob']:.0f}%", "→", "–"] and change == [], cells
    assert not re.findall(r"C\d{4}", pages["AM999"].read_text())  # a manager without a scored customer
    team = paths.index.read_text()
    assert not re.findall(r"C\d{4}", team)
    assert not [v for v in customers["name"] if v in team] and "@example.org" not in team
    for cid in ("C0020", "C0021"):  # the new customers: on their manager's page
        assert cid in pages[owner[cid]].read_text(), cid
    moved = [c for c in ("C0010", "C0011", "C0012", "C0013") if owner[c] not in ("", "AM002")]
    assert moved and set(moved) <= set(
        re.findall(r"C\d{4}", pages["AM002"].read_text())
    )  # their last owner's
    for cid in moved:  # reassigned since the last run: on the new owner's page, by id on the last one's
        html = pages[owner[cid]].read_text()
        assert re.search(
            rf'data-customer-id="{cid}".*?moved to you from another account manager', html, re.S
        ), cid
    assert "C0001" in pages["am001"].read_text() and "C0002" in pages["am_001-0123456789ab"].read_text()


def test_unassigned_customers_who_are_all_new_get_the_unassigned_page(tmp_path):
    """Was: no `manager-unassigned.html` when every customer without a manager was new (scored by the lookalike
    model), so those customers were on no page at all. Now the unassigned page lists them, and no other page does."""
    data = demo_report_inputs(60, 4, seed=9)
    scores = data["scores"]
    unassigned = scores["account_manager_id"].isna()
    assert unassigned.sum() >= 3  # the fixture's customers without a manager
    status = np.where(unassigned, "new", "scored")
    _with_status(scores, status)
    _, paths = demo_site(tmp_path, data=data)
    assert paths.unassigned is not None and paths.unassigned.exists()
    html = paths.unassigned.read_text()
    new_ids = set(scores.loc[unassigned, "customer_id"])
    assert set(re.findall(r"C\d{4}", html)) == new_ids
    for path in paths.managers.values():
        assert not set(re.findall(r"C\d{4}", path.read_text())) & new_ids, path.name
    assert "manager-unassigned.html" in paths.index.read_text()  # linked from the team page
