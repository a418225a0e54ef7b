"""The history sections rendered by headless chromium: this month's actions on manager pages, team transitions."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.pipelines.history_fixtures import owner_of, page_rows, previous_run_history
from tests.pipelines.report_fixtures import chromium, demo_report_inputs, demo_site, run_chromium

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dom(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    binary = chromium()
    root = tmp_path_factory.mktemp("history-browser")
    data = demo_report_inputs(40, 2, seed=11)
    history, expected = previous_run_history(data)
    data, paths = demo_site(root, history, data)
    pages: dict[str, Path] = {"index": paths.index, **paths.managers}

    def render(item: tuple[str, Path]) -> tuple[str, str]:
        key, page = item
        res = run_chromium(binary, ["--dump-dom", page.resolve().as_uri()], root / f"profile-{key}")
        assert res.returncode == 0, res.stderr[-2000:]
        return key, res.stdout

    # the three pages in parallel (a chromium start mostly waits; each run has its own profile)
    with ThreadPoolExecutor(max_workers=3) as pool:
        out = dict(pool.map(render, pages.items()))
    return {"dom": out, "expected": expected, "data": data}


def test_manager_pages_show_this_months_actions_first(dom: dict[str, Any]) -> None:
    expected = dom["expected"]
    for key in ("at-risk", "became-problem", "manager-left", "thank-you"):
        cid, owner = owner_of(expected, key)
        html = dom["dom"][owner]
        assert cid in page_rows(html, key), f"{key} on {owner}"
        # at the top: before the summary and the customer list
        assert html.index('id="this-month"') < html.index('id="summary"') < html.index('id="customers"')
    scores = dom["data"]["scores"]
    for manager in ("AM001", "AM002"):
        mine = set(scores.loc[scores["account_manager_id"] == manager, "customer_id"])
        shown = set(re.findall(r'<tr class="action-row" data-customer-id="([^"]+)"', dom["dom"][manager]))
        assert shown <= mine


def test_team_page_shows_matrix_and_chart(dom: dict[str, Any]) -> None:
    html = dom["dom"]["index"]
    assert re.search(r'<table class="transition-matrix">', html)
    assert re.search(r'<figure class="chart" id="tier-history-chart">\s*<svg', html)
    assert re.search(r"\bC\d{4}\b", html) is None
