"""End to end: `cvp generate` then `cvp validate` on the demo company, clean and corrupted."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("company")
    res = runner.invoke(
        app, ["generate", "--customers", "2000", "--seed", "7", "--out", str(out), "--format", "csv"]
    )
    assert res.exit_code == 0, res.output
    return out


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for p in src.glob("*.csv"):
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def test_validate_clean_company_exits_zero_and_prints_counts(company, tmp_path):
    res = runner.invoke(app, ["validate", "--data", str(company), "--rejects", str(tmp_path / "rej")])
    assert res.exit_code == 0, res.output
    n_orders = len(pd.read_csv(company / "orders.csv", dtype=str))
    assert f"{n_orders:,}" in res.output
    for table in ("orders", "returns", "tickets", "invoices", "referrals", "customers", "account_managers"):
        assert table in res.output
    assert "no rejected rows" in res.output
    assert (company / "_truth").is_dir()  # the latent truth sits apart; `_truth` is not a contract table name
    assert not any((tmp_path / "rej").glob("*.csv"))


def test_missing_customer_id_column_is_structural(company, tmp_path):
    data = _copy(company, tmp_path / "data")
    orders = pd.read_csv(data / "orders.csv", dtype=str, keep_default_na=False)
    orders.drop(columns=["customer_id"]).to_csv(data / "orders.csv", index=False)
    res = runner.invoke(app, ["validate", "--data", str(data)])
    assert res.exit_code != 0
    assert "orders" in res.output and "customer_id" in res.output


def test_ten_corrupted_dates_become_exactly_ten_rejects(company, tmp_path):
    data = _copy(company, tmp_path / "data")
    orders = pd.read_csv(data / "orders.csv", dtype=str, keep_default_na=False)
    rows = list(range(5, 105, 10))
    orders.loc[rows, "ordered_at"] = [
        "2021-02-30",
        "yesterday",
        "31/31/2021",
        "2021-13-01",
        "0000-00-00",
        "not a date",
        "2021-1x-01",
        "??",
        "1850-06-15",
        "2024-02-30 25:61",
    ]
    orders.to_csv(data / "orders.csv", index=False)
    res = runner.invoke(app, ["validate", "--data", str(data), "--rejects", str(tmp_path / "rej")])
    assert res.exit_code == 0, res.output
    rej = pd.read_csv(tmp_path / "rej" / "orders.csv", dtype=str, keep_default_na=False)
    assert sorted(rej["source_row"].astype(int)) == rows
    from features.placeholder_dates import ZERO_DATE_REASON

    assert set(rej["reason"]) <= {
        "unparseable ordered_at",
        "impossible date in ordered_at",
        "ambiguous or unknown date format in ordered_at",
        ZERO_DATE_REASON.format("ordered_at"),  # MySQL's 0000-00-00 (round 22; was 'unparseable')
    }
    assert (rej["order_id"].tolist()) == orders.loc[rows, "order_id"].tolist()
    assert "10 rejected rows" in res.output.replace(",", "")


def test_fingerprint_follows_content_not_layout():
    import numpy as np

    from pipelines.fingerprint import frame_fingerprint

    df = pd.DataFrame(
        {
            "a": pd.array(["x", "yy", None, "zzz"], dtype="str"),
            "b": [1.0, np.nan, 3.0, 4.0],
            "t": pd.to_datetime(["2020-01-01", "2021-01-01", None, "2022-01-01"]),
            "f": pd.array([True, None, False, True], dtype="boolean"),
        }
    )
    same = pd.concat([df.iloc[:1], df.iloc[1:]]).reset_index(drop=True)  # other chunks, same content
    assert frame_fingerprint(df) == frame_fingerprint(same) == frame_fingerprint(df.copy())
    assert frame_fingerprint(df.iloc[1:].reset_index(drop=True))["rows"] == 3
    # the same digest from row batches (the Spark driver streams a table, issue 11), empty batches included
    import tempfile

    from pipelines.fingerprint import BatchFingerprint

    for cuts in ([], [0, 2, 2], [1, 3], [4]):
        with tempfile.TemporaryDirectory() as spool:
            streamed = BatchFingerprint(df.iloc[:0], spool)
            for lo, hi in zip([0, *cuts], [*cuts, len(df)], strict=True):
                streamed.add(df.iloc[lo:hi])
            assert streamed.fingerprint() == frame_fingerprint(df), cuts
    for col, value in (("a", "q"), ("b", 2.0), ("f", False)):
        changed = df.copy()
        changed.loc[1, col] = value
        assert frame_fingerprint(changed) != frame_fingerprint(df), col
