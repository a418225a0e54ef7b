"""Trust of what the product writes for people to open: spreadsheets (CSV formula injection) and report pages
(text that could reorder what a manager reads). Each test failed on the code before its fix."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

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


def test_the_same_data_in_another_row_order_scores_bit_for_bit_alike(trained, default_scores, tmp_path):
    """An export of the same data with its rows in another order (a database without ORDER BY, a re-sorted
    spreadsheet) must give the same scores: the accepted tables are put in one content-decided order before any
    feature is built. Was: features summed in file order moved in their last bits (profit_net_365d 100.94 vs
    100.94000000000005 on the demo), enough to turn a reason's "4,752 EUR" into "4,751 EUR", and the manifest's
    content fingerprints differed."""
    from tests.helpers import scores_manifest
    from tests.pipelines.score_helpers import score_trained

    data = tmp_path / "data"
    data.mkdir()
    for k, path in enumerate(sorted(trained.data.glob("*.parquet"))):
        frame = pd.read_parquet(path)
        frame.sample(frac=1.0, random_state=k).to_parquet(data / path.name, index=False)
    out = tmp_path / "s" / "scores.parquet"
    score_trained(trained, out, data=data)

    def read(path: Path, suffix: str) -> pd.DataFrame:
        frame = pd.read_parquet(path.with_name(path.stem + suffix)).drop(columns=["run_id"], errors="ignore")
        return frame.sort_values("customer_id").reset_index(drop=True)

    for suffix in (".parquet", ".contributions.parquet", ".churn_contributions.parquet"):
        pd.testing.assert_frame_equal(read(out, suffix), read(default_scores.out, suffix), check_exact=True)

    assert scores_manifest(out)["data_fingerprint"] == scores_manifest(default_scores.out)["data_fingerprint"]


ORDERS_CSV = "order_id,customer_id,ordered_at,revenue\nO1,C1,2024-01-02,10\nO2,C2,2024-01-03,20\n"
PII = "ZQ-secret"


def _customers(header: str, extra: str = "") -> str:
    rows = [f"C{i},2023-01-01,{PII}-name-{i},{PII}-{i}@example.com,+1-555-{PII}-{i}" for i in (1, 2)]
    return f"{header}\n" + "\n".join(rows[:1] + [rows[1] + extra]) + "\n"


def test_error_messages_do_not_print_customers_personal_columns(tmp_path):
    """A structural error shows example rows so the user can find them; for a customers file they held the first
    five customers' names, emails and phones, printed to the terminal and into batch logs (was: `First rows:` with
    every column; a ragged line shown whole). Only the contract's non-personal columns are shown now, a line is cut
    before the first other column."""
    from features.validation import StructuralError
    from pipelines.io import load_data

    cases = {
        "renamed": _customers(
            "Customer ID,signup_at,name,email,phone"
        ),  # a contract column written otherwise
        "missing": _customers("client,signup_at,Name,E-mail,phone"),  # customer_id missing
        "ragged": _customers("customer_id,signup_at,name,email,phone", extra=",x"),
    }
    for case, text in cases.items():
        data = tmp_path / case
        data.mkdir()
        (data / "orders.csv").write_text(ORDERS_CSV)
        (data / "customers.csv").write_text(text)
        with pytest.raises(StructuralError) as err:
            load_data(data)
        message = str(err.value)
        if case != "missing":  # the rows are still shown (`client`, outside the contract, is not)
            assert "C1" in message or "C2" in message, (case, message)
        assert PII not in message, (case, message)
    data = tmp_path / "parquet"  # a personal column of a type it cannot have: its values were the examples
    data.mkdir()
    (data / "orders.csv").write_text(ORDERS_CSV)
    pd.DataFrame({"customer_id": ["C1"], "name": [[f"{PII}-name"]]}).to_parquet(data / "customers.parquet")
    with pytest.raises(StructuralError, match="column 'name' holds") as err:
        load_data(data)
    assert PII not in str(err.value)
