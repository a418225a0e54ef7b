"""The input of the Spark engine read and validated by Spark (issue 11): the same accepted rows, reasons, counts,
rejects and structural messages as the pandas loader, on tiny hand-written tables.

One local[2] session for every Spark test (the `spark` fixture of conftest.py). Without pyspark or Java these tests FAIL; CVP_SKIP_SPARK=1 skips them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.validation import StructuralError
from pipelines.config import load_config
from pipelines.io import load_data

CFG = load_config(None)
#: At most this many py4j calls for the first test's load (~3,100 measured; 4,606 with a `Column` per column
#: selected, not `spark_checks.projection`; 7,610 with PySpark's DataFrame debugging on, `spark_session` turns off)
CALLS_WITHOUT_DEBUGGING = 3_600

ORDERS = pd.DataFrame(
    {
        "order_id": ["O1", "O2", "O3", "O4", "O5", "O2", "O7", "O8", "O9", "O10"],
        "customer_id": ["C1", "C1", "C2", "C3", "nobody", "C2", "C2", "C9", "C1", "C4"],
        "ordered_at": ["2024-01-05", "2024-02-01", "2024-02-03", "2024-03-01", "2024-03-02", "2024-03-05",
                       "not a date", "2024-04-01", "2024-04-02", "2024-04-03"],
        "revenue": ["10", "20.5", "abc", "-5", "7", "8", "9", "11", "=1+2", "12"],
    }
)  # fmt: skip
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["C1", "C2", "C3", "C2", "C9", "C4"],
        "account_manager_id": ["AM1", "AM1", "AM2", "AM1", "AM-x", ""],
    }
)
MANAGERS = pd.DataFrame({"account_manager_id": ["AM1", "AM2", "AM2"], "name": ["Ann", "Bob", "Bob again"]})
REFERRALS = pd.DataFrame(
    {
        "referrer_id": ["C1", "C3", "C3", "C1"],
        "referred_id": ["C2", "C2", "C9", "C3"],
        "referred_at": ["2024-02-01", "2024-02-01", "2024-03-01", "2024-03-01"],
    }
)


def _write(root: Path, **tables: pd.DataFrame) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(root / f"{name}.csv", index=False)
    return root


def _reject_files(path: Path) -> pd.DataFrame:
    parts = sorted(path.glob("part-*.csv"))
    assert parts, f"no CSV parts in {path}"
    frame = pd.concat(
        [pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""]) for p in parts], ignore_index=True
    )
    return frame.sort_values("source_row", key=lambda s: s.astype(int)).reset_index(drop=True)


def _assert_driver_tables(got, expected) -> None:
    """A Spark load's driver tables are the pandas loader's in the columns the driver keeps (`driver_view`: of
    the returns and invoices only the distinct customer ids), and their fingerprint is that of the pandas
    loader's whole tables (issue 11)."""
    from pipelines.engines.spark_tables import driver_view
    from pipelines.fingerprint import data_fingerprint

    assert got.tables.fingerprint == data_fingerprint(expected.tables)
    ids = (
        "customers" not in expected.tables
    )  # then the orders keep their ids (the case-twin stop counts them)
    for name, table in expected.tables.items():
        pd.testing.assert_frame_equal(got.tables[name], driver_view(name, table, ids), check_exact=True)


@pytest.mark.spark
def test_spark_validation_gives_the_pandas_rows_reasons_counts_and_rejects(spark, tmp_path, monkeypatch):
    from pyspark.sql.classic.dataframe import DataFrame

    from pipelines.engines.spark_input import load_spark

    data = _write(
        tmp_path / "data", orders=ORDERS, customers=CUSTOMERS, account_managers=MANAGERS, referrals=REFERRALS
    )
    import pyarrow as pa
    from py4j.java_gateway import GatewayClient

    from pipelines.engines.spark_session import spark_jobs

    collected: list[list[str]] = []  # the columns of every frame the driver collects, or batch it streams
    to_pandas, local = DataFrame.toPandas, DataFrame.toLocalIterator

    def spy(frame: DataFrame):
        got = to_pandas(frame)
        collected.append(list(got.columns))
        return got

    def streamed(frame: DataFrame, *args, **kwargs):
        for row in local(frame, *args, **kwargs):
            collected.append(pa.ipc.open_stream(pa.py_buffer(row["ipc"])).schema.names)
            yield row

    calls = []  # the driver's py4j round trips to the JVM
    send = GatewayClient.send_command
    monkeypatch.setattr(DataFrame, "toPandas", spy)
    monkeypatch.setattr(DataFrame, "toLocalIterator", streamed)
    monkeypatch.setattr(GatewayClient, "send_command", lambda *a, **k: calls.append(1) or send(*a, **k))
    expected = load_data(data)
    before = spark_jobs(spark)
    got, written = load_spark(spark, data, CFG, tmp_path / "rejects")
    monkeypatch.setattr(GatewayClient, "send_command", send)
    # one shuffle by customer bucket, not a job per check: the counts, the accepted rows (one stream per table)
    # and 4 reject directories (38 before: a header read per CSV, a window and a join per check; 7 with a job for
    # the managers' ids; 6 when the accepted rows of every table came in one collect of the wide union)
    assert spark_jobs(spark) - before <= 9
    # PySpark's DataFrame debugging off (`spark_session`): it sent ~11 calls per Column call to record its Python
    # call site, 0.5-1 ms each under load, the driver waiting on every one
    assert len(calls) <= CALLS_WITHOUT_DEBUGGING, len(calls)
    # issue 11: the driver receives each table's accepted rows with that table's columns only (one batch each
    # here), never the union as wide as every table's columns together (every other table's columns null)
    accepted = [{c.split("|")[0] for c in cols if "|val:" in c} for cols in collected]
    assert [t for t in accepted if t] == [{name} for name in expected.result.tables]
    # every kind of check fired: parsing, row rules, duplicate keys, unknown manager, unknown customers
    reasons = {r for rep in expected.result.report.values() for r in rep.rejected_by_reason}
    assert {"unparseable revenue", "negative revenue", "duplicate order_id", "unknown customer_id",
            "unknown account_manager_id", "duplicate customer_id", "unknown referred_id",
            "duplicate referred_id", "duplicate account_manager_id"} <= reasons  # fmt: skip
    assert got.result.report == expected.result.report  # rows in, accepted, by reason, ignored columns
    _assert_driver_tables(got, expected)
    assert sorted(Path(p).name for p in written) == sorted(
        n for n, f in expected.result.rejects.items() if len(f)
    )
    for name, frame in expected.result.rejects.items():
        if not len(frame):
            assert not (tmp_path / "rejects" / name).exists()
            continue
        files = _reject_files(tmp_path / "rejects" / name)
        assert list(files.columns) == list(frame.columns)
        assert files["source_row"].astype(int).tolist() == frame["source_row"].tolist()
        assert files["reason"].tolist() == frame["reason"].tolist()
    orders = _reject_files(tmp_path / "rejects" / "orders")
    assert orders.loc[orders["order_id"] == "O9", "revenue"].tolist() == ["'=1+2"]  # no spreadsheet formula


@pytest.mark.spark
def test_local_parquet_tables_are_read_without_a_schema_job_each(spark, tmp_path, monkeypatch):
    """The footers of local Parquet files are read on the driver and given to Spark as the schema (Spark's own
    inference is one job per table): the whole validation is then the counts and the accepted rows, 2 jobs, and
    its tables and reports equal the pandas loader's (nanosecond and tz-aware timestamps, numbers, booleans)."""
    from pipelines.engines.spark_input import load_spark
    from pipelines.engines.spark_session import spark_jobs

    data = tmp_path / "data"
    data.mkdir()
    orders = ORDERS.iloc[[0, 1, 2, 3, 9]].assign(
        ordered_at=lambda t: pd.to_datetime(t["ordered_at"]).astype("datetime64[ns]"),
        revenue=[10.0, 20.5, 3.0, -5.0, 12.0],
        promo=[True, False, None, True, False],
        channel=[
            "web",
            "shop",
            None,
            "web",
            "web",
        ],  # read by the features only: not kept by the Spark driver
    )
    orders.to_parquet(data / "orders.parquet", index=False)
    customers = CUSTOMERS.iloc[[0, 1, 2, 5]].assign(
        name=["Ann", "Bo", None, "Di"],  # personal: read, fingerprinted, not kept by the Spark driver
        signup_at=pd.to_datetime(["2023-01-01"] * 4)
        .tz_localize("Europe/Berlin")
        .astype("datetime64[ms, Europe/Berlin]"),
    )
    customers.to_parquet(data / "customers.parquet", index=False)
    expected = load_data(data)
    before = spark_jobs(spark)
    got, _ = load_spark(spark, data, CFG)
    # the counts and the accepted rows of each of the 2 tables (4 before this: one more per Parquet table to infer
    # its schema)
    assert spark_jobs(spark) - before == 3
    assert got.result.report == expected.result.report
    assert expected.result.report["orders"].rejected == 1  # the negative revenue
    # issue 11: the tables stream to the driver, which keeps only the columns its steps read (not a customer's
    # name, nor orders' channel) but measured whole as they passed: the pandas tables' fingerprint and model inputs
    from features.contract import amount_scale
    from features.model_inputs import model_inputs
    from pipelines.engines.scoring import drop_unread_columns
    from pipelines.engines.spark_tables import driver_view
    from pipelines.fingerprint import data_fingerprint

    assert got.tables.fingerprint == data_fingerprint(expected.result.tables)
    assert got.tables.model_inputs == model_inputs(expected.result.tables)
    # the typical amounts (`check_amount_scale`) measured whole as they passed: the driver keeps no invoice amount
    assert got.tables.amount_scale == amount_scale(expected.result.tables)
    assert "orders.revenue" in got.tables.amount_scale and "amount" not in got.tables.get("invoices", ())
    assert got.tables.collected["tables_mb"] > 0 < got.tables.collected["tables_held_mb"]
    unread = dict(expected.result.tables)
    drop_unread_columns(unread)
    for name, table in unread.items():  # what the features are judged from: every column a scoring step reads
        pd.testing.assert_frame_equal(got.tables.empty[name], table.iloc[:0].reset_index(drop=True))
    narrowed = {name: driver_view(name, t) for name, t in expected.result.tables.items()}
    assert "name" in expected.result.tables["customers"] and "name" not in got.tables["customers"]
    assert "channel" in expected.result.tables["orders"] and "channel" not in got.tables["orders"]
    _assert_driver_tables(got, expected)
    # tables read with pandas (`--mapping`, API callers) reach the scoring backend through `pandas_union`, the
    # same frame as a Spark load's accepted rows: the validated tables come back out of it unchanged (a job each;
    # the in-process scoring run that covered it is gone, the engine's output is checked on the cluster's run),
    # also when they are out of the canonical order (here by `order_id`: the stream sorts them, the index follows)
    # and range-partitioned for the stream (a partition per 2 rows here, per million in a run)
    from pipelines.engines import spark_tables
    from pipelines.engines.spark_buckets import pandas_union
    from pipelines.engines.spark_tables import accepted_tables

    monkeypatch.setattr(spark_tables, "STREAM_ROWS", 2)

    tables = expected.result.tables
    shuffled = {**tables, "orders": tables["orders"].iloc[::-1].reset_index(drop=True)}
    shipped = accepted_tables(pandas_union(spark, shuffled), {n: len(t) for n, t in tables.items()})
    assert shipped.fingerprint == data_fingerprint(tables)
    from pipelines.loading import (
        positive_values,
    )  # counted on the way, as the pandas engine counts its tables

    assert shipped.positive_values == positive_values(tables) and "orders.revenue" in shipped.positive_values
    assert shipped.amount_scale == amount_scale(tables)  # the amounts of many batches, as of the whole table
    assert shipped["orders"].index.tolist() == list(range(len(tables["orders"])))[::-1]
    for name, table in narrowed.items():
        pd.testing.assert_frame_equal(shipped[name].reset_index(drop=True), table, check_exact=True)
    # issue 11: the driver keeps no early-life input (orders' promo); the new customers' features read the orders of
    # the customers who signed up in the window, fetched from Spark for them alone (range-partitioned here too)
    from features.early_life import early_life_features

    assert "promo" in tables["orders"] and "promo" not in got.tables["orders"]
    as_of = pd.Timestamp("2024-02-02")
    early = got.tables.early_life_tables(as_of, 500)
    assert early["orders"]["customer_id"].tolist() == [
        "C1",
        "C1",
        "C2",
        "C4",
    ]  # canonical order, C3's rejected
    pd.testing.assert_frame_equal(
        early_life_features(early, as_of, 500, ()),
        early_life_features(tables, as_of, 500, ()),
        check_exact=True,
    )
    assert early_life_features(early, as_of, 500, ())["early_promo_share"].notna().any()
    assert got.tables.early_life_tables(as_of, 30)["orders"].empty  # nobody signed up in the window: no job
    # nor the orders' customer ids: the statuses (and the chunk count) read a row per customer with their last
    # order before the as-of, found by Spark; a BTYD fit fetches the orders' ids, times and revenue for itself
    from features.population import customer_status
    from pipelines.engines.spark_buckets import chunk_count

    assert "customer_id" in tables["orders"] and "customer_id" not in got.tables["orders"]
    for at in (as_of, pd.Timestamp("2024-02-01 12:00"), pd.Timestamp("2030-01-01")):
        by_customer = got.tables.status_tables(at)
        assert by_customer["orders"]["customer_id"].tolist() == ["C1", "C2", "C4"]
        pd.testing.assert_frame_equal(
            customer_status(by_customer, at, CFG.labels), customer_status(tables, at, CFG.labels)
        )
        assert chunk_count(by_customer, 2) == chunk_count(tables, 2)
    assert got.tables.collected["status_orders_mb"] > 0  # what the driver received, in the manifest
    pd.testing.assert_frame_equal(
        got.tables.with_order_ids()["orders"],
        tables["orders"][["customer_id", "ordered_at", "revenue"]].reset_index(drop=True),
        check_exact=True,
    )


