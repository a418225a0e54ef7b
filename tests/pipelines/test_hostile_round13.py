"""Hostile input classes closed in the thirteenth hunt. Tiny hand-written tables; no training, no model."""

from __future__ import annotations

import stat
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from pipelines.cli import app

PLANTED = "Ann Smith <ann.smith@example.com>"


def _orders(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(n)],
            "customer_id": [f"C{i}" for i in range(n)],
            "ordered_at": [f"2023-01-{i % 28 + 1:02d}" for i in range(n)],
            "revenue": ["12.5"] * n,
        }
    )


def _data(tmp_path: Path, **tables: pd.DataFrame) -> Path:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(data / f"{name}.csv", index=False)
    return data


def test_an_unexpected_error_quoting_a_cell_shows_the_place_not_the_value(tmp_path, monkeypatch):
    """An unexpected error inside the validation whose message quotes a cell (pandas' `could not convert string
    to float: 'ann.smith@example.com'`): was printed as the error's first line, into terminals and batch logs.
    Now the line names the command, table, column and code line; the message is in the log, readable by the user
    only, which says it may hold data; `--verbose` says so before its traceback."""
    import features.validation as validation

    parse = validation._parse_column

    def fails_on_revenue(col, s, *args):
        if col.name == "revenue":
            raise ValueError(f"could not convert string to float: {s.iloc[0]!r}")
        return parse(col, s, *args)

    monkeypatch.setattr(validation, "_parse_column", fails_on_revenue)
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    monkeypatch.delenv("CVP_DEBUG", raising=False)
    data = _data(tmp_path, orders=_orders(3).assign(revenue=[PLANTED, "1", "2"]))
    res = CliRunner().invoke(app, ["validate", "--data", str(data)])
    assert res.exit_code == 1, res.output
    assert PLANTED not in res.output and "ann.smith" not in res.output
    assert (
        "unexpected ValueError: in cvp validate, table 'orders', column 'revenue', at features/" in res.output
    )
    assert "may quote values of your data" in res.output
    (log,) = (tmp_path / "cvp").glob("error-*.log")
    assert PLANTED in log.read_text() and "may quote values of your data" in log.read_text()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    res = CliRunner().invoke(app, ["--verbose", "validate", "--data", str(data)])
    assert isinstance(res.exception, ValueError) and "the traceback below: it may quote" in res.output
