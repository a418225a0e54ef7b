"""The reports rendered by a real headless browser (Debian's chromium): screenshots and the rendered DOM.

Fails (never skips) when chromium is missing, unless CVP_SKIP_BROWSER=1 is set. Set CVP_CHROMIUM to use another
binary.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from pipelines.config import load_config
from tests.pipelines.report_fixtures import (
    BROWSER_HEIGHT,
    BROWSER_WIDTH,
    chromium,
    demo_site,
    run_chromium,
)

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = BROWSER_WIDTH, BROWSER_HEIGHT
_chromium, _run = chromium, run_chromium


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    binary = _chromium()
    assert binary is not None
    root = tmp_path_factory.mktemp("browser")
    data, paths = demo_site(root)
    assert paths.unassigned is not None
    pages = {"index": paths.index, **paths.managers, "unassigned": paths.unassigned}

    def render(item: tuple[str, Path]) -> tuple[str, Path, str]:
        key, page = item
        png = root / f"{key}.png"
        url = page.resolve().as_uri()
        # one chromium run takes the screenshot and prints the rendered DOM (was: a run each, 8 launches for 4)
        res = _run(binary, [f"--screenshot={png}", "--dump-dom", url], root / f"profile-{key}")
        assert res.returncode == 0, f"chromium on {page.name} failed:\n{res.stderr[-2000:]}"
        return key, png, res.stdout

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(render, pages.items()))
    return {
        "data": data,
        "pages": pages,
        "png": {k: p for k, p, _ in results},
        "dom": {k: d for k, _, d in results},
    }


@pytest.mark.parametrize("key", ["index", "AM001", "AM002", "unassigned"])
def test_screenshot_is_a_real_rendering(rendered: dict[str, Any], key: str) -> None:
    png = rendered["png"][key]
    assert png.exists() and png.stat().st_size > 20_000, f"{png.name} is missing or tiny"
    with Image.open(png) as img:
        assert img.size == (WIDTH, HEIGHT)
        rgb = img.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 50, "a blank or flat page"
        # Ink (anything clearly darker than the page) must cover more than a sliver of the screen.
        grey = rgb.convert("L")
        dark = sum(count for value, count in enumerate(grey.histogram()) if value < 200)
        assert dark / (WIDTH * HEIGHT) > 0.02
        # The tier badges are drawn in their configured colours: find the three hues on the index page.
        if key == "index":
            present = {c for _, c in colours}
            for hex_colour in load_config().report.tier_colors.values():
                rgb_colour = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
                assert rgb_colour in present, f"tier colour {hex_colour} not rendered"


def test_index_dom_has_tiers_charts_model_card_and_links(rendered: dict[str, Any]) -> None:
    dom = rendered["dom"]["index"]
    for tier in ("great", "good", "problem"):
        assert f'class="badge tier-{tier}"' in dom
    for chart in ("pareto-chart", "drivers-chart", "ratings-chart"):
        m = re.search(rf'<figure class="chart" id="{chart}">\s*<svg', dom)
        assert m is not None, f"{chart} has no rendered svg"
    assert 'id="model"' in dom and "Backtest" in dom and "Data fingerprint" in dom
    links = set(re.findall(r'href="(manager-[^"]+\.html)"', dom))
    assert links == {"manager-AM001.html", "manager-AM002.html", "manager-unassigned.html"}
    assert re.search(r"\bC\d{4}\b", dom) is None


@pytest.mark.parametrize("key", ["AM001", "AM002", "unassigned"])
def test_manager_dom_has_their_rows_badges_and_waterfalls(rendered: dict[str, Any], key: str) -> None:
    dom = rendered["dom"][key]
    scores = rendered["data"]["scores"]
    owner = scores["account_manager_id"].fillna("unassigned")
    mine = scores.loc[owner == key].sort_values("pred_value_365d", ascending=False)
    rows = re.findall(r'<tr class="customer" data-customer-id="([^"]+)"', dom)
    assert rows == mine["customer_id"].tolist()
    for tier in set(mine["tier"]):
        assert f'class="badge tier-{tier}"' in dom
    waterfalls = re.findall(r'<figure class="chart waterfall" data-customer-id="([^"]+)">', dom)
    assert waterfalls == mine["customer_id"].head(load_config().report.top_customers_per_manager).tolist()
    assert dom.count('<svg class="wf"') == len(waterfalls)
    assert "likely to stop buying within a year" in dom