@pytest.mark.spark
def test_a_table_can_be_a_directory_of_part_files(spark, tmp_path):
    from pipelines.engines.spark_input import load_spark

    single = _write(tmp_path / "single", orders=ORDERS, customers=CUSTOMERS)
    a = load_data(single)
    parts = _write(tmp_path / "parts", customers=CUSTOMERS)
    (parts / "orders").mkdir()
    ORDERS.iloc[:6].to_csv(parts / "orders" / "part-00000.csv", index=False)
    ORDERS.iloc[6:].to_csv(parts / "orders" / "part-00001.csv", index=False)
    (parts / "orders" / "_SUCCESS").touch()
    b, _ = load_spark(spark, parts, CFG)
    assert b.result.report["orders"].rows_in == len(ORDERS)
    assert b.result.report == a.result.report
    from pipelines.engines.spark_tables import driver_view  # the driver keeps no order_id (issue 11)

    key = ["ordered_at", "revenue"]  # nor, with a customers table, the orders' customer ids
    pd.testing.assert_frame_equal(
        b.tables["orders"].sort_values(key).reset_index(drop=True),
        driver_view("orders", a.tables["orders"]).sort_values(key).reset_index(drop=True),
    )


@pytest.mark.spark
def test_part_files_of_one_table_with_other_columns_are_structural(spark, tmp_path):
    """A table directory whose parts name other columns: CSV parts with the columns in another order (was: read by
    the first part's positions, every order id of the second taken for a customer id and back, exit 0), Parquet
    parts with a column only some have (was: `cost` dropped from every part, or left empty in the others) or
    stored as another type (was: "the rows do not match the header or the file is damaged")."""
    from pipelines.engines.spark_input import load_spark

    data = _write(tmp_path / "data", customers=CUSTOMERS.drop(columns="account_manager_id"))
    parts = data / "orders"
    parts.mkdir()
    ORDERS.iloc[:5].to_csv(parts / "part-00000.csv", index=False)
    ORDERS.iloc[5:][["customer_id", "order_id", "ordered_at", "revenue"]].to_csv(
        parts / "part-00001.csv", index=False
    )
    with pytest.raises(StructuralError, match=r"part-00000.csv and part-00001.csv have different headers"):
        load_spark(spark, data, CFG)
    for p in parts.iterdir():
        p.unlink()
    ORDERS.iloc[:5].assign(cost="1").to_parquet(parts / "part-00000.parquet")
    ORDERS.iloc[5:].to_parquet(parts / "part-00001.parquet")
    with pytest.raises(StructuralError, match=r"have other columns \(only in one of them: cost\)"):
        load_spark(spark, data, CFG)
    ORDERS.iloc[:5].assign(cost=1.0).to_parquet(parts / "part-00000.parquet")
    ORDERS.iloc[5:].assign(cost="1").to_parquet(parts / "part-00001.parquet")
    with pytest.raises(
        StructuralError, match=r"column 'cost': stored as double in part-00000.parquet and as"
    ):
        load_spark(spark, data, CFG)


@pytest.mark.spark
@pytest.mark.parametrize(
    "orders",
    [
        ORDERS.drop(columns=["revenue"]),  # a missing required column
        ORDERS.assign(revenue="lots"),  # no value parses: the column is the wrong type throughout
        ORDERS.assign(ordered_at="1704067200000"),  # ... Unix time in milliseconds: the hint names it
    ],
    ids=["missing-column", "wrong-type-throughout", "unix-time-throughout"],
)
def test_structural_problems_stop_with_the_pandas_message(spark, tmp_path, orders):
    from pipelines.engines.spark_engine import mapped_errors
    from pipelines.engines.spark_input import load_spark

    data = _write(tmp_path / "data", orders=orders, customers=CUSTOMERS)
    with pytest.raises(StructuralError) as expected:
        load_data(data)
    with pytest.raises(StructuralError) as got, mapped_errors():
        load_spark(spark, data, CFG)
    assert str(got.value) == str(expected.value)


@pytest.mark.spark
def test_missing_orders_and_unreadable_files_are_structural(spark, tmp_path):
    from pipelines.engines.spark_input import load_spark

    data = _write(tmp_path / "data", customers=CUSTOMERS)
    with pytest.raises(StructuralError, match="required table 'orders' is missing"):
        load_spark(spark, data, CFG)
    (data / "orders.parquet").write_bytes(
        b"\x00\x01 not parquet at all"
    )  # binary: read, and refused by Spark
    with pytest.raises(StructuralError, match="cannot read table 'orders'"):
        load_spark(spark, data, CFG)
    (data / "orders.parquet").unlink()
    text = ORDERS.to_csv(index=False).splitlines()
    text[2] += ",an extra field"  # a row longer than the header: the pandas reader refuses it too
    (data / "orders.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(StructuralError, match="rows do not match the header"):
        load_data(data)
    with pytest.raises(
        StructuralError, match=r"cannot read \S*orders\.csv: the rows do not match the header"
    ):
        load_spark(spark, data, CFG)


@pytest.mark.spark
def test_a_named_pipe_named_like_a_table_is_refused_as_by_pandas(spark, tmp_path):
    """`orders.csv` that is a FIFO: the pandas message, never opened (`pipelines.table_files.check_table_path`)."""
    import os
    import threading

    from pipelines.engines.spark_input import load_spark

    data = _write(tmp_path / "data", customers=CUSTOMERS)
    os.mkfifo(data / "orders.csv")
    with pytest.raises(StructuralError) as expected:
        load_data(data)
    raised: list[BaseException] = []

    def run() -> None:
        try:
            load_spark(spark, data, CFG)
        except BaseException as exc:  # handed to the test
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "still reading the pipe after 120 s"
    assert isinstance(raised[0], StructuralError) and str(raised[0]) == str(expected.value)
    assert "is a named pipe (FIFO), not a regular file" in str(raised[0])


@pytest.mark.spark
def test_a_parquet_table_without_columns_gets_the_pandas_message(spark, tmp_path):
    """A Parquet file without any column (was, in Spark: "the rows do not match the header or the file is
    damaged", from a job reading its first rows for the message)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.engines.spark_input import load_spark

    data = _write(tmp_path / "data", orders=ORDERS)
    pq.write_table(pa.table({}), data / "customers.parquet")
    with pytest.raises(StructuralError) as expected:
        load_data(data)
    with pytest.raises(StructuralError) as got:
        load_spark(spark, data, CFG)
    assert str(got.value) == str(expected.value)
    assert str(got.value).startswith("table 'customers' has no column at all")


@pytest.mark.spark
def test_float32_ids_from_2_pow_24_are_refused_as_by_pandas(spark, tmp_path):
    """A Parquet `float` (float32) id column holding ids from 2**24 on (collapsed onto their neighbours: 16777217
    is stored as 16777216) stops both engines with the same message (round 10; was: exit 0, half the customers)."""
    import numpy as np

    from pipelines.engines.spark_engine import mapped_errors
    from pipelines.engines.spark_input import load_spark

    data = tmp_path / "data"
    data.mkdir()
    ids = np.array([20_000_000 + i for i in range(len(_ORD))], dtype=np.float32)
    _ORD.assign(customer_id=ids).to_parquet(data / "orders.parquet")
    with pytest.raises(StructuralError) as expected:
        load_data(data)
    with pytest.raises(StructuralError) as got, mapped_errors():
        load_spark(spark, data, CFG, tmp_path / "rejects")
    assert str(got.value) == str(expected.value)
    assert "id stored as floating point (float32) with values >= 2**24" in str(got.value)


@pytest.mark.spark
def test_time_zone_aware_parquet_timestamps_are_the_instants_pandas_reads(spark, tmp_path):
    """Parquet timestamps with a zone in milliseconds or microseconds (round 10): was, in Spark, their wall-clock
    time in the session's zone (the JVM's) taken as `data.timezone` time: with `Europe/Paris`, every order an hour
    earlier than the pandas engine's, without a word. Now the same instants, rows, rejects and their text."""
    from pipelines.engines.spark_input import load_spark

    config = tmp_path / "config.yaml"
    config.write_text("data:\n  timezone: Europe/Paris\n")
    cfg = load_config(config)
    data = tmp_path / "data"
    data.mkdir()
    at = pd.to_datetime(_ORD["ordered_at"]).dt.tz_localize("America/New_York") + pd.Timedelta("10h 30min")
    orders = _ORD.assign(
        ordered_at=at.astype("datetime64[ms, America/New_York]"), revenue=[10, -1, 30, 40, 50, 60]
    )
    orders.to_parquet(data / "orders.parquet")
    expected = load_data(data, None, cfg.data.timezone)
    assert expected.tables["orders"]["ordered_at"].iloc[0] == pd.Timestamp("2024-01-05 16:30")  # Paris time
    got, _ = load_spark(spark, data, cfg, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)
    files = _reject_files(tmp_path / "rejects" / "orders")
    assert (
        files["ordered_at"].tolist() == expected.result.rejects["orders"]["ordered_at"].astype(str).tolist()
    )


