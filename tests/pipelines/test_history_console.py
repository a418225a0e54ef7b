"""`cvp history` in a terminal of 80 columns: every tier and status count whole, on the run's line."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

import pipelines.history as history
from pipelines.history_store import HistoryRun


def test_the_history_table_fits_80_columns_with_every_count_whole(monkeypatch) -> None:
    # was: one "statuses" column wrapped a word a line and cut ("cancell…") beside the tiers
    statuses = {"scored": 12_377, "cancelled": 1_036, "lapsed": 2_087, "new": 110, "no_orders_yet": 9}
    runs = [
        HistoryRun(
            as_of,
            "run",
            "12",
            365,
            {"great": 1_071, "good": 5_152, "problem": 6_154},
            statuses,
            "margin",
            Path(),
        )
        for as_of in ("2025-12-01", "2026-01-01")
    ]
    monkeypatch.setattr(history, "list_runs", lambda path: runs)
    console = Console(file=io.StringIO(), width=80, color_system=None)
    assert history.run_history(Path("hist"), console) == runs
    text = console.file.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    for as_of in ("2025-12-01", "2026-01-01"):
        lines = [line for line in text.splitlines() if as_of in line]
        assert len(lines) == 2, lines  # one line in each table
        words = " ".join(lines).split()
        for count in ("1,071", "5,152", "6,154", "12,377", "1,036", "2,087", "110", "9"):
            assert count in words, (as_of, count)
    assert "no orders yet" in text and "cancelled" in text
