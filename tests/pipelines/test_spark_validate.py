"""`cvp validate --engine spark` (issue 11, `pipelines/engines/spark_validate.py`): the command a company runs first on
a new export, on Spark, says what the pandas engine's `cvp validate` says. Tiny hand-written CSV tables; two Spark
runs in all, in the session's `spark` fixture (CVP_SKIP_SPARK=1 skips them); the refusals before Spark need none."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import cvp, two_orders_a_day
from tests.pipelines.spark_input_cases import _reject_files


def _write_export(data: Path, negative_orders: int = 0) -> None:
    """Two orders a day over 2022-2023 and a ticket a day through 2022 only (an export that stopped: the warning of
    `jobs.say_export_stops`), with a few bad rows: an unparseable revenue, an undated order, an order id twice, a
    ticket's effort that is no number. `negative_orders`: that many orders with a negative revenue, from 1% of the
    orders a structural stop (refunds as negative orders?) judged on the summed masks."""
    orders, tickets = two_orders_a_day(tickets_until="2022-12-31")
    orders.loc[5, "revenue"] = "abc"
    orders.loc[9, "ordered_at"] = "not a date"
    orders.loc[13, "order_id"] = orders.loc[12, "order_id"]
    orders.loc[100 : 99 + negative_orders, "revenue"] = "-25.00"
    tickets.loc[7, "effort_minutes"] = "half an hour"
    customers = pd.DataFrame({"customer_id": [f"C{i}" for i in range(40)], "segment": "SMB"})
    data.mkdir(parents=True, exist_ok=True)
    for name, frame in {"orders": orders, "tickets": tickets, "customers": customers}.items():
        frame.to_csv(data / f"{name}.csv", index=False)


def _contents(folder: Path) -> dict[str, str]:
    """Every file under `folder` (the parts, the marker, Spark's checksums) by its path there: its bytes' hash."""
    import hashlib

    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _said(res) -> str:
    """What a command printed, its console's wrapping undone."""
    return " ".join(res.output.split())


@pytest.mark.spark
def test_validate_on_spark_says_what_the_pandas_engine_says(spark, tmp_path):
    """The tickets from a catalog view (`--tables`), the other tables from `--data`, against the pandas engine on
    the same tables as files; then a stop."""
    data = tmp_path / "data"
    _write_export(data)
    rest = tmp_path / "rest"
    rest.mkdir()
    for name in ("orders", "customers"):
        (rest / f"{name}.csv").write_bytes((data / f"{name}.csv").read_bytes())
    view = f"cvp_tickets_{tmp_path.name}".replace("-", "_")
    spark.read.options(header=True, multiLine=True, escape='"').csv(
        str(data / "tickets.csv")
    ).createOrReplaceTempView(view)
    pandas = cvp("validate", "--data", data, "--rejects", tmp_path / "rj-pd")
    try:
        on_spark = cvp(
            "validate", "--data", rest, "--tables", f"tickets={view}", "--rejects", tmp_path / "rj-sp",
            "--engine", "spark",
        )  # fmt: skip
    finally:
        spark.catalog.dropTempView(view)
    assert pandas.exit_code == on_spark.exit_code == 0, on_spark.output
    said = _said(pandas)
    # the same counts table, notes and warnings; only where the rejects went is said in each engine's layout
    assert "warning: tickets.opened_at ends on 2022-12-31" in said  # `jobs.say_export_stops`, judged on Spark
    assert "4 rows rejected" in said or "4 rejected rows" in said, said
    assert _said(on_spark).replace("rj-sp/ (orders/, tickets/)", "rj-pd/ (orders.csv, tickets.csv)") == said
    # the same rows and reasons in the rejects, written by the executors as `<table>/` parts, marked as a set
    for name in ("orders", "tickets"):
        expected = pd.read_csv(tmp_path / "rj-pd" / f"{name}.csv", dtype=str, keep_default_na=False)
        got = _reject_files(tmp_path / "rj-sp" / name).fillna("")
        pd.testing.assert_frame_equal(got, expected.sort_values("source_row", key=lambda s: s.astype(int)))
    assert (tmp_path / "rj-sp" / ".cvp-rejects").is_file()
    assert sorted(p.name for p in (tmp_path / "rj-sp").iterdir()) == [".cvp-rejects", "orders", "tickets"]

    # a stop-worthy input (40 orders of negative revenue: refunds as orders?): exit 2 with the pandas message,
    # and the rejects of the run before left whole (the set is swapped in only when the load goes through)
    before = {name: _contents(tmp_path / name) for name in ("rj-pd", "rj-sp")}
    _write_export(data, negative_orders=40)
    pandas = cvp("validate", "--data", data, "--rejects", tmp_path / "rj-pd")
    on_spark = cvp("validate", "--data", data, "--rejects", tmp_path / "rj-sp", "--engine", "spark")
    assert pandas.exit_code == on_spark.exit_code == 2, on_spark.output
    assert "column 'revenue': negative on 40 of" in _said(pandas)
    assert _said(on_spark) == _said(pandas)
    assert "Traceback" not in on_spark.output
    assert {name: _contents(tmp_path / name) for name in ("rj-pd", "rj-sp")} == before  # each file's content
    assert {Path(f).parts[0] for f in before["rj-sp"]} == {".cvp-rejects", "orders", "tickets"}


def test_validate_refuses_an_unknown_engine_and_catalog_tables_without_spark(tmp_path):
    """Before any data is read or a JVM started: the flags score refuses, refused alike."""
    data = tmp_path / "data"
    data.mkdir()
    res = cvp("validate", "--data", data, "--engine", "dask")
    assert res.exit_code == 2 and "--engine must be pandas or spark, not 'dask'" in _said(res)
    res = cvp("validate", "--data", data, "--tables", "orders=db.orders")
    assert res.exit_code == 2 and "only the Spark engine reads: add --engine spark" in _said(res)
    res = cvp("validate", "--engine", "spark", "--tables", "customers=db.c")
    assert res.exit_code == 2 and "--tables names no orders table and no --data is given" in _said(res)


def test_validate_on_spark_with_a_mapping_loads_as_score_does_on_the_driver(tmp_path):
    """`--engine spark --mapping`: the foreign schema mapped and validated by the pandas loader, as `cvp score
    --engine spark --mapping` loads it (train and backtest refuse the pair); the same counts and rejects as without
    `--engine spark` (a mapping's rows never reach Spark)."""
    data = tmp_path / "data"
    data.mkdir()
    lines = pd.DataFrame(
        {
            "InvoiceNo": ["1", "2", "3", "4"],
            "CustomerID": ["a", "b", "a", "c"],
            "InvoiceDate": ["2023-01-02", "2023-01-03", "not a date", "2023-01-05"],
            "Amount": ["5", "2", "3", "1"],
        }
    )
    lines.to_csv(data / "lines.csv", index=False)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "sources:\n  lines: {file: lines.csv}\ntables:\n  orders:\n    source: lines\n    columns:\n"
        "      order_id: InvoiceNo\n      customer_id: CustomerID\n      ordered_at: InvoiceDate\n"
        "      revenue: Amount\n",
        encoding="utf-8",
    )
    pandas = cvp("validate", "--data", data, "--mapping", mapping, "--rejects", tmp_path / "rj-pd")
    on_spark = cvp(
        "validate", "--data", data, "--mapping", mapping, "--rejects", tmp_path / "rj-sp", "--engine", "spark"
    )
    assert pandas.exit_code == on_spark.exit_code == 0, on_spark.output
    assert "1 rejected rows written to" in _said(pandas) or "1 rejected row" in _said(pandas), _said(pandas)
    assert _said(on_spark).replace("rj-sp", "rj-pd") == _said(pandas)
    assert (tmp_path / "rj-sp" / "orders.csv").read_text() == (tmp_path / "rj-pd" / "orders.csv").read_text()