@pytest.mark.spark
def test_csv_rows_with_more_or_fewer_fields_give_the_pandas_count_and_examples(spark, tmp_path):
    from pipelines.engines.spark_engine import mapped_errors
    from pipelines.engines.spark_input import load_spark

    data = _write(tmp_path / "data", customers=CUSTOMERS)
    text = ORDERS.to_csv(index=False).splitlines()
    text[2] += ",an extra field"  # source row 1
    text[5] = "O5,nobody"  # source row 4: too few fields
    (data / "orders.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(StructuralError) as expected:
        load_data(data)
    with pytest.raises(StructuralError) as got, mapped_errors():
        load_spark(spark, data, CFG)
    assert str(got.value) == str(expected.value)
    assert "2 row(s) have more or fewer fields" in str(got.value)
    assert "source row 1: 5 fields: 'O2,C1" in str(
        got.value
    ) and "source row 4: 2 fields: 'O5,nobody'" in str(got.value)


_CUST = pd.DataFrame({"customer_id": [f"C{i:06d}" for i in range(1, 7)]})
_ORD = pd.DataFrame(
    {
        "order_id": [f"O{i}" for i in range(1, 7)],
        "customer_id": [f"C{i:06d}" for i in range(1, 7)],
        "ordered_at": ["2024-01-05", "2024-02-01", "2024-02-03", "2024-03-01", "2024-03-02", "2024-03-05"],
        "revenue": ["10", "20.5", "30", "40", "50", "60"],
    }
)
_TICKETS = pd.DataFrame(
    {
        "ticket_id": ["T1", "T2", "T3", "T4"],
        "customer_id": ["C000001", "C000002", "C000003", "C000001"],
        "opened_at": ["2024-02-01"] * 4,
        "effort_minutes": ["5"] * 4,
        "satisfaction": ["7", "9", "10", "2"],  # rated 1-10
    }
)
#: One input per column-level stop of the pandas loader (README "What bad input gets"), and the start of its message.
STOPS = {
    "amounts-negative": (
        dict(orders=_ORD.assign(revenue=["-10", "-20.5", "-30", "40", "-50", "-60"]), customers=_CUST),
        "table 'orders', column 'revenue': negative on 5 of the 6 rows",
    ),
    "rating-scale": (
        dict(orders=_ORD, customers=_CUST, tickets=_TICKETS),
        "table 'tickets', column 'satisfaction': 3 of 4 ratings outside 1-5",
    ),
    "rating-half-points": (  # `4.5`: a half-point scale (`features.conventions.off_scale`)
        dict(orders=_ORD, customers=_CUST, tickets=_TICKETS.assign(satisfaction=["4.5", "3.5", "4", "2.5"])),
        "table 'tickets', column 'satisfaction': 3 of 4 ratings not whole numbers of the 1-5 scale (4.5, 3.5",
    ),
    "null-for-missing": (
        dict(orders=_ORD, customers=_CUST.assign(churned_at=["NULL"] * 2 + ["2024-06-01"] + ["NULL"] * 3)),
        "table 'customers', column 'churned_at': 5 of 6 rows hold 'NULL'",
    ),
    "rows-per-key": (
        dict(orders=_ORD.assign(order_id=["O1", "O1", "O1", "O1", "O5", "O6"]), customers=_CUST),
        "table 'orders', column 'order_id': 3 of 6 rows repeat the order_id",
    ),
    "ids-respelled": (
        dict(orders=_ORD.assign(customer_id=["1", "2", "3", "4", "C000005", "C000006"]), customers=_CUST),
        "table 'orders', column 'customer_id': 4 of 6 rows name a customer the customers table writes otherwise",
    ),
    "locale-numbers": (
        dict(
            orders=_ORD.assign(revenue=["1.234,50", "20", "2.345,10", "3.456,00", "50", "60"]),
            customers=_CUST,
        ),
        "table 'orders', column 'revenue': 3 of 6 values are numbers written with a thousands separator",
    ),
    "managers-missing": (
        dict(
            orders=_ORD,
            customers=_CUST.assign(account_manager_id=["AM9"] * 5 + ["AM1"]),
            account_managers=pd.DataFrame({"account_manager_id": ["AM1"], "name": ["Ann"]}),
        ),
        "table 'customers', column 'account_manager_id': 5 of 6 rows name a manager",
    ),
    # the fourth hunt's column-level stops (each judged from the same one aggregation's sums)
    "cost-above-revenue": (
        dict(orders=_ORD.assign(cost=["11", "30", "40", "10", "60", "70"]), customers=_CUST),
        "table 'orders', column 'cost': above the order's revenue on 5 of the 6 orders with both",
    ),
    "quantities-zero": (
        dict(orders=_ORD.assign(quantity=["0", "1", "0", "2", "0", "1"]), customers=_CUST),
        "table 'orders', column 'quantity': 0 or negative on 3 of 6 orders",
    ),
    "effort-in-seconds": (
        dict(
            orders=_ORD,
            customers=_CUST,
            tickets=_TICKETS.assign(effort_minutes=["300", "600", "2400", "1800"], satisfaction=["4"] * 4),
        ),
        "table 'tickets', column 'effort_minutes': the median ticket takes 1200 minutes",
    ),
    "returns-in-cents": (  # after every other stop, from the returns' join with their orders
        dict(
            orders=_ORD,
            customers=_CUST,
            returns=pd.DataFrame(
                {
                    "return_id": ["R1", "R2", "R3", "R4"],
                    "customer_id": ["C000001", "C000002", "C000003", "C000004"],
                    "order_id": ["O1", "O2", "O3", "O4"],
                    "returned_at": ["2024-03-10"] * 4,
                    "amount": ["1000", "2050", "3000", "20"],
                }
            ),
        ),
        "table 'returns', column 'amount': above its order's revenue on 3 of the 4 returns naming an order",
    ),
    "returns-of-other-orders": (  # another numbering of order ids (`features.crossrefs.RETURN_CONVENTIONS`)
        dict(
            orders=_ORD,
            customers=_CUST,
            returns=pd.DataFrame(
                {
                    "return_id": ["R1", "R2", "R3", "R4"],
                    "customer_id": ["C000001", "C000002", "C000003", "C000004"],
                    "order_id": ["O2", "O3", "O4", "O4"],
                    "returned_at": ["2024-03-10"] * 4,
                    "amount": ["1", "2", "3", "2"],
                }
            ),
        ),
        "table 'returns', column 'order_id': another customer's order on 3 of the 4 returns naming an order",
    ),
    "ids-respelled-no-customers": (  # the orders' customers are the reference
        dict(orders=_ORD, tickets=_TICKETS.assign(customer_id=["1", "2", "3", "1"], satisfaction=["4"] * 4)),
        "table 'tickets', column 'customer_id': 4 of 4 rows name a customer the orders table writes otherwise",
    ),
    "currencies-mixed": (  # a column outside the contract, judged before any table's checks
        dict(orders=_ORD.assign(Currency=["EUR", "eur", "USD", "EUR", "USD", "€"]), customers=_CUST),
        "table 'orders', column 'Currency': amounts in EUR (4 rows), USD (2 rows)",
    ),
    "open-end-dates": (  # `9999-12-31` for every customer never cancelled (`features.dates.placeholder_rows`)
        dict(orders=_ORD, customers=_CUST.assign(churned_at=["9999-12-31"] * 5 + ["2024-06-01"])),
        "table 'customers', column 'churned_at': 5 of 6 rows hold '9999-12-31'",
    ),
    "required-empty": (  # a required column present but empty on every row
        dict(
            orders=_ORD,
            customers=_CUST,
            tickets=_TICKETS.assign(effort_minutes=[""] * 4, satisfaction=["4"] * 4),
        ),
        "table 'tickets', column 'effort_minutes': required, and empty on every one of the 4 rows",
    ),
    "no-manager-placeholder": (  # `-` for every customer without a manager: an optional id (`features.ids`)
        dict(orders=_ORD, customers=_CUST.assign(account_manager_id=["-", "AM1", "-", "-", "AM2", "-"])),
        "table 'customers', column 'account_manager_id': 4 of 6 rows hold '-'",
    ),
    "category-placeholder": (  # `NULL` for every customer without a region: a model-read category
        dict(orders=_ORD, customers=_CUST.assign(region=["NULL", "North", "NULL", "NULL", "South", "n/a"])),
        "table 'customers', column 'region': 4 of 6 rows hold 'NULL', 'n/a'",
    ),
    "ids-42-and-42.0": (  # a float export mixed with text in one id column (`features.decimal_ids.check_decimal_ids`)
        dict(orders=_ORD.assign(customer_id=["1.0", "2.0", "3.0", "4", "5", "6"])),
        "table 'orders', column 'customer_id': 3 of 6 rows write the id as a decimal number",
    ),
    "currency-signs": (  # numbers with a currency sign or unit (`features.numbers.check_unit_numbers`)
        dict(orders=_ORD.assign(revenue=["$10", "$20.5", "30", "$40", "$50", "60"]), customers=_CUST),
        "table 'orders', column 'revenue': 4 of 6 values are numbers with a currency sign, code or unit",
    ),
    "other-digits": (  # fullwidth digits (`features.numbers.check_other_digits`, round 10)
        dict(orders=_ORD.assign(revenue=["１０", "２０.５", "30", "４０", "50", "60"]), customers=_CUST),
        "table 'orders', column 'revenue': 3 of 6 values are numbers written in digits other than ASCII 0-9",
    ),
    "sheet-errors": (  # a spreadsheet's error values (`features.numbers.check_number_form`, round 12)
        dict(
            orders=_ORD.assign(revenue=["#VALUE!", "20.5", "#DIV/0!", "40", "#REF!", "60"]), customers=_CUST
        ),
        "table 'orders', column 'revenue': 3 of 6 values are a spreadsheet's error value",
    ),
    "invisible-in-numbers": (  # a zero-width space in an amount (`features.numbers.invisible_numbers`, round 12)
        dict(
            orders=_ORD.assign(revenue=["10\u200b", "20.5", "3\u00ad0", "40", "\u200b50", "60"]),
            customers=_CUST,
        ),
        "table 'orders', column 'revenue': 3 of 6 values are written with an invisible character",
    ),
    "dates-in-another-form": (  # `15/01/2023` among ISO dates (`features.date_forms.other_date_forms`, round 12)
        dict(
            orders=_ORD.assign(
                ordered_at=[
                    "05/01/2024",
                    "2024-02-01",
                    "03.02.2024",
                    "2024-03-01",
                    "2 Mar 2024",
                    "2024-03-05",
                ]
            ),
            customers=_CUST,
        ),
        "table 'orders', column 'ordered_at': 3 of 6 values are dates written in another form than ISO 8601",
    ),
    "serial-days-in-part": (  # `45296` (2024-01-05) among ISO dates: the other-forms stop with its hint
        dict(
            orders=_ORD.assign(
                ordered_at=["45296", "2024-02-01", "45325", "2024-03-01", "45353", "2024-03-05"]
            ),
            customers=_CUST,
        ),
        "table 'orders', column 'ordered_at': 3 of 6 values are dates written in another form than ISO 8601",
    ),
    "unix-time-in-part": (  # `1704412800` (2024-01-05) among ISO dates: the other-forms stop names Unix time
        dict(
            orders=_ORD.assign(
                ordered_at=[
                    "1704412800",
                    "2024-02-01",
                    "1706918400",
                    "2024-03-01",
                    "1709337600",
                    "2024-03-05",
                ]
            ),
            customers=_CUST,
        ),
        "table 'orders', column 'ordered_at': 3 of 6 values are dates written in another form than ISO 8601",
    ),
    "sheet-errors-in-dates": (  # `#VALUE!` in a date column (round 12: the number columns' stop)
        dict(
            orders=_ORD.assign(
                ordered_at=["#VALUE!", "2024-02-01", "#REF!", "2024-03-01", "#VALUE!", "2024-03-05"]
            ),
            customers=_CUST,
        ),
        "table 'orders', column 'ordered_at': 3 of 6 values are a spreadsheet's error value",
    ),
    "formula-numbers": (  # `="12.50"`, `'12.50`: a spreadsheet's formula or text prefix (round 12)
        dict(orders=_ORD.assign(revenue=['="10"', "20.5", "'30", "40", '="50"', "60"]), customers=_CUST),
        "table 'orders', column 'revenue': 3 of 6 values are numbers written as a spreadsheet formula",
    ),
    "invisible-in-dates": (  # `2024-02-01\u200b` in a date column (round 12: the number columns' stop)
        dict(
            orders=_ORD.assign(
                ordered_at=[
                    "2024-01-05\u200b",
                    "2024-02-01",
                    "\ufeff2024-02-03",
                    "2024-03-01",
                    "2024-03-05\u00ad",
                    "2024-03-06",
                ]
            ),
            customers=_CUST,
        ),
        "table 'orders', column 'ordered_at': 3 of 6 values are written with an invisible character",
    ),
    "e-mails-as-manager-ids": (  # a manager's e-mail as `account_manager_id` (round 12): counted, never shown
        dict(
            orders=_ORD,
            customers=_CUST.assign(
                account_manager_id=["a@corp.com", "AM1", "b@corp.com", "AM1", "a@corp.com", ""]
            ),
        ),
        "table 'customers', column 'account_manager_id': 3 of 5 values are e-mail addresses (not shown",
    ),
    "point-for-thousands": (  # whole amounts written `1.250` for 1250 (`features.numbers.point_groups`, round 12)
        dict(orders=_ORD.assign(revenue=["1.250", "20", "2.500", "40", "1.000", "60"]), customers=_CUST),
        "table 'orders', column 'revenue': 3 of 6 values are written with a point before three digits",
    ),
    "numbers-mostly-unparsed": (  # a number unparseable on most rows (`features.numbers.check_mostly_unparsed`)
        dict(orders=_ORD.assign(revenue=["ten", "twenty", "30", "forty", "fifty", "60"]), customers=_CUST),
        "table 'orders', column 'revenue': 4 of 6 values do not parse as a number ('ten', 'twenty', 'forty')",
    ),
    "accounting-negatives": (  # `(10)`, `30-` on 1% (`features.numbers.accounting_numbers`, round 13)
        dict(orders=_ORD.assign(revenue=["(10)", "20.5", "30-", "40", "(50)", "60"]), customers=_CUST),
        "table 'orders', column 'revenue': 3 of 6 values are negative numbers in an accounting format",
    ),
    "bools-in-german": (
        dict(orders=_ORD.assign(promo=["WAHR", "FALSCH", "true", "FALSCH", "WAHR", ""]), customers=_CUST),
        "table 'orders', column 'promo': 4 of 5 values do not parse as true/false ('WAHR', 'FALSCH')",
    ),
    "header-again-reordered": (  # round 13: `features.header.check_reordered_header`, judged per batch
        dict(
            orders=pd.concat(
                [
                    _ORD,
                    pd.DataFrame(
                        [
                            {
                                "order_id": "customer_id",
                                "customer_id": "order_id",
                                "ordered_at": "ordered_at",
                                "revenue": "revenue",
                            }
                        ]
                    ),
                ],
                ignore_index=True,
            )  # fmt: skip
        ),
        "table 'orders': a line inside the file is the header again with its columns in another order "
        "(customer_id, order_id, ordered_at, revenue; the first line: order_id, customer_id, ordered_at, revenue)",
    ),
    "orders-after-churn": (  # round 13: `features.crossrefs.check_orders_after_churn`, counted per bucket
        dict(orders=_ORD, customers=_CUST.assign(churned_at=["2023-06-01"] * 3 + [""] * 3)),
        "table 'customers', column 'churned_at': 3 of the 6 customers have an order dated a day or more after "
        "their churned_at",
    ),
    "bools-in-dutch-in-part": (  # under half, on 1% and 10 rows (`features.numbers.unparsed_share`, round 13)
        dict(
            orders=pd.concat([_ORD] * 4, ignore_index=True).assign(
                order_id=[f"O{i}" for i in range(24)], promo=["WAAR", "ONWAAR"] * 5 + ["true", "false"] * 7
            )
        ),
        "table 'orders', column 'promo': 10 of 24 values do not parse as true/false ('WAAR', 'ONWAAR'): "
        "rejected, those rows would be dropped",
    ),
    "dates-swapped": (  # a row rule rejecting most of a table (`features.row_rules.check_row_conventions`)
        dict(
            orders=_ORD,
            customers=_CUST,
            tickets=_TICKETS.assign(satisfaction=["4"] * 4, closed_at=["2024-01-01"] * 3 + ["2024-03-01"]),
        ),
        "table 'tickets': 3 of 4 rows would be rejected `closed_at before opened_at`, and the table lost",
    ),
    "ticket-kinds-of-a-crm": (
        dict(
            orders=_ORD,
            customers=_CUST,
            tickets=_TICKETS.assign(
                satisfaction=["4"] * 4, kind=["Anfrage", "Anfrage", "Beschwerde", "request"]
            ),
        ),
        "table 'tickets': 3 of 4 rows would be rejected `unknown ticket kind`, and the table lost",
    ),
    "personal-in-examples": (  # the example rows show personal columns as `(personal)`, both engines
        dict(
            orders=_ORD,
            customers=_CUST.assign(
                acquisition_cost=["-5", "-6", "-7", "-8", "9", "-10"],
                name=[f"Ann Secret{i}" for i in range(6)],
                email=[f"ann{i}@secret.example" for i in range(6)],
            ),
        ),
        "table 'customers', column 'acquisition_cost': negative on 5 of the 6 rows",
    ),
    "orders-exported-twice": (  # the orders again under renumbered ids (`features.keys.check_repeated_rows`)
        dict(
            orders=pd.concat(
                [
                    _ORD.assign(
                        order_id=[f"{p}{i}" for i in range(1, 7)], ordered_at=_ORD["ordered_at"] + " 10:30"
                    )
                    for p in "ABCDEFGHIJKLMNOPQRST"
                ]
            ),
            customers=_CUST,
        ),
        "table 'orders': 120 of 120 orders repeat another order in every column but order_id",
    ),
    "invoices-exported-twice": (  # every per-customer event table's rule (`features.keys.check_repeated_rows`)
        dict(
            orders=_ORD,
            customers=_CUST,
            invoices=pd.DataFrame(
                {
                    "invoice_id": [f"{p}{i}" for p in "IX" for i in range(60)],
                    "customer_id": [f"C{i % 6 + 1:06d}" for _ in "IX" for i in range(60)],
                    "issued_at": [f"2024-01-{i % 28 + 1:02d} 09:{i:02d}" for _ in "IX" for i in range(60)],
                    "due_at": [f"2024-02-{i % 28 + 1:02d} 09:{i:02d}" for _ in "IX" for i in range(60)],
                    "amount": ["31.16"] * 120,
                }
            ),
        ),
        "table 'invoices': 120 of 120 invoices repeat another invoice in every column but invoice_id",
    ),
    "extra-columns-in-examples": (  # only the contract's non-personal columns in the example rows, both engines
        dict(
            orders=_ORD,
            customers=_CUST.rename(columns={"customer_id": "Customer ID"}).assign(
                first_name=[f"Ann Secret{i}" for i in range(6)], iban=[f"DE00SECRET{i}" for i in range(6)]
            ),
        ),
        "table 'customers': column(s) named like contract columns but for case, spaces or separators",
    ),
    "no-usable-customer": (  # every signup a year after the last order: no column-level stop, no customer left
        dict(orders=_ORD, customers=_CUST.iloc[:3].assign(signup_at=["2099-01-01"] * 3)),
        "table 'customers' has no usable row (3 rows, none accepted)",
    ),
}


@pytest.mark.spark
@pytest.mark.parametrize("case", list(STOPS))
def test_column_level_stops_are_the_pandas_loaders(spark, tmp_path, case):
    """A column following another convention stops both engines (exit 2) with the same message and example rows,
    before any reject is written: the Spark engine sums the predicates' row masks in its one aggregation and calls
    the pandas function on the table's rows when a stop fires (`pipelines.engines.spark_stops`)."""
    from pipelines.engines.spark_engine import mapped_errors
    from pipelines.engines.spark_input import load_spark

    tables, message = STOPS[case]
    data = _write(tmp_path / "data", **tables)
    with pytest.raises(StructuralError) as expected:
        load_data(data, currency=CFG.data.currency)
    assert str(expected.value).startswith(message)
    with pytest.raises(StructuralError) as got, mapped_errors():
        load_spark(spark, data, CFG, tmp_path / "rejects")
    assert str(got.value) == str(expected.value)
    # no personal column nor one outside the contract in the example rows
    assert "Secret" not in str(got.value) and "SECRET" not in str(got.value)
    assert not (tmp_path / "rejects").exists()  # stopped before any reject is written


def test_data_uri_keeps_the_scheme_slashes_path_removed(tmp_path):
    from pipelines.engines.spark_sources import data_uri

    assert data_uri(Path("s3a://bucket/company/2025")) == "s3a://bucket/company/2025"
    assert data_uri(Path("hdfs://nn:8020/data")) == "hdfs://nn:8020/data"
    assert data_uri(tmp_path / "data") == str(tmp_path / "data")
    assert data_uri(f"file:{tmp_path}/data") == f"file:{tmp_path}/data"


@pytest.mark.spark
def test_spark_applies_the_cross_table_rules_of_the_pandas_engine(spark, tmp_path):
    """`features.crossrefs` on both engines: (a) a return of another customer's order, (b) one refunding more
    than its order's revenue, (c) one dated a day or more before its order, (d) a signup / cancellation more than
    a year after the last accepted order (its customer's orders then unknown), (e) an invoice paid or a ticket
    closed more than a year after it, (f) returns of one order adding up past its revenue (refunded twice), (g) a
    date years before every other of its column (one column after the other, before the keys). Same rows, reasons
    and counts."""
    from features.crossrefs import ABOVE_ORDER, BEFORE_ORDER, BEYOND_ORDER, FOREIGN_ORDER
    from pipelines.engines.spark_input import load_spark

    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3", "O4", "O5"],
            "customer_id": ["C1", "C2", "C3", "C4", "C1"],
            "ordered_at": ["2024-01-05", "2024-02-01 10:00", "2024-02-03", "2024-03-01", "2024-03-02"],
            "revenue": ["10", "20", "30", "40", "50"],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4"],
            "signup_at": ["2023-01-01", "2023-01-01", "2099-01-01", "2023-01-01"],
            "churned_at": ["", "2025-02-01", "", "2098-05-01"],
        }
    )
    returns = pd.DataFrame(
        {
            "return_id": ["R1", "R2", "R3", "R4", "R5", "R6", "R7"],
            "customer_id": ["C1", "C1", "C1", "C2", "C2", "C1", "C1"],
            "returned_at": [
                "2024-02-01",
                "2024-02-01",
                "2024-01-04",
                "2024-02-01",
                "2024-03-01",
                "2024-03-05",
                "2024-01-10",
            ],  # fmt: skip
            "amount": ["5", "5", "5", "20.005", "1", "60", "10"],
            "order_id": ["O1", "O2", "O1", "O2", "O9", "O5", "O3"],
        }
    )  # R2: C2's order (a); R3: a day before (c); R4: within a cent; R5: order not in the data;
    # R6: above the revenue (b); R7: C3's order, whose customer is rejected (d): its order is not accepted
    twice = pd.DataFrame(
        {
            "return_id": ["R9", "R8", "R10"],
            "customer_id": ["C1", "C1", "C1"],
            "returned_at": ["2024-03-06", "2024-03-05", "2024-02-01"],
            "amount": ["30", "30", "6"],
            "order_id": ["O5", "O5", "O1"],
        }
    )  # (f) refunded twice: R9, after R8 in time (R6, above O5's revenue on its own, is not counted), passes
    # O5's 50; R10, after R1 (the same day, then by return_id), passes O1's 10
    returns = pd.concat([returns, twice], ignore_index=True)
    invoices = pd.DataFrame(
        {
            "invoice_id": ["I1", "I2", "I3"],
            "customer_id": ["C1", "C2", "C1"],
            "issued_at": ["2024-01-05"] * 3,
            "due_at": ["2024-02-05"] * 3,
            "amount": ["10", "20", "40"],
            "paid_at": ["2024-01-20", "2099-01-20", "2025-02-01"],
        }
    )  # I2: paid in 2099 (e); I3: within the year after the last order
    tickets = pd.DataFrame(
        {
            "ticket_id": ["T1", "T2"],
            "customer_id": ["C1", "C2"],
            "opened_at": ["2024-01-05"] * 2,
            "effort_minutes": ["10", "20"],
            "closed_at": ["2099-01-06", "2024-01-06"],
        }
    )  # T1: closed in 2099 (e)
    n = 120  # (g) a date years before every other of its column: judged over the whole column (100 rows or more)
    bulk = pd.DataFrame(
        {
            "ticket_id": [f"T{3 + i}" for i in range(n)] + ["TX", "TZ", "TX"],
            "customer_id": ["C1"] * (n + 3),
            "opened_at": [f"2024-01-{1 + i % 28:02d}" for i in range(n)]
            + ["1924-01-01", "1989-12-31", "2024-02-01"],
            "effort_minutes": ["15"] * (n + 3),
            "closed_at": [f"2024-02-{1 + i % 28:02d}" for i in range(n)]
            + ["1930-01-01", "1990-01-01", "2024-02-02"],
        }
    )  # TX opened in 1924; without it, TZ is the one closed years before every other (pandas judges the columns
    # in turn, on the rows still accepted); the second TX is then the first accepted TX, not a duplicate
    tickets = pd.concat([tickets, bulk], ignore_index=True)
    data = _write(
        tmp_path / "data",
        orders=orders,
        customers=customers,
        returns=returns,
        invoices=invoices,
        tickets=tickets,
    )
    expected = load_data(data)
    reasons = {t: r.rejected_by_reason for t, r in expected.result.report.items() if r.rejected_by_reason}
    assert reasons["returns"] == {FOREIGN_ORDER: 1, ABOVE_ORDER: 1, BEFORE_ORDER: 1, BEYOND_ORDER: 2}
    rejected = expected.result.rejects["returns"]
    assert rejected.loc[rejected["reason"] == BEYOND_ORDER, "return_id"].tolist() == ["R9", "R10"]
    assert set(reasons["customers"]) == {
        "signup_at more than a year after the last order (2024-03-02): a mistyped year?",
        "churned_at more than a year after the last order (2024-03-02): a mistyped year?",
    }
    assert reasons["orders"] == {"unknown customer_id": 2}
    late = "{} more than a year after the last order (2024-03-02): a mistyped year?"
    assert reasons["invoices"] == {late.format("paid_at"): 1}
    early = "{} 5 years or more before every other (mistyped year?)"
    assert reasons["tickets"] == {
        late.format("closed_at"): 1,
        early.format("opened_at"): 1,
        early.format("closed_at"): 1,
    }
    rejected = expected.result.rejects["tickets"]
    assert rejected["ticket_id"].tolist() == ["T1", "TX", "TZ"]
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)
    # issue 11: the driver keeps no returns' or invoices' times: the events at or after an as-of counted by Spark
    from pipelines.loading import later_events

    as_of = pd.Timestamp("2024-01-05")
    assert {"orders.ordered_at", "returns.returned_at", "invoices.issued_at"} <= set(
        later_events(expected.result.tables, as_of)
    )
    assert got.tables.later_events(as_of) == later_events(expected.result.tables, as_of)
    assert (
        list(got.tables["invoices"].columns) == ["customer_id"]
        and got.tables["invoices"]["customer_id"].is_unique
    )
    for name, frame in expected.result.rejects.items():
        files = _reject_files(tmp_path / "rejects" / name)
        assert files["source_row"].astype(int).tolist() == frame["source_row"].tolist()
        assert files["reason"].tolist() == frame["reason"].tolist()


