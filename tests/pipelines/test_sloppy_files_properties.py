"""Property tests: sloppy CSV files (encodings, BOMs, separators, date and number formats, odd ids, corrupt cells,
quoted newlines) through `cvp validate` and `cvp features`: exit 0 or 2, never a traceback, rows in = accepted +
rejected, and no accepted value changed."""

from __future__ import annotations

import csv
import io
import math
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from features.validation import StructuralError
from pipelines.cli import app
from pipelines.io import load_data

runner = CliRunner()

# (text, the timestamp it means or None when it must be rejected)
_T = pd.Timestamp("2023-03-05 14:30:00")
DATES = [
    ("2023-03-05 14:30:00", _T),
    ("2023-03-05T14:30:00", _T),
    ("2023-03-05T16:30:00+02:00", _T),
    ("2023-03-05 16:30+0200", _T),
    ("2023-03-05 16:30+02", _T),
    ("2023-03-05T14:30:00Z", _T),
    ("2023-03-05 15:30 Europe/Paris", _T),
    ("05/03/2023", None),
    ("03/05/2023", None),
    ("05-03-2023", None),
    ("Mar 5 2023", None),
    ("2023-03-05 14:30 CET", None),
    ("2023-03-05 14:30Z UTC", None),
    ("2023-02-30", None),
    ("", None),
    ("[bold]x[/]", None),
]
NUMBERS = [
    "10",
    "10.5",
    " 7 ",
    "0",
    "1e3",
    "inf",
    "-Infinity",
    "nan",
    "1e300",
    "-5",
    "ten",
    "",
    "=1+1",
    "1,5",
]
ID_CHARS = st.text(alphabet="0123456789abcXYZ-_", min_size=1, max_size=6)


@st.composite
def sloppy_orders(draw):
    n = draw(st.integers(1, 8))
    ids = draw(st.lists(ID_CHARS, min_size=n, max_size=n, unique=True))
    rows = []
    for i in range(n):
        date_text, meaning = draw(st.sampled_from(DATES))
        revenue = draw(st.sampled_from(NUMBERS))
        customer = draw(st.sampled_from(["007", "0007", "42", "x-1", "=cmd|' /C calc'!A0", ""]))
        channel = draw(st.sampled_from(["web", "shop, east", 'say "hi"', "two\nlines", "café", "@here", ""]))
        rows.append(
            {
                "order_id": "0" + ids[i],
                "customer_id": customer,
                "ordered_at": date_text,
                "revenue": revenue,
                "channel": channel,
                "_meaning": meaning,
            }
        )
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    sep = draw(st.sampled_from([",", ",", ",", ";", "\t"]))
    return rows, encoding, sep


def _write(rows, encoding, sep, path: Path) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(
        buf,
        fieldnames=["order_id", "customer_id", "ordered_at", "revenue", "channel"],
        delimiter=sep,
        extrasaction="ignore",
        lineterminator="\n",
    )
    w.writeheader()
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding, errors="replace"))


def _check_values(rows, data: Path) -> None:
    """rows in = accepted + rejected, and every accepted value is exactly what the file meant."""
    try:
        loaded = load_data(data)
    except StructuralError:
        return
    rep = loaded.result.report["orders"]
    assert rep.rows_in == len(rows) == rep.accepted + rep.rejected
    rejected = set(loaded.result.rejects["orders"]["source_row"])
    kept = [r for i, r in enumerate(rows) if i not in rejected]
    t = loaded.tables["orders"]
    assert len(t) == len(kept)
    # the accepted rows come back in the canonical order (`features.row_order`: time, then order id), each with
    # its position among the accepted rows of the file as index
    assert sorted(t.index) == list(range(len(kept)))
    for position, got in t.iterrows():
        want = kept[position]
        assert got["order_id"] == want["order_id"]  # ids identical as text, leading zeros kept
        assert got["customer_id"] == want["customer_id"].strip()
        assert want["_meaning"] is not None, f"{want['ordered_at']!r} must not be accepted"
        assert got["ordered_at"] == want["_meaning"]
        expected = float(want["revenue"])
        assert math.isfinite(expected) and got["revenue"] == expected


def _no_traceback(res) -> None:
    assert res.exit_code in (0, 2), (res.exit_code, res.output, res.exception)
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def _order(order_id: str) -> dict:
    when = "2023-03-05 14:30:00"
    return {
        "order_id": order_id,
        "customer_id": "007",
        "ordered_at": when,
        "revenue": "10",
        "channel": "web",
    } | {"_meaning": pd.Timestamp(when)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sloppy_orders())
@example(([_order("02"), _order("01")], "utf-8", ","))  # found on main: the file's order is not the table's
def test_validate_never_tracebacks_and_accepts_only_exact_values(case):
    rows, encoding, sep = case
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        _write(rows, encoding, sep, data / "orders.csv")
        res = runner.invoke(app, ["validate", "--data", str(data), "--rejects", str(Path(tmp) / "rej")])
        _no_traceback(res)
        if encoding == "utf-16" or sep != ",":
            assert res.exit_code == 2  # refused with a message, never misread
        _check_values(rows, data)
        rej = Path(tmp) / "rej" / "orders.csv"
        if res.exit_code == 0 and rej.exists():
            back = pd.read_csv(rej, dtype=str, keep_default_na=False)
            for _, r in back.iterrows():  # rejected ids as written (formula-looking text gets a leading ')
                assert r["order_id"] == rows[int(r["source_row"])]["order_id"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sloppy_orders())
def test_features_never_tracebacks(case):
    rows, encoding, sep = case
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        _write(rows, encoding, sep, data / "orders.csv")
        out = Path(tmp) / "f.parquet"
        res = runner.invoke(
            app, ["features", "--data", str(data), "--as-of", "2023-06-01", "--out", str(out)]
        )
        _no_traceback(res)
        if res.exit_code == 0:
            table = pd.read_parquet(out)
            assert set(table.index) <= {r["customer_id"].strip() for r in rows}
