"""Round 25 of the train/score seam: what still let a wrong result through with exit 0, or two paths that should
agree did not.

Each test failed on the code before its fix (the `was:` of each docstring).
"""

from __future__ import annotations

import html
import json
import re
import shutil

import pandas as pd

#: What `pipelines.data_age.stopped_tables` said of the demo's data with its tickets cut half a year before the
#: as-of (its start; the manifest's `stopped_tables` holds the whole sentence).
STOPPED = (
    "tickets.opened_at ends on 2025-06-29, 185 days before --as-of 2026-01-01, while 594 orders came after it: "
    "at its rate (562 rows for 2,980 orders) about 112 rows of tickets were expected since (scoring."
    "stopped_table_rows 20; its longest gap before was 43 days), an export that stopped? Every feature and tier "
    "rule reading tickets counts nothing since for every customer; export the missing tickets rows, or score with "
    "--as-of 2025-06-30"
)


def _text(page) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.read_text())).split())


def test_a_table_whose_export_stopped_is_said_atop_every_page_and_on_the_model_card(tmp_path):
    """The demo's data with its tickets cut half a year before the as-of: `cvp score` warned "tickets.opened_at
    ends on 2025-06-29 ... an export that stopped?" in the console and the manifest's `stopped_tables`, but the
    pages made of the run said nothing: 17 of its 79 problem customers read good or great on their manager's page
    (no ticket since June: no cost to serve), the team page's model card silent, `cvp profile`'s page too (was,
    measured with `cvp report` / `cvp profile` on that run). Now the warning is on the model card and atop every
    page, as old data is."""
    from pipelines.jobs import run_card_notes
    from pipelines.reports.card import model_card_view
    from pipelines.reports.phrases import page_banners
    from tests.pipelines.test_seam_round24 import _pages

    notes = run_card_notes({"stopped_tables": [STOPPED]})
    facts = {f["key"]: f["value"] for f in model_card_view(notes, 365, "EUR")["facts"]}
    assert facts["Stopped tables"] == STOPPED
    said = page_banners(notes, "2026-01-01", 1.0)["stopped_tables"]  # `cvp profile`'s page reads them too
    assert said and said.startswith(STOPPED) and "a costly customer can read as good" in said
    assert page_banners(run_card_notes({"stopped_tables": []}), "2026-01-01", 1.0)["stopped_tables"] is None
    paths = _pages(notes, tmp_path / "site", 6, 2)
    pages = [paths.index, *paths.managers.values()]
    assert len(pages) >= 3
    for page in pages:
        assert f"Part of the data stopped: {STOPPED}." in _text(page), page


def test_a_run_with_a_stopped_table_is_kept_in_the_history_marked_and_read_by_no_later_stable_tier(
    history_runs, tmp_path
):
    """A run whose tickets export had stopped (its customers read without a ticket since: problem customers
    good) entered `--history` like any other, unmarked, and the next runs' stable tiers read its tiers (was,
    measured on the demo: the run as of 2026-01-01 with its tickets cut in June, then the whole data as of
    2026-01-14 with `tiers.stability: margin`: 2 great customers held good by it). Now, as a run of stale data
    is, it is kept and marked (run.json's `stopped_tables`, `cvp history`'s as-of), the stability rule of later
    runs skips it and their `history_notes` say so."""
    from pipelines.history import history_notes, run_history
    from pipelines.history_store import append_run, list_runs, tier_runs
    from tests.helpers import quiet, scores_manifest

    root, fixture_history = history_runs
    history = tmp_path / "history"
    shutil.copytree(fixture_history, history)
    last = root / "scores-2025-01-01.parquet"
    manifest = scores_manifest(last) | {"stopped_tables": [STOPPED]}
    from pipelines.outputs import output_paths

    # the last run again (its stable tiers read the same runs), told its tickets stopped: run.json records it
    append_run(history, pd.read_parquet(last), output_paths(last)["contributions"], manifest)
    run_file = json.loads((history / "as_of=2025-01-01" / "run.json").read_text())
    assert run_file["stopped_tables"] == [STOPPED]
    # the middle run's tickets stopped: the stable tiers of the run after it read the one before it
    middle = history / "as_of=2024-12-01" / "run.json"
    middle.write_text(json.dumps(json.loads(middle.read_text()) | {"stopped_tables": [STOPPED]}))
    runs = list_runs(history)
    assert [r.as_of for r in tier_runs(runs)] == ["2024-11-01"]
    notes = history_notes(history, "2025-02-01", None, "margin")
    assert any(
        "runs as of 2024-12-01, 2025-01-01 scored data with a table whose export stopped" in n for n in notes
    )
    assert history_notes(history, "2025-02-01", None, "none") == []
    console = quiet(width=200)
    run_history(history, console)
    out = console.file.getvalue()
    assert "2024-12-01 (stopped table)" in out and "2024-11-01 (" not in out