@pytest.mark.spark
def test_event_dates_years_after_the_last_order_are_rejected_as_by_pandas(spark, tmp_path):
    """A return, a ticket opened, an invoice issued or due, a manager assignment dated 2098 (round 10): the same
    `... more than a year after the last order` rejects on both engines (Spark: the partitions' latest accepted
    orders sent to every customer bucket, as for `paid_at`)."""
    from pipelines.engines.spark_input import load_spark

    returns = pd.DataFrame(
        {
            "return_id": ["R1", "R2"],
            "customer_id": ["C000001", "C000002"],
            "returned_at": ["2024-04-01", "2098-04-01"],
            "amount": ["1", "1"],
        }
    )
    invoices = pd.DataFrame(
        {
            "invoice_id": ["I1", "I2", "I3"],
            "customer_id": ["C000001", "C000002", "C000003"],
            "issued_at": ["2024-01-05", "2098-01-05", "2024-01-05"],
            "due_at": ["2024-02-05", "2098-02-05", "2098-02-05"],
            "amount": ["10", "10", "10"],
        }
    )
    tickets = _TICKETS.assign(
        opened_at=["2098-02-01", "2024-02-01", "2024-02-01", "2024-02-01"], satisfaction="4"
    )
    assignments = pd.DataFrame(
        {
            "customer_id": ["C000001", "C000002"],
            "account_manager_id": ["AM1", "AM1"],
            "assigned_at": ["2098-01-01", "2024-01-01"],
        }
    )
    data = _write(
        tmp_path / "data",
        orders=_ORD,
        customers=_CUST,
        returns=returns,
        invoices=invoices,
        tickets=tickets,
        assignments=assignments,
    )
    expected = load_data(data)
    late = "{} more than a year after the last order (2024-03-05): a mistyped year?"
    assert expected.result.report["invoices"].rejected_by_reason == {
        late.format("issued_at"): 1,
        late.format("due_at"): 1,
    }
    assert expected.result.report["returns"].rejected_by_reason == {late.format("returned_at"): 1}
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)


