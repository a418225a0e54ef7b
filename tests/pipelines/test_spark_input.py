"""The input of the Spark engine read and validated by Spark (issue 11): the same accepted rows, reasons, counts,
rejects and structural messages as the pandas loader, on tiny hand-written tables: the reads and the structural
stops. The other themes: `test_spark_stops.py` (column-level stops), `test_spark_cross_tables.py` (rules across
tables and rows), `test_spark_rounds.py` (the hunts' rejects and stops since round 14).

One local[2] session for every Spark test (the `spark` fixture of conftest.py). Without pyspark or Java these tests FAIL;
CVP_SKIP_SPARK=1 skips them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.validation import StructuralError
from pipelines.config import load_config
from pipelines.io import load_data
from tests.pipelines.spark_input_cases import (
    _ORD,
    CFG,
    CUSTOMERS,
    MANAGERS,
    ORDERS,
    REFERRALS,
    _assert_driver_tables,
    _reject_files,
    _write,
)

#: At most this many py4j calls for the first test's load (2,936 measured with Spark's defaults, 3,691 in the tests'
#: session, which evaluates expressions interpreted: `tests/conftest.py`; 4,606 with a `Column` per column selected,
#: not `spark_checks.projection`; 7,610 with PySpark's DataFrame debugging on, `spark_session` turns off)
CALLS_WITHOUT_DEBUGGING = 4_200


@pytest.mark.spark
def test_spark_validation_gives_the_pandas_rows_reasons_counts_and_rejects(spark, tmp_path, monkeypatch):
    """The four tables' load: the pandas loader's reports, accepted rows and rejects, in few jobs and py4j calls,
    each table's rows collected alone; the referrals' join on the bucket step persisted (`_bucket_step_held`,
    looked at inside this load: a validation of these same tables of its own before); a clean rerun."""
    from pyspark.sql.classic.dataframe import DataFrame

    from pipelines.engines import spark_input
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
    validate, looked = spark_input.validate_spark, {}

    def validate_and_look(*args, **kwargs):  # the validation's persisted frames, looked at before they go
        out = validate(*args, **kwargs)
        n_calls, jobs = len(calls), spark_jobs(spark)
        looked["held"] = _bucket_step_held(out[2])
        looked["plan"] = out[3]._jdf.queryExecution().analyzed().treeString()
        looked["calls"], looked["jobs"] = len(calls) - n_calls, spark_jobs(spark) - jobs  # not the load's
        return out

    monkeypatch.setattr(spark_input, "validate_spark", validate_and_look)
    expected = load_data(data)
    before = spark_jobs(spark)
    got, written = load_spark(spark, data, CFG, tmp_path / "rejects")
    monkeypatch.setattr(GatewayClient, "send_command", send)
    # one shuffle by customer bucket, not a job per check: the counts, the accepted rows (one stream per table)
    # and 4 reject directories (38 before: a header read per CSV, a window and a join per check; 7 with a job for
    # the managers' ids; 6 when the accepted rows of every table came in one collect of the wide union)
    assert spark_jobs(spark) - before - looked["jobs"] <= 9
    # PySpark's DataFrame debugging off (`spark_session`): it sent ~11 calls per Column call to record its Python
    # call site, 0.5-1 ms each under load, the driver waiting on every one
    assert len(calls) - looked["calls"] <= CALLS_WITHOUT_DEBUGGING, len(calls)
    # each bucket a task of its own (`spark_slots.bucket_slots`): grouped by the bucket number itself, Spark's
    # hash put both buckets of local[2] in one partition, one core running the whole bucket step
    assert len(looked["held"]) == spark.sparkContext.defaultParallelism == 2
    assert all(len(slots) == 1 for slots in looked["held"]), looked  # both buckets hold customers, one each
    # the judged rows persisted over a short plan (`spark_session.short_plan`): a frame built on them is analysed
    # over one scan, not again over the validation's self-join and unions (1-2 s of the driver's JVM per frame)
    assert "Join" not in looked["plan"] and "Union" not in looked["plan"], looked["plan"]
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
    _a_clean_rerun_leaves_no_earlier_part_directory(spark, tmp_path, written)


def _bucket_step_held(cached: list) -> list[list[int]]:
    """The buckets each partition of the persisted bucket step holds. The referrals' two copies are joined on the
    bucket step's output (a sort-merge join of two filters of it), and the other tables' rows are its third reader:
    without the step persisted first, Spark ran the Python bucket step (`check_bucket` on every customer's rows)
    once per reader, three times, the largest part of the validation's executor time at 12.5k and 50k demo
    customers (docs/spark.md). The frames the validation persists hold the bucket step's own output (a
    `FlatMapGroupsInPandas` at the root of its plan), one bucket per partition."""
    from pipelines.engines.spark_checks import BUCKET

    roots = [frame._jdf.queryExecution().logical().nodeName() for frame in cached]
    step = cached[roots.index("FlatMapGroupsInPandas")]
    return step.select(BUCKET).rdd.glom().map(lambda rows: sorted({r[0] for r in rows})).collect()


def _a_clean_rerun_leaves_no_earlier_part_directory(spark, tmp_path: Path, written: list[str]) -> None:
    """The executors write the rejects' parts into a staging directory and the driver swaps it in whole, as the
    pandas engine's rejects (`pipelines.loading.publish_rejects`): a rerun without rejects leaves the directory empty and
    marked (was: each `<rejects>/<table>/` overwritten only when that table had rejects again, yesterday's parts
    of a table clean today left for a user or a batch job to count). On the load above (its own test in
    `test_spark_cross_tables.py` before, which loaded these same tables again first)."""
    from pipelines.engines.spark_input import load_spark

    rejects = tmp_path / "rejects"
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
    from pipelines.engines.spark_driver_view import driver_view
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
        if at != as_of:
            continue
        # kept for the next reader (one job per as-of) until its last one (the Spark backend's chunk count)
        jobs = spark_jobs(spark)
        assert got.tables.status_tables(at, last=True) is by_customer and spark_jobs(spark) == jobs
        # then the driver holds the row per customer no longer: another reader would find it again by Spark
        again = got.tables.status_tables(at)
        assert again is not by_customer and spark_jobs(spark) > jobs
        pd.testing.assert_frame_equal(again["orders"], by_customer["orders"])
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
    from pipelines.engines.spark_driver_view import driver_view  # the driver keeps no order_id (issue 11)

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


def test_data_uri_keeps_the_scheme_slashes_path_removed(tmp_path):
    from pipelines.engines.spark_sources import data_uri

    assert data_uri(Path("s3a://bucket/company/2025")) == "s3a://bucket/company/2025"
    assert data_uri(Path("hdfs://nn:8020/data")) == "hdfs://nn:8020/data"
    assert data_uri(tmp_path / "data") == str(tmp_path / "data")
    assert data_uri(f"file:{tmp_path}/data") == f"file:{tmp_path}/data"
