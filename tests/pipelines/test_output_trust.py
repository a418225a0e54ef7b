"""Trust of what the product writes for people to open: spreadsheets (CSV formula injection) and report pages
(text that could reorder what a manager reads). Each test failed on the code before its fix."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from pipelines.io import write_frame


def _cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as f:
        return [cell for row in csv.reader(f) for cell in row]


def test_csv_outputs_neutralise_formulas_in_categories_and_headers(tmp_path):
    """The feature table (`cvp features --out x.csv`) holds the customers' segment, region and channel as pandas
    categories, and a header may be a data value: both reached the CSV as written (was: `=HYPERLINK(...)` in
    `profile_acquisition_channel` ran as a formula in a spreadsheet)."""
    frame = pd.DataFrame(
        {
            "profile_acquisition_channel": pd.Categorical(['=HYPERLINK("http://x")', "web", None]),
            "@SUM(A1)": [1.0, 2.0, 3.0],
        },
        index=pd.CategoricalIndex(["+1+1", "C2", "C3"], name="customer_id"),
    )
    path = write_frame(frame, tmp_path / "f.csv", index=True)
    risky = [c for c in _cells(path) if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert risky == []
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert back["profile_acquisition_channel"].tolist() == ['\'=HYPERLINK("http://x")', "web", ""]
    assert back["customer_id"].tolist() == ["'+1+1", "C2", "C3"]
    assert list(back.columns) == ["customer_id", "profile_acquisition_channel", "'@SUM(A1)"]
    assert isinstance(frame["profile_acquisition_channel"].dtype, pd.CategoricalDtype)  # input untouched


def test_report_pages_drop_bidi_controls_that_reorder_what_follows():
    """A customer or manager name ending in a right-to-left override (U+202E) showed everything after it on the
    line reversed: the waterfall title `C0001 · name — $1,234` read `432,1$ — ` (was: written into the pages as
    given). The environment every page is rendered with (team, manager and profile pages) drops bidi embeddings,
    overrides and isolates from each `{{ }}`, escapes as before, and leaves the code's own markup alone."""
    from markupsafe import Markup

    from pipelines.reports.pages import _environment

    page = _environment().from_string(
        '<h3>{{ id }} · {{ name }} — {{ value }}</h3><a title="{{ name }}">{{ manager }}</a>{{ chart }}'
    )
    html = page.render(
        id="C0001",
        name="Smith\u202eevil<b>\u2066x\u202a",
        value="$1,234",
        manager="Ann\u2067",
        chart=Markup('<svg><text direction="rtl">a</text></svg>'),
    )
    assert html == (
        '<h3>C0001 · Smithevil&lt;b&gt;x — $1,234</h3><a title="Smithevil&lt;b&gt;x">Ann</a>'
        '<svg><text direction="rtl">a</text></svg>'
    )