#: Round 12's row rejects: a stray value of a form whose stop needs 1% of the column (3 rows), and its reason.
ROUND12_REJECTS = {
    "sheet-error-number": (
        _ORD.assign(revenue=["10", "20.5", "#DIV/0!", "40", "50", "60"]),
        "a spreadsheet error value in revenue (#VALUE!, #DIV/0!, #REF!, ...: a formula that failed)",
    ),
    "sheet-error-id": (
        _ORD.assign(customer_id=["#REF!", "C000002", "C000003", "#REF!", "C000005", "C000006"]),
        "a spreadsheet error value in customer_id (#VALUE!, #DIV/0!, #REF!, ...: a formula that failed)",
    ),
    "invisible-in-number": (
        _ORD.assign(revenue=["10", "20.5", "30\u200b", "40", "50", "60"]),
        "invisible character in revenue (BOM, zero-width space, line break, ...)",
    ),
    "e-mail-as-id": (
        _ORD.assign(customer_id=["C000001", "bo@shop.example", "C000003", "C000004", "C@5", "C000006"]),
        "an e-mail address in customer_id (personal data, not an id: export the id instead)",
    ),
    "date-in-another-form": (
        _ORD.assign(ordered_at=["2024-01-05", "2024-02-01", "03/02/2024", "2024-03-01", "2024-03-02", "x"]),
        "ambiguous or unknown date format in ordered_at",
    ),
    "sheet-error-flag": (
        _ORD.assign(promo=["true", "false", "#N/A", "#VALUE!", "true", ""]),
        "a spreadsheet error value in promo (#VALUE!, #DIV/0!, #REF!, ...: a formula that failed)",
    ),
    "invisible-in-flag": (
        _ORD.assign(promo=["true", "false", "x", "true\u200b", "true", ""]),
        "invisible character in promo (BOM, zero-width space, line break, ...)",
    ),
    "formula-number": (
        _ORD.assign(revenue=["10", "20.5", "'30", "40", "50", "60"]),
        'spreadsheet formula or text prefix in revenue (="...", \'...)',
    ),
    "lookalike-letter-in-id": (  # round 13: a Cyrillic `С` for `C` (`features.ids.lookalike_ids`)
        _ORD.assign(customer_id=["C000001", "\u0421000002", "C000003", "C000004", "C000005", "C000006"]),
        "a Cyrillic or Greek letter drawn like a Latin one in customer_id (Cyrillic С for Latin C: a lookalike)",
    ),
    "quotes-in-a-rejected-row": (  # an id written `="00042"` and a value holding `"` (Spark's CSV escaping)
        _ORD.assign(customer_id=['="C000001"', "C000002", "C000003", "C000004", "C000005", "C000006"]).assign(
            channel=['say "hi", then', "web", "web", "web", "web", "web"]
        ),
        'spreadsheet formula or text prefix in customer_id (="...", \'...)',
    ),
}


@pytest.mark.spark
@pytest.mark.parametrize("case", list(ROUND12_REJECTS))
def test_round12_row_rejects_are_the_pandas_ones(spark, tmp_path, case):
    """The twelfth hunt's row rejects (`#DIV/0!` in an amount, `#REF!` as an id): the same reason, counts and
    accepted rows on both engines (the rules run on the Spark batches through `features.validation`)."""
    from pipelines.engines.spark_input import load_spark

    orders, reason = ROUND12_REJECTS[case]
    data = _write(tmp_path / "data", orders=orders)
    expected = load_data(data)
    assert reason in expected.result.report["orders"].rejected_by_reason
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)
    # the rejects file as a CSV reader reads it: a `"` in a value or reason doubled, never Spark's `\"`
    written = _reject_files(tmp_path / "rejects" / "orders")
    assert list(written.columns) == ["source_row", *orders.columns, "reason"]
    assert len(written) == got.result.report["orders"].rejected and reason in set(written["reason"])
    if "channel" in orders.columns:  # the values as written, the formula neutralised as by pandas
        assert written.loc[0, ["customer_id", "channel"]].tolist() == ['\'="C000001"', 'say "hi", then']


@pytest.mark.spark
def test_a_stray_half_point_rating_is_rejected_as_by_pandas(spark, tmp_path):
    """A `4.5` among whole ratings (under the stop's 3 rows): its own reason on both engines, not `outside 1-5`."""
    from pipelines.engines.spark_input import load_spark

    tickets = _TICKETS.assign(satisfaction=["4", "4.5", "3", "7"])
    data = _write(tmp_path / "data", orders=_ORD, customers=_CUST, tickets=tickets)
    expected = load_data(data)
    assert expected.result.report["tickets"].rejected_by_reason == {
        "satisfaction not a whole number of the 1-5 scale (4.5)": 1,
        "satisfaction outside 1-5": 1,
    }
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)


@pytest.mark.spark
def test_an_e_mail_address_as_a_manager_id_is_the_same_reject_on_both_sides(spark, tmp_path):
    """A manager's e-mail exported as `account_manager_id` (round 12): the same row reject in `account_managers`
    and in `customers` on both engines (the id rules run on the Spark batches), never a manager id."""
    from pipelines.engines.spark_input import load_spark

    mail = "anna.schmidt@corp.com"
    customers = _CUST.assign(account_manager_id=[mail, "AM2", mail, "AM2", "AM2", ""])
    managers = pd.DataFrame({"account_manager_id": [mail, "AM2"], "name": ["Anna", "Bo"]})
    data = _write(tmp_path / "data", orders=_ORD, customers=customers, account_managers=managers)
    expected = load_data(data)
    reason = "an e-mail address in account_manager_id (personal data, not an id: export the id instead)"
    assert expected.result.report["customers"].rejected_by_reason == {reason: 2}
    assert expected.result.report["account_managers"].rejected_by_reason == {reason: 1}
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)


@pytest.mark.spark
def test_a_declared_format_over_month_first_dates_stops_as_by_pandas(spark, tmp_path):
    """`%d/%m/%Y` declared over orders of which a part is written `%m/%d/%Y` (round 12): the same stop and
    message on both engines (Spark: the values matching only with day and month swapped summed in its one
    aggregation, `features.date_forms.swapped_dates`); one stray such value the same reject."""
    from pipelines.engines.spark_engine import mapped_errors
    from pipelines.engines.spark_input import load_spark

    formats = {"orders.ordered_at": "%d/%m/%Y"}
    cfg = load_config(None, {"data": {"date_formats": formats}})
    days = ["05/01/2024", "01/14/2024", "02/03/2024", "03/25/2024", "04/30/2024", "03/05/2024"]
    data = _write(tmp_path / "data", orders=_ORD.assign(ordered_at=days))
    with pytest.raises(StructuralError) as expected:
        load_data(data, date_formats=formats)
    assert "3 of 6 values do not match the declared date format '%d/%m/%Y' but do match" in str(
        expected.value
    )
    with pytest.raises(StructuralError) as got, mapped_errors():
        load_spark(spark, data, cfg, tmp_path / "rejects")
    assert str(got.value) == str(expected.value)
    days[3:5] = ["25/03/2024", "30/04/2024"]  # one month-first value left: a stray, rejected
    stray = _write(tmp_path / "stray", orders=_ORD.assign(ordered_at=days))
    expected = load_data(stray, date_formats=formats)
    reason = "ordered_at does not match the declared date format %d/%m/%Y"
    assert expected.result.report["orders"].rejected_by_reason == {reason: 1}
    got, _ = load_spark(spark, stray, cfg, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)


@pytest.mark.spark
def test_a_stray_42_0_among_ids_written_42_is_rejected_as_by_pandas(spark, tmp_path):
    """One `customer_id` written `3.0` among ids written `3` (round 10): the same reject, reason and accepted rows
    on both engines (Spark: judged again once its sums show the stray, `spark_stops.stray_decimals`), and a
    `returns.customer_id` of the same form too."""
    from pipelines.engines.spark_input import load_spark

    returns = pd.DataFrame(
        {
            "return_id": ["R1", "R2", "R3", "R4"],
            "customer_id": ["1", "2", "2.0", "4"],
            "returned_at": ["2024-03-10"] * 4,
            "amount": ["1", "2", "3", "4"],
        }
    )
    data = _write(
        tmp_path / "data", orders=_ORD.assign(customer_id=["1", "2", "3", "4", "5", "3.0"]), returns=returns
    )
    expected = load_data(data)
    reason = "id written as a decimal number (42.0) among whole-number ids in customer_id"
    assert expected.result.report["orders"].rejected_by_reason == {reason: 1}
    assert expected.result.report["returns"].rejected_by_reason == {reason: 1}
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)
    assert _reject_files(tmp_path / "rejects" / "orders")["reason"].tolist() == [reason]


@pytest.mark.spark
@pytest.mark.parametrize("with_customers", [True, False])
def test_a_referral_of_a_customer_who_had_referred_before_is_rejected_as_by_pandas(
    spark, tmp_path, with_customers
):
    """Two customers naming each other and a chain back to its start (round 10): the same rejects and reasons on
    both engines, each referral judged in its referred customer's bucket against the referrals naming that
    customer as referrer (an unknown customer's or a duplicate's referral still shows who referred first)."""
    from pipelines.engines.spark_input import load_spark

    referrals = pd.DataFrame(
        {
            "referrer_id": ["C000001", "C000002", "C000003", "C000004", "C000005", "C000009", "C000006"],
            "referred_id": ["C000002", "C000001", "C000004", "C000005", "C000003", "C000006", "C000003"],
            "referred_at": ["2024-01-01", "2024-03-01", "2024-01-10", "2024-01-20", "2024-02-01", "2024-01-05",
                            "2024-01-03"],
        }
    )  # fmt: skip
    tables = dict(orders=_ORD, referrals=referrals) | (dict(customers=_CUST) if with_customers else {})
    data = _write(tmp_path / "data", **tables)
    expected = load_data(data)
    reasons = expected.result.rejects["referrals"]["reason"].tolist()
    # C000002 -> C000001 and C000005 -> C000003; without customers, also C000009 -> C000006 (C000006's own
    # referral, a duplicate referred_id, dated before)
    expected_count = 2 if with_customers else 3
    assert reasons.count("referred_id had referred a customer before this referral (a customer already)") == (
        expected_count
    )
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)
    files = _reject_files(tmp_path / "rejects" / "referrals")
    assert files["reason"].tolist() == reasons


@pytest.mark.spark
def test_model_read_categories_are_folded_and_a_stray_placeholder_rejected_as_by_pandas(spark, tmp_path):
    """A stray `NULL` or `-` in a model-read category is the same row reject in both engines, and fullwidth
    letters or a non-breaking space in one are the same category (NFKC); ids and personal text stay exact."""
    from pipelines.engines.spark_input import load_spark

    n = 300
    customers = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(n)],
            "segment": ["Ｂ２Ｂ" if i % 2 else "B2B" for i in range(n)],
            "region": ["NULL" if i == 0 else "-" if i == 1 else "North\u00a0East" if i % 3 else "North East"
                       for i in range(n)],
            "name": ["Ａnn"] * n,
        }
    )  # fmt: skip
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(n)],
            "customer_id": [f"C{i}" for i in range(n)],
            "ordered_at": ["2024-01-05"] * n,
            "revenue": ["10"] * n,
        }
    )
    data = _write(tmp_path / "data", orders=orders, customers=customers)
    expected = load_data(data)
    assert expected.result.report["customers"].rejected_by_reason == {
        "placeholder for a missing value in region (NULL, N/A, -, ...)": 2
    }
    assert set(expected.tables["customers"]["segment"]) == {"B2B"}
    assert set(expected.tables["customers"]["region"]) == {"North East"}
    got = load_spark(spark, data, CFG, tmp_path / "rejects")[0]
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)


