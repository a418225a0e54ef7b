"""`cvp profile`'s page says first what the report's pages of the same run say first (`phrases.page_banners`).

Was: the team and manager pages of scores made on old data, by another company's model, by a challenger or with
rows rejected said so atop every page, and the ideal-customer profile of the same run said none of it.
"""

from __future__ import annotations

import html
import json
import re
import shutil


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_profile_page_says_the_runs_warnings_atop_it(trained, default_scores, tmp_path):
    from pipelines.history_identity import OTHER_COMPANY_MODEL
    from pipelines.outputs import output_paths
    from pipelines.profile import run_profile
    from tests.helpers import quiet

    root = tmp_path / "run"
    shutil.copytree(default_scores.out.parent, root)
    scores = root / default_scores.out.name
    run_profile(scores, None, root / "clean", None, trained.config, quiet())
    clean = _text((root / "clean" / "profile.html").read_text())
    assert "Old data:" not in clean and "Another company's model:" not in clean  # a run without warnings

    path = output_paths(scores)["manifest"]
    manifest = json.loads(path.read_text())
    manifest["stale_data"] = "the data ends on 2024-06-30, 185 days before the as-of"
    other = f"{OTHER_COMPANY_MODEL} (its orders are not these)"
    manifest["model_warnings"] = [*(manifest.get("model_warnings") or []), other]
    path.write_text(json.dumps(manifest))
    run_profile(scores, None, root / "profile", None, trained.config, quiet())
    said = _text((root / "profile" / "profile.html").read_text())
    assert "Old data: these scores read data that ends well before their date" in said
    assert f"Another company's model: {OTHER_COMPANY_MODEL}" in said
