"""`cvp generate` says what it wrote: the customers asked for and the recent sign-ups beside them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from pipelines.cli import app


def test_generate_counts_the_recent_signups_it_adds(tmp_path: Path) -> None:
    # was "demo company of 500 customers" above "customers 510 rows": the 10 sign-ups without an order unsaid
    res = CliRunner().invoke(app, ["generate", "--customers", "300", "--out", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    rows = len(pd.read_parquet(tmp_path / "d" / "customers.parquet"))
    assert rows > 300
    said = " ".join(res.output.split())
    assert f"demo company of 300 customers and {rows - 300} recent sign-ups without an order yet" in said