@pytest.mark.spark
def test_spark_rejects_are_one_set_a_clean_rerun_leaves_no_earlier_part_directory(spark, tmp_path):
    """The executors write the rejects' parts into a staging directory and the driver swaps it in whole, as the
    pandas engine's rejects (`pipelines.loading.publish_rejects`): a rerun without rejects leaves the directory empty and
    marked (was: each `<rejects>/<table>/` overwritten only when that table had rejects again, yesterday's parts
    of a table clean today left for a user or a batch job to count)."""
    from pipelines.engines.spark_input import load_spark

    rejects = tmp_path / "rejects"
    bad = _write(
        tmp_path / "bad", orders=ORDERS, customers=CUSTOMERS, account_managers=MANAGERS, referrals=REFERRALS
    )
    _, written = load_spark(spark, bad, CFG, rejects)
    tables = ["account_managers", "customers", "orders", "referrals"]
    assert sorted(Path(p).name for p in written) == tables
    assert sorted(p.name for p in rejects.iterdir()) == [".cvp-rejects", *tables]
    assert all(Path(p).parent == rejects for p in written)
    clean = _write(
        tmp_path / "clean",
        orders=ORDERS.iloc[[0, 1, 9]],
        customers=CUSTOMERS.iloc[[0, 2, 5]],
        account_managers=MANAGERS.iloc[[0, 1]],
        referrals=REFERRALS.iloc[[3]],
    )
    expected = load_data(clean)
    assert expected.result.rows_rejected == 0
    got, written = load_spark(spark, clean, CFG, rejects)
    assert got.result.report == expected.result.report and written == []
    assert [p.name for p in rejects.iterdir()] == [".cvp-rejects"]  # no stale part directory survives
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # the staging directory gone


#: Invoices for `test_whole_base_stops_of_run_score_read_the_whole_tables_on_spark`: (paid_at, due_at) per case.
WHOLE_BASE = {
    "paid_at emptied": (["", "", ""], ["2024-01-20", "2024-02-20", "2024-05-20"]),
    "one paid_at": (["", "2024-02-10", ""], ["2024-01-20", "2024-02-20", "2024-05-20"]),
    "none due yet": (["", "", ""], ["2024-05-20", "2024-05-21", "2024-05-22"]),
}


@pytest.mark.spark
@pytest.mark.parametrize("case", list(WHOLE_BASE))
def test_whole_base_stops_of_run_score_read_the_whole_tables_on_spark(spark, tmp_path, case):
    """`run_score`'s whole-base checks (`check_after_first_order`) on the Spark driver's tables stop where the
    pandas engine's stop, with the same message and counts: an `invoices.paid_at` without a value on any invoice,
    some due before the last order (was: the driver's invoices keep no `paid_at`, so `cvp score --engine spark`
    scored every invoice as unpaid and overdue where the pandas engine exits 2). A single payment date, or no
    invoice due yet, stops neither."""
    from pipelines.engines.spark_input import load_spark
    from pipelines.loading import check_after_first_order

    paid, due = WHOLE_BASE[case]
    invoices = pd.DataFrame(
        {
            "invoice_id": ["I1", "I2", "I3"],
            "customer_id": ["C1", "C2", "C1"],
            "issued_at": ["2024-01-05", "2024-02-05", "2024-04-01"],
            "due_at": due,
            "paid_at": paid,
            "amount": ["10", "20", "30"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3"],
            "customer_id": ["C1", "C2", "C1"],
            "ordered_at": ["2024-01-05", "2024-02-05", "2024-04-01"],
            "revenue": ["10", "20", "30"],
        }
    )
    data = _write(tmp_path / "data", orders=orders, invoices=invoices)
    as_of = pd.Timestamp("2024-06-01")
    expected = load_data(data, currency=CFG.data.currency).tables
    got = load_spark(spark, data, CFG)[0].tables
    got.accepted.unpersist()
    if case != "paid_at emptied":
        check_after_first_order(expected, as_of, "score")
        check_after_first_order(got, as_of, "score")
        return
    with pytest.raises(StructuralError) as pandas_error:
        check_after_first_order(expected, as_of, "score")
    with pytest.raises(StructuralError) as spark_error:
        check_after_first_order(got, as_of, "score")
    head = str(pandas_error.value).split("Example rows")[0]
    assert "no value on any of the 3 invoices, 2 of them due before the last order" in head
    assert str(spark_error.value).startswith(head)
    assert "I1" in str(spark_error.value) and "I3" not in str(spark_error.value)  # the invoices due


@pytest.mark.spark
def test_the_zero_revenue_stop_on_spark_shows_the_pandas_example_rows(spark, tmp_path):
    """Revenue 0 on every accepted order stops `run_score` on both engines with the same message, example rows
    included: the pandas table's first five rows in its canonical order at their positions among the accepted rows,
    fetched from Spark (`SparkTables.example_rows`; was: the driver's orders, which keep their time and revenue only,
    issue 11)."""
    from pipelines.engines.spark_input import load_spark
    from pipelines.loading import check_after_first_order

    orders = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(1, 9)],
            "customer_id": ["C1", "C2", "C1", "C3", "C2", "C4", "C1", "C3"],
            "ordered_at": ["2024-03-05", "2024-01-02", "2024-02-01", "2024-01-02", "2024-04-01", "2024-01-01",
                           "2024-02-10", "2024-01-03"],
            "revenue": ["0", "0", "-1", "0", "0", "0", "0", "0"],
        }
    )  # fmt: skip
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3", "C4"]})
    data = _write(tmp_path / "data", orders=orders, customers=customers)
    expected = load_data(data, currency=CFG.data.currency).tables
    got = load_spark(spark, data, CFG)[0].tables
    assert "customer_id" not in got["orders"] and len(got["orders"]) == 7  # the negative revenue rejected
    errors = []
    for tables in (expected, got):
        with pytest.raises(StructuralError) as error:
            check_after_first_order(tables, pd.Timestamp("2024-06-01"), "score")
        errors.append(str(error.value))
    got.accepted.unpersist()
    assert "0 on every one of the 7 accepted orders" in errors[0] and "C4" in errors[0]
    assert errors[1] == errors[0]


@pytest.mark.spark
def test_referrals_dated_against_the_signups_are_rejected_and_stop_as_by_pandas(spark, tmp_path):
    """A referral before its referrer's signup (judged in the referrer's bucket) or after its referred customer's
    (in the referred's): the pandas rejects, reasons and their order (an unknown referrer first); most referrals
    after their referred customer's signup stop with the pandas message (round 13)."""
    from pipelines.engines.spark_input import load_spark
    from tests.pipelines.test_hostile_round13 import SIGNUP_CUSTOMERS, SIGNUP_REASONS, SIGNUP_REFERRALS

    data = _write(tmp_path / "data", orders=_ORD, customers=SIGNUP_CUSTOMERS, referrals=SIGNUP_REFERRALS)
    expected = load_data(data)
    assert expected.result.rejects["referrals"]["reason"].tolist() == SIGNUP_REASONS
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)
    assert _reject_files(tmp_path / "rejects" / "referrals")["reason"].tolist() == SIGNUP_REASONS
    late = SIGNUP_REFERRALS.iloc[[0, 2, 4]].assign(referred_at=["2024-03-01", "2024-03-01", "2024-05-01"])
    data = _write(tmp_path / "late", orders=_ORD, customers=SIGNUP_CUSTOMERS, referrals=late)
    with pytest.raises(StructuralError) as pandas_stop:
        load_data(data)
    with pytest.raises(StructuralError) as spark_stop:
        load_spark(spark, data, CFG)
    assert str(spark_stop.value) == str(pandas_stop.value)


@pytest.mark.spark
def test_assignments_outside_their_managers_tenure_are_rejected_and_stop_as_by_pandas(spark, tmp_path):
    """An assignment after its manager's `left_at` or before their `started_at` (judged per customer bucket, each
    holding the managers): the pandas rejects and reasons; most of them stop with the pandas message (round 13)."""
    from pipelines.engines.spark_input import load_spark
    from tests.pipelines.test_hostile_round13 import MANAGERS, TENURE_ROWS, _assignments

    ids = _CUST["customer_id"].tolist()
    tables = dict(orders=_ORD, customers=_CUST, account_managers=MANAGERS)
    data = _write(tmp_path / "data", **tables, assignments=_assignments(TENURE_ROWS, ids))
    expected = load_data(data)
    assert expected.result.rejects["assignments"]["source_row"].tolist() == [2, 3]
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)
    late = [("AM1", "2024-01-01")] * 3 + [("AM2", "2024-01-01")] * 2
    data = _write(tmp_path / "late", **tables, assignments=_assignments(late, ids))
    with pytest.raises(StructuralError) as pandas_stop:
        load_data(data)
    with pytest.raises(StructuralError) as spark_stop:
        load_spark(spark, data, CFG)
    assert "assignments are dated after their manager's left_at" in str(pandas_stop.value)
    assert str(spark_stop.value) == str(pandas_stop.value)


#: The fourteenth hunt's row rejects, batched into one load (one Spark run): a stray Unix time among the dates, a
#: zero-width space in a region, the header again behind a byte-order mark, a typographic minus; and a 1.2 MB cell,
#: which both engines read.
ROUND14_CUSTOMERS = _CUST.assign(region=["North", "West", "North", "North\u200b", "West", "West"])
ROUND14_ORDERS = _ORD.assign(
    ordered_at=["2024-01-05", "1704067200", "2024-02-03", "2024-03-01", "2024-03-02", "2024-03-05"],
    channel=["x" * 1_200_000, "web", "web", "web", "web", "web"],  # longer than Arrow's 1 MiB read block
    revenue=["10", "20.5", "\u221230", "40", "50", "60"],  # a typographic minus
)


def _same_stop(spark: object, data: Path, match: str, rejects: Path) -> None:
    """The pandas loader stops on `data` with a message matching `match`; the Spark loader with the same."""
    from pipelines.engines.spark_engine import mapped_errors
    from pipelines.engines.spark_input import load_spark

    with pytest.raises(StructuralError, match=match) as expected:
        load_data(data)
    with pytest.raises(StructuralError) as got, mapped_errors():
        load_spark(spark, data, CFG, rejects)
    assert str(got.value) == str(expected.value)


@pytest.mark.spark
def test_round14_row_rejects_are_the_pandas_ones(spark, tmp_path):
    """The fourteenth hunt's row rejects (a stray `1704067200` among dates, a zero-width space in a region): the
    same reasons, counts and accepted rows on both engines (the rules run on the Spark batches through
    `features.validation`); and its stops (a month without its day on half the dates, invisible characters in
    half the regions: `spark_masks`' `HIDDEN`): the same message."""
    from pipelines.engines.spark_input import load_spark
    from tests.pipelines.test_hostile_round14 import (
        HIDDEN_REGION,
        MINUS_REASON,
        UNIX_REASON,
        with_bom_header_inside,
    )

    data = _write(tmp_path / "data", orders=ROUND14_ORDERS, customers=ROUND14_CUSTOMERS)
    with_bom_header_inside(data / "orders.csv")
    expected = load_data(data)
    assert expected.result.report["orders"].rejected_by_reason == {
        UNIX_REASON: 1,
        "unknown customer_id": 1,
        MINUS_REASON: 1,
        "the header line repeated inside the file (concatenated exports?)": 1,
    }
    assert expected.result.report["customers"].rejected_by_reason == {HIDDEN_REGION: 1}
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)

    # a month without its day on 3 of 6 dates (ISO's other forms, `features.date_forms._ISO_OTHER`): the same stop
    months = _ORD.assign(
        ordered_at=["2024-01", "2024-02-01", "2024-02", "2024-03-01", "2024-03", "2024-03-05"]
    )
    stop = _write(tmp_path / "months", orders=months)
    _same_stop(spark, stop, "3 of 6 values are dates written in another form", tmp_path / "rejects")
    # a typographic minus on 3 of 6 amounts: its stop
    minus = _write(
        tmp_path / "minus", orders=_ORD.assign(revenue=["\u221210", "20", "\u221230", "\u201340", "5", "6"])
    )
    _same_stop(spark, minus, "3 of 6 values are negative numbers written with another", tmp_path / "rejects")
    # a zero-width space in 3 of 6 regions: the invisible characters' stop
    hidden = ROUND14_CUSTOMERS.assign(
        region=["North\u200b", "West", "North\u2060", "West\u00ad", "West", "West"]
    )
    stop = _write(tmp_path / "hidden", orders=_ORD, customers=hidden)
    _same_stop(spark, stop, "3 of 6 values are written with an invisible", tmp_path / "rejects")
    # 3 of the 6 customers exported a second time in lower case (`c000001`): the case twins' stop, which Spark
    # judges on the driver's ids (the two spellings hash to two buckets), before any reject is written
    twins = pd.concat([_CUST, _CUST.iloc[:3].assign(customer_id=lambda d: d["customer_id"].str.lower())])
    stop = _write(tmp_path / "twins", orders=_ORD, customers=twins)
    _same_stop(spark, stop, "3 ids \\(of 9 rows\\) have a twin differing only by", tmp_path / "twin-rejects")
    assert not (tmp_path / "twin-rejects").exists()


@pytest.mark.spark
def test_round15_rejects_and_stops_are_the_pandas_ones(spark, tmp_path):
    """The fifteenth hunt on Spark: a number a float cannot hold (`1e-400`, `1e400`) the same reject, counts and
    accepted rows (`features.parsing.unrepresentable` in the shared row checks), and so dates with `z`, `GMT` or
    `UTC+00:00` and a zone abbreviation (`features.dates._ISO`); without a customers table,
    orders naming customers in two letter cases (`C000001` / `c000001`) the same stop, judged on the driver's
    order ids before any reject is written; a customers table lacking half of the orders' customers the same stop
    (`features.crossrefs.check_respelled_refs`), tickets of customers it lacks the same rejects; a table linked
    from outside `--data` refused by the same message."""
    from pipelines.engines.spark_input import load_spark
    from tests.pipelines.test_hostile_round15 import RANGE_REASON, ZONE_REASON

    dates = [
        "2024-01-05t10:00:00z",
        "2024-02-01",
        "2024-02-03 10:00utc",
        "2024-03-01 10:00 UTC+00:00",
        "2024-03-02 10:00 GMT",
    ]
    orders = _ORD.assign(
        revenue=["10", "1e-400", "30", "1e400", "50", "60"], ordered_at=[*dates, "2024-03-05 10:00 CET"]
    )
    data = _write(tmp_path / "data", orders=orders)
    expected = load_data(data)
    assert expected.result.report["orders"].rejected_by_reason == {
        RANGE_REASON.format("revenue"): 2,
        ZONE_REASON.format("ordered_at"): 1,
    }
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)

    cases = pd.concat(
        [
            _ORD,
            _ORD.iloc[:3].assign(
                order_id=["P1", "P2", "P3"], customer_id=lambda d: d["customer_id"].str.lower()
            ),
        ]
    )
    twins = _write(tmp_path / "twins", orders=cases)
    _same_stop(
        spark, twins, "6 of 9 rows name one of 3 ids that have a twin differing", tmp_path / "twin-rejects"
    )
    assert not (tmp_path / "twin-rejects").exists()
    # a zone abbreviation on 3 of 6 dates: the stop of dates in another form, saying so
    zones = _write(
        tmp_path / "zones", orders=orders.assign(ordered_at=[*dates[:3], *["2024-03-05 10:00 IST"] * 3])
    )
    _same_stop(spark, zones, "3 of them name their time zone by an abbreviation", tmp_path / "rejects")
    # a customers table lacking half of the orders' customers: the incomplete export's stop, from the same masks
    partial = _write(tmp_path / "partial", orders=_ORD, customers=_CUST.iloc[:3])
    _same_stop(
        spark, partial, "3 of 6 rows name a customer the customers table does not list", tmp_path / "rejects"
    )
    # tickets of 3 prospects the customers table lacks: a side table's rows, the same rejects and no stop
    prospects = _TICKETS.drop(columns="satisfaction").assign(
        customer_id=["C000001", "L9001", "L9002", "L9003"]
    )
    side = _write(tmp_path / "prospects", orders=_ORD, customers=_CUST, tickets=prospects)
    expected = load_data(side)
    assert expected.result.report["tickets"].rejected_by_reason == {"unknown customer_id": 3}
    got, _ = load_spark(spark, side, CFG, tmp_path / "side-rejects")
    assert got.result.report == expected.result.report
    outside = _write(tmp_path / "elsewhere", tickets=_TICKETS)
    (twins / "orders.csv").write_text(_ORD.to_csv(index=False))
    (twins / "tickets.csv").symlink_to(outside / "tickets.csv")
    _same_stop(
        spark, twins, "tickets.csv in .* is a symbolic link to .*, outside the data", tmp_path / "rejects"
    )


@pytest.mark.spark
def test_round16_rejects_and_stops_are_the_pandas_ones(spark, tmp_path):
    """The sixteenth hunt on Spark: ids in Unicode compatibility forms or other digits (`Ｃ000002`, a
    non-breaking space inside; `C00000٤` in the stop) the same row reject, counts and accepted rows (`features.folded_ids`,
    one of the id rules the Spark batches run), an id of another script kept; on 3 of 6 ids the same stop, from
    `spark_masks`' `FOLDED_ID` summed in the one aggregation; dates in other digits on 3 of 6, the same stop; a gzip
    file named `orders.csv`, a cost column headed `ｃｏｓｔ` and a table file `ｏｒｄｅｒｓ.csv`, the same messages; a region `Nоrth` with a Cyrillic
    `о`, the same reject, a region `МОСКВА` kept, and a segment `B٢B` the same `B2B`."""
    from pipelines.engines.spark_input import load_spark
    from tests.pipelines.test_hostile_round16 import FOLDED, packed

    spelled = ["C000001", "\uff23000002", "C\u00a0000003", "C000004", "\u9867\u5ba2000005", "C000006"]
    data = _write(tmp_path / "data", orders=_ORD.assign(customer_id=spelled))
    expected = load_data(data)
    assert expected.result.report["orders"].rejected_by_reason == {FOLDED: 2}
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)
    # a region `Nоrth` with a Cyrillic `о`: the ids' lookalike reject, in a model-read category
    moscow = "\u041c\u041e\u0421\u041a\u0412\u0410"  # `МОСКВА`: every letter a lookalike, one script: kept
    regions = _CUST.assign(
        region=["North", "N\u043erth", "West", moscow, "North", "West"],
        segment=["B2B", "B\u0662B", "B2B", "B2C", "B2C", "B2B"],  # `B٢B` folded to `B2B`
    )
    data = _write(tmp_path / "regions", orders=_ORD, customers=regions)
    expected = load_data(data)
    assert sum(expected.result.report["customers"].rejected_by_reason.values()) == 1
    got, _ = load_spark(spark, data, CFG, tmp_path / "region-rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)
    wide = ["C000001", "\uff23000002", "C000003", "C00000\u0664", "C000005", "C\u00a0000006"]
    stop = _write(tmp_path / "stop", orders=_ORD.assign(customer_id=wide))
    _same_stop(spark, stop, "3 of 6 values are ids in Unicode compatibility forms", tmp_path / "stop-rejects")
    # dates in fullwidth or Arabic-Indic digits on 3 of 6: the stop of dates in another form (`OTHER_DATE`)
    days = ["2024-01-05", "\uff12\uff10\uff12\uff14-02-01", "2024-02-03", "\u0662\u0660\u0662\u0664-03-01"]
    dates = _ORD.assign(ordered_at=[*days, "2024-03-02 10:00\u202fAM", "2024-03-05"])
    stop = _write(tmp_path / "dates", orders=dates)
    _same_stop(spark, stop, "3 of them in other digits than 0-9", tmp_path / "stop-rejects")
    # a gzip file under the table's own name: named for what it is (`table_files._PACKED`)
    gz = tmp_path / "gz"
    gz.mkdir()
    (gz / "orders.csv").write_bytes(packed("gzip", _ORD.to_csv(index=False).encode()))
    _same_stop(spark, gz, "orders.csv is a gzip-compressed file", tmp_path / "stop-rejects")
    # a cost column headed `ｃｏｓｔ` (fullwidth): a contract column written otherwise (`features.names.name_key`)
    wide = _write(tmp_path / "wide", orders=_ORD.assign(**{"\uff43\uff4f\uff53\uff54": "5"}))
    _same_stop(spark, wide, "named like contract columns", tmp_path / "stop-rejects")
    (wide / "orders.csv").rename(
        wide / "\uff4f\uff52\uff44\uff45\uff52\uff53.csv"
    )  # the file so named: refused
    _same_stop(spark, wide, "looks like the 'orders' table, but file names are", tmp_path / "stop-rejects")


@pytest.mark.spark
def test_an_executor_error_reaches_the_cli_line_with_its_table_and_column(
    spark, capsys, tmp_path, monkeypatch
):
    """An unexpected error inside a Spark task quoting a cell: through Spark's own transport (a `PythonException`
    holding the worker's traceback text), the CLI line names the table and column the task knew
    (`features.errors.for_the_driver`, `pipelines.cli._where`), never the cell."""
    from pipelines.cli import _friendly
    from tests.helpers import PLANTED

    def body(batches):
        from features.errors import for_the_driver, working_on

        with for_the_driver(table="orders"):
            for batch in batches:
                with working_on(column="revenue"):
                    raise ValueError(f"could not convert string to float: {PLANTED!r}")
                yield batch

    frame = spark.createDataFrame(pd.DataFrame({"revenue": ["1", "2"]}))
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))  # the error log
    monkeypatch.delenv("CVP_DEBUG", raising=False)

    @_friendly
    def validate() -> None:
        frame.mapInPandas(body, "revenue string").collect()

    with pytest.raises(SystemExit):
        validate()
    line = " ".join(capsys.readouterr().err.split())
    assert "ann.smith" not in line
    assert "in cvp validate, table 'orders', column 'revenue', a ValueError on a Spark executor" in line, line


@pytest.mark.spark
def test_round16b_uuid_and_binary_ids_are_read_and_stop_as_by_pandas(spark, tmp_path):
    """Parquet ids typed UUID (Arrow's `arrow.uuid`, Parquet's UUID type alone): the same canonical 8-4-4-4-12
    text, rows and rejects (was, in Spark: `Illegal Parquet type: FIXED_LEN_BYTE_ARRAY (UUID)`); `binary` ids of
    UTF-8 text (Hive's, Impala's strings): the same text, rows and rejects; plain `fixed_size_binary(16)` ids:
    the pandas stop naming the type and the way out."""
    import pyarrow.parquet as pq

    from pipelines.engines.spark_input import load_spark
    from tests.pipelines.test_hostile_round16 import uuid_orders

    for arrow_schema in (True, False):
        data = tmp_path / f"uuid-{arrow_schema}"
        data.mkdir()
        pq.write_table(uuid_orders("uuid")[0], data / "orders.parquet", store_schema=arrow_schema)
        expected = load_data(data)
        got, _ = load_spark(spark, data, CFG, tmp_path / f"rejects-{arrow_schema}")
        assert got.result.report == expected.result.report
        _assert_driver_tables(got, expected)
    # Hive's and Impala's text (Spark reads it as `binary`): read as text, as by pandas
    data = tmp_path / "binary"
    data.mkdir()
    pq.write_table(uuid_orders("binary")[0], data / "orders.parquet")
    expected = load_data(data)
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects-binary")
    assert got.result.report == expected.result.report
    assert expected.tables["orders"]["customer_id"].tolist() == [f"C{i}" for i in range(5)]
    _assert_driver_tables(got, expected)
    data = tmp_path / "fixed"
    data.mkdir()
    pq.write_table(uuid_orders("fixed")[0], data / "orders.parquet")
    _same_stop(spark, data, "holds fixed-length binary values", tmp_path / "stop-rejects")


@pytest.mark.spark
def test_round16b_a_compressed_part_is_refused_before_any_escaped_quote_is_read(spark, tmp_path):
    """A part holding a backslash-escaped quote, compressed (round 16b): `part-0.csv.gz` is refused by name before
    Spark reads a byte (no split, no silent row); gzip bytes under `part-0.csv` are named for what they are, as
    `orders.csv` is by both engines (was, in Spark: 'not UTF-8 text (byte 1 is b'\\x8b')'); uncompressed, the
    part is the pandas engine's escaped-quote stop."""
    import gzip

    from pipelines.engines.spark_engine import mapped_errors
    from pipelines.engines.spark_input import load_spark

    text = _ORD.to_csv(index=False).replace("O2,", '"O\\"2",').encode()
    for name, body, match in [
        ("part-0.csv.gz", gzip.compress(text), r"holds 1 file\(s\) that are not .csv or .parquet part files: "
         r"part-0.csv.gz; their rows would not be read. Uncompress the parts"),
        ("part-0.csv", gzip.compress(text), r"^part-0.csv is a gzip-compressed file \(its first bytes\), not CSV"),
        ("part-0.csv", text, r"^part-0.csv: line 3 holds a quote escaped with a backslash"),
    ]:  # fmt: skip
        parts = tmp_path / f"{name}-{len(body)}" / "orders"
        parts.mkdir(parents=True)
        (parts / name).write_bytes(body)
        with pytest.raises(StructuralError, match=match), mapped_errors():
            load_spark(spark, parts.parent, CFG, tmp_path / "rejects")
    single = tmp_path / "single"
    single.mkdir()
    (single / "orders.csv").write_bytes(gzip.compress(text))
    _same_stop(spark, single, r"^orders.csv is a gzip-compressed file", tmp_path / "rejects")


@pytest.mark.spark
def test_round16b_dates_with_unicode_hyphens_stop_and_are_rejected_as_by_pandas(spark, tmp_path):
    """Dates written with Unicode's hyphen, non-breaking hyphen or figure dash for `-` (`2024\u201002\u201001`):
    on 3 of 6 the stop of dates in another form, the same message (`OTHER_DATE` through `_folded_dates`); a stray
    one the same `ambiguous or unknown date format` reject, counts and accepted rows."""
    from pipelines.engines.spark_input import load_spark

    days = ["2024-01-05", "2024\u201002\u201001", "2024\u201102\u201103", "2024\u201203\u201201"]
    stop = _write(tmp_path / "stop", orders=_ORD.assign(ordered_at=[*days, "2024-03-02", "2024-03-05"]))
    _same_stop(spark, stop, "3 of them in other digits than 0-9", tmp_path / "stop-rejects")
    stray = _ORD.assign(ordered_at=_ORD["ordered_at"].where(_ORD.index != 2, "2024\u201002\u201003"))
    data = _write(tmp_path / "stray", orders=stray)
    expected = load_data(data)
    assert expected.result.report["orders"].rejected_by_reason == {
        "ambiguous or unknown date format in ordered_at": 1
    }
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)


@pytest.mark.spark
def test_the_referrals_join_reads_the_bucket_step_persisted_not_rerun(spark, tmp_path):
    """The referrals' two copies are joined on the bucket step's output (a sort-merge join of two filters of it),
    and the other tables' rows are its third reader: without the step persisted first, Spark ran the Python bucket
    step (`check_bucket` on every customer's rows) once per reader, three times, the largest part of the validation's
    executor time at 12.5k and 50k demo customers (docs/spark.md). The frames the validation persists hold the
    bucket step's own output (a `FlatMapGroupsInPandas` at the root of its plan), one bucket per partition, and the
    verdicts stay the pandas loader's."""
    from pipelines.engines.spark_input import load_spark, validate_spark
    from pipelines.engines.spark_sources import data_uri, find_sources

    data = _write(
        tmp_path / "data", orders=ORDERS, customers=CUSTOMERS, account_managers=MANAGERS, referrals=REFERRALS
    )
    from pipelines.engines.spark_checks import BUCKET

    sources, _ = find_sources(spark, data_uri(data))
    _, _, cached, _ = validate_spark(spark, sources, CFG)
    try:
        roots = [frame._jdf.queryExecution().logical().nodeName() for frame in cached]
        step = cached[roots.index("FlatMapGroupsInPandas")]
        # each bucket a task of its own (`spark_slots.bucket_slots`): grouped by the bucket number itself, Spark's
        # hash put both buckets of local[2] in one partition, one core running the whole bucket step
        held = step.select(BUCKET).rdd.glom().map(lambda rows: sorted({r[0] for r in rows})).collect()
    finally:
        for frame in cached:
            frame.unpersist()
    assert len(held) == spark.sparkContext.defaultParallelism == 2
    assert all(len(slots) == 1 for slots in held), held  # both buckets hold customers here, one per partition
    expected = load_data(data)
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)


@pytest.mark.spark
def test_round17_pooled_account_ids_are_rejected_and_stop_as_by_pandas(spark, tmp_path):
    """The seventeenth hunt on Spark: a customer id `GUEST` / `cash` (a pooled account, `features.pooled_ids`, one
    of the id rules the Spark batches run) the same row reject, counts and accepted rows; `UNKNOWN` as the
    manager of 3 of 6 customers, the optional id's placeholder stop from `spark_masks`' `PLACEHOLDER`; a customer
    holding 11% of the orders, the same loading note (`pipelines.load_notes.pooled_customer_notes`)."""
    from pipelines.engines.spark_input import load_spark

    data = _write(
        tmp_path / "data", orders=_ORD.assign(customer_id=["C1", "GUEST", "C3", "cash", "GUEST42", "C6"])
    )
    expected = load_data(data)
    assert sum(expected.result.report["orders"].rejected_by_reason.values()) == 2
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)
    customers = _CUST.assign(account_manager_id=["AM1", "UNKNOWN", "unknown", "AM1", "Unknown", "AM1"])
    managers = pd.DataFrame({"account_manager_id": ["AM1"], "name": ["Ann"]})
    stop = _write(tmp_path / "stop", orders=_ORD, customers=customers, account_managers=managers)
    _same_stop(spark, stop, "export's placeholder for a missing value", tmp_path / "stop-rejects")
    # one customer holding 11% of 1,000 orders, the median one: the same note from the driver's orders, with a
    # customers table too (the driver then keeps no orders' customer id: the counts per customer come from the
    # streamed orders, `SparkTables.order_counts`), and the same case note of `C500` / `c500` (under the stop)
    # and, of the columns the driver does not keep, the same notes from the whole tables measured as they streamed:
    # `orders.promo`, `tickets.satisfaction` empty, every `tickets.opened_at` one instant (`SparkTables.stamped`)
    from features.stamped_dates import stamped_date_notes
    from pipelines.load_notes import case_notes, empty_column_notes, pooled_customer_notes
    from tests.helpers import raw_orders

    orders = raw_orders(1000).assign(ordered_at="2024-01-05", promo="")
    orders.loc[:109, "customer_id"] = "WEB-0000"
    orders.loc[999, "customer_id"] = "c500"
    customers = pd.DataFrame({"customer_id": orders["customer_id"].drop_duplicates()})
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"T{i}" for i in range(40)],
            "customer_id": [f"C{i}" for i in range(200, 240)],
            "opened_at": "2024-02-01",
            "effort_minutes": "15",
            "satisfaction": "",
        }
    )
    notes = (pooled_customer_notes, case_notes, empty_column_notes, stamped_date_notes)
    both = {"orders": orders, "customers": customers, "tickets": tickets}
    for name, tables in {"orders": {"orders": orders}, "customers": both}.items():
        data = _write(tmp_path / f"pooled-{name}", **tables)
        loaded = load_data(data).tables
        expected = [note(loaded) for note in notes]
        got, _ = load_spark(spark, data, CFG, tmp_path / f"pooled-{name}-rejects")
        assert all(expected), expected
        assert [note(got.tables) for note in notes] == expected, name
    assert "promo" not in got.tables["orders"] and "opened_at" not in got.tables["tickets"]  # the driver's
    assert len(expected[2]) == 2 and len(expected[3]) == 2, expected  # orders.ordered_at is one instant too


@pytest.mark.spark
def test_round17_a_rejected_cell_holding_a_carriage_return_stays_one_rejects_row(spark, tmp_path):
    """A Parquet `customer_id` `C\\r1` rejected (an invisible character) on Spark: its rejects part holds the row
    whole, read back by a CSV reader as one row, as the pandas engine's rejects file (`pipelines.csv_cells.line_end`)."""
    import pyarrow.csv as pv

    from pipelines.engines.spark_input import load_spark

    data = tmp_path / "data"
    data.mkdir()
    _ORD.assign(customer_id=["C1", "C\r2", "C3", "C4", "C5", "C6"]).to_parquet(
        data / "orders.parquet", index=False
    )
    expected = load_data(data)
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    parts = sorted((tmp_path / "rejects" / "orders").glob("part-*.csv"))
    rows = [
        r
        for p in parts
        for r in pv.read_csv(p, parse_options=pv.ParseOptions(newlines_in_values=True)).to_pylist()
    ]
    assert [r["customer_id"] for r in rows] == ["C\r2"] and rows[0]["reason"]


@pytest.mark.spark
def test_round17_an_empty_table_file_gets_the_pandas_message(spark, tmp_path):
    """An empty `orders.csv` (0 bytes; a byte-order mark and a line end only): the pandas engine's "the file is
    empty" on Spark too (`pipelines.io.check_not_empty`; was "has no column at all", found by the fuzz harness's
    Spark comparison)."""
    for name, content in (("zero", b""), ("bom", b"\xef\xbb\xbf\r\n")):
        data = tmp_path / name
        data.mkdir()
        (data / "orders.csv").write_bytes(content)
        _same_stop(spark, data, "the file is empty", tmp_path / "rejects")


@pytest.mark.spark
def test_round17_a_table_file_linking_to_nothing_stops_as_by_pandas(spark, tmp_path):
    """`tickets.csv` a symbolic link to a deleted file: the pandas engine's stop naming the link on Spark too (was:
    exit 1, `FileNotFoundError` from the header check, a traceback; found by the fuzz harness's Spark comparison)."""
    data = _write(tmp_path / "data", orders=_ORD)
    (data / "tickets.csv").symlink_to(data / "tickets-old.csv")
    _same_stop(
        spark, data, "tickets.csv in .* is a symbolic link to .*, which does not exist", tmp_path / "rej"
    )


@pytest.mark.spark
def test_mend_a_manager_tba_and_a_csv_opening_with_blank_lines_load_as_by_pandas(spark, tmp_path):
    """Manager initials `TBA` on half the customers: kept on Spark as by pandas (the pooled words are read in
    customer ids only, `features.pooled_ids.CUSTOMER_IDS`; was the placeholder stop on both); an `orders.csv`
    opening with 70,000 blank lines (more than the 64 KiB `check_not_empty` read): the same rows (was "the file is
    empty" on Spark only)."""
    from pipelines.engines.spark_input import load_spark

    customers = _CUST.assign(account_manager_id=["AM1", "TBA", "TBA", "AM1", "TBA", "AM1"])
    managers = pd.DataFrame({"account_manager_id": ["AM1", "TBA"], "name": ["Ann", "Tom"]})
    data = _write(tmp_path / "data", orders=_ORD, customers=customers, account_managers=managers)
    (data / "orders.csv").write_bytes(b"\n" * 70_000 + (data / "orders.csv").read_bytes())
    expected = load_data(data)
    assert not any(sum(r.rejected_by_reason.values()) for r in expected.result.report.values())
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)


@pytest.mark.spark
def test_the_data_age_reads_the_latest_event_of_any_table_as_by_pandas(spark, tmp_path):
    """`pipelines.data_age`: the data ends at its latest dated event of any table before the as-of, returns and
    invoices included, whose times the Spark driver does not keep (`SparkTables.latest_events`, found by Spark):
    the same latest event, the same judgement and message on both engines."""
    from pipelines.data_age import check_data_age, latest_event
    from pipelines.engines.spark_input import load_spark

    returns = pd.DataFrame(
        {"return_id": ["R1", "R2"], "customer_id": ["C000001", "C000002"],
         "returned_at": ["2024-03-20", "2024-04-10"], "amount": ["1", "1"]}
    )  # fmt: skip
    invoices = pd.DataFrame(
        {"invoice_id": ["I1", "I2"], "customer_id": ["C000001", "C000003"], "issued_at": ["2024-04-25", "2024-06-01"],
         "due_at": ["2024-05-25", "2024-07-01"], "amount": ["10", "10"]}
    )  # fmt: skip
    data = _write(tmp_path / "data", orders=_ORD, customers=_CUST, returns=returns, invoices=invoices,
                  tickets=_TICKETS.assign(satisfaction="4"))  # fmt: skip
    expected = load_data(data)
    got, _ = load_spark(spark, data, CFG)
    for as_of, latest, stale in (
        ("2024-05-01", ("2024-04-25", "invoices.issued_at"), False),  # orders end 2024-03-05: was stale
        ("2024-04-25", ("2024-04-10", "returns.returned_at"), False),
        ("2024-05-30", ("2024-04-25", "invoices.issued_at"), True),  # the invoice of 2024-06-01 is not read
    ):
        at = pd.Timestamp(as_of)
        assert latest_event(expected.tables, at) == (pd.Timestamp(latest[0]), latest[1])
        assert latest_event(got.tables, at) == latest_event(expected.tables, at)
        said: list[str] = []
        judged = check_data_age(expected.tables, at, CFG.labels, False, said.append)
        assert judged == check_data_age(got.tables, at, CFG.labels, False, said.append)
        assert (judged is not None) == stale and said == ([judged] * 2 if stale else [])
