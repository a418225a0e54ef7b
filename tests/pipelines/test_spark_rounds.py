"""The hunts' rejects and stops since round 14 on the Spark engine: the same as the pandas engine's, on tiny
hand-written tables (`test_spark_input.py`'s theme split off; its session and skip rules).

A column-level stop summed from a mask of the executors' row step is judged on the engine's driver without a load
(`spark_stop_driver.same_driver_stop`: the row step, the bucket step and the aggregation's sums in pandas, then the
driver's stops), the Spark side of its family run by a real load of `test_spark_stops.SPARK_LOADS` (a Spark load
of each cost 3-8 CPU-s); the stops judged elsewhere (the case twins on the driver's ids, files refused by their
name or bytes, a column header) still load.
"""

from __future__ import annotations

import pandas as pd
import pytest

from features.validation import StructuralError
from pipelines.io import load_data
from tests.pipelines.spark_input_cases import (
    _CUST,
    _ORD,
    _TICKETS,
    CFG,
    _assert_driver_tables,
    _same_stop,
    _write,
)
from tests.pipelines.spark_stop_driver import same_driver_stop

#: The fourteenth hunt's row rejects, batched into one load (one Spark run): a stray Unix time among the dates, a
#: zero-width space in a region, the header again behind a byte-order mark, a typographic minus; and a 1.2 MB cell,
#: which both engines read.
ROUND14_CUSTOMERS = _CUST.assign(region=["North", "West", "North", "North\u200b", "West", "West"])
ROUND14_ORDERS = _ORD.assign(
    ordered_at=["2024-01-05", "1704067200", "2024-02-03", "2024-03-01", "2024-03-02", "2024-03-05"],
    channel=["x" * 1_200_000, "web", "web", "web", "web", "web"],  # longer than Arrow's 1 MiB read block
    revenue=["10", "20.5", "\u221230", "40", "50", "60"],  # a typographic minus
)


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
    same_driver_stop(stop, "3 of 6 values are dates written in another form", CFG)
    # a typographic minus on 3 of 6 amounts: its stop
    minus = _write(
        tmp_path / "minus", orders=_ORD.assign(revenue=["\u221210", "20", "\u221230", "\u201340", "5", "6"])
    )
    same_driver_stop(minus, "3 of 6 values are negative numbers written with another", CFG)
    # a zero-width space in 3 of 6 regions: the invisible characters' stop
    hidden = ROUND14_CUSTOMERS.assign(
        region=["North\u200b", "West", "North\u2060", "West\u00ad", "West", "West"]
    )
    stop = _write(tmp_path / "hidden", orders=_ORD, customers=hidden)
    same_driver_stop(stop, "3 of 6 values are written with an invisible", CFG)
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
    # tickets of 3 prospects the customers table lacks: a side table's rows, the same rejects and no stop (its own
    # load before; these tables give the orders and the tickets each the report it had alone)
    prospects = _TICKETS.drop(columns="satisfaction").assign(
        customer_id=["C000001", "L9001", "L9002", "L9003"]
    )
    data = _write(tmp_path / "data", orders=orders, customers=_CUST, tickets=prospects)
    expected = load_data(data)
    assert expected.result.report["orders"].rejected_by_reason == {
        RANGE_REASON.format("revenue"): 2,
        ZONE_REASON.format("ordered_at"): 1,
    }
    assert expected.result.report["tickets"].rejected_by_reason == {"unknown customer_id": 3}
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
    same_driver_stop(zones, "3 of them name their time zone by an abbreviation", CFG)
    # a customers table lacking half of the orders' customers: the incomplete export's stop, from the same masks
    partial = _write(tmp_path / "partial", orders=_ORD, customers=_CUST.iloc[:3])
    # a real load (review of the test-time cut: the only Spark run of `cross_table_stops`' branch with a
    # customers table, the bucket step's unknown-customer counts and `check_respelled_refs` on the driver)
    _same_stop(
        spark, partial, "3 of 6 rows name a customer the customers table does not list", tmp_path / "rejects"
    )
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
    # round 16b: a stray date written with Unicode's hyphen (`2024\u201003\u201001`): the same `ambiguous or
    # unknown date format` reject, counts and accepted rows (on this load: its own before)
    orders = _ORD.assign(
        customer_id=spelled, ordered_at=_ORD["ordered_at"].where(_ORD.index != 3, "2024\u201003\u201001")
    )
    # a region `Nоrth` with a Cyrillic `о`: the ids' lookalike reject, in a model-read category; in the same load
    # (two before: the customers list the id of another script; the order of the customer rejected for the
    # lookalike region is rejected for its folded id here, so its `unknown customer_id` reject of the regions'
    # own load is not made here: `test_spark_cross_tables.py`'s half-point / e-mail load makes that one)
    moscow = "\u041c\u041e\u0421\u041a\u0412\u0410"  # `МОСКВА`: every letter a lookalike, one script: kept
    regions = _CUST.assign(
        region=["North", "N\u043erth", "West", moscow, "North", "West"],
        segment=["B2B", "B\u0662B", "B2B", "B2C", "B2C", "B2B"],  # `B٢B` folded to `B2B`
    )
    other = pd.DataFrame({"customer_id": [spelled[4]], "region": ["North"], "segment": ["B2B"]})
    customers = pd.concat([regions, other], ignore_index=True)
    data = _write(tmp_path / "data", orders=orders, customers=customers)
    expected = load_data(data)
    hyphen = "ambiguous or unknown date format in ordered_at"
    assert expected.result.report["orders"].rejected_by_reason == {FOLDED: 2, hyphen: 1}
    assert sum(expected.result.report["customers"].rejected_by_reason.values()) == 1
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)
    wide = ["C000001", "\uff23000002", "C000003", "C00000\u0664", "C000005", "C\u00a0000006"]
    stop = _write(tmp_path / "stop", orders=_ORD.assign(customer_id=wide))
    same_driver_stop(stop, "3 of 6 values are ids in Unicode compatibility forms", CFG)
    # dates in fullwidth or Arabic-Indic digits on 3 of 6: the stop of dates in another form (`OTHER_DATE`)
    days = ["2024-01-05", "\uff12\uff10\uff12\uff14-02-01", "2024-02-03", "\u0662\u0660\u0662\u0664-03-01"]
    dates = _ORD.assign(ordered_at=[*days, "2024-03-02 10:00\u202fAM", "2024-03-05"])
    stop = _write(tmp_path / "dates", orders=dates)
    same_driver_stop(stop, "3 of them in other digits than 0-9", CFG)
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


def test_round16b_dates_with_unicode_hyphens_stop_and_are_rejected_as_by_pandas(tmp_path):
    """Dates written with Unicode's hyphen, non-breaking hyphen or figure dash for `-` (`2024\u201002\u201001`):
    on 3 of 6 the stop of dates in another form, the same message (`OTHER_DATE` through `_folded_dates`, judged on
    the engine's driver); a stray one the same `ambiguous or unknown date format` reject, counts and accepted rows
    (on round 16's load, `test_round16_rejects_and_stops_are_the_pandas_ones`)."""
    days = ["2024-01-05", "2024\u201002\u201001", "2024\u201102\u201103", "2024\u201203\u201201"]
    stop = _write(tmp_path / "stop", orders=_ORD.assign(ordered_at=[*days, "2024-03-02", "2024-03-05"]))
    same_driver_stop(stop, "3 of them in other digits than 0-9", CFG)


@pytest.mark.spark
def test_round17_pooled_account_ids_are_rejected_and_stop_as_by_pandas(spark, tmp_path):
    """The seventeenth hunt on Spark: a customer id `GUEST` / `cash` (a pooled account, `features.pooled_ids`, one
    of the id rules the Spark batches run) the same row reject, counts and accepted rows; `UNKNOWN` as the
    manager of 3 of 6 customers, the optional id's placeholder stop from `spark_masks`' `PLACEHOLDER`; a customer
    holding 11% of the orders, the same loading note (`pipelines.load_notes.pooled_customer_notes`)."""
    from pipelines.engines.spark_input import load_spark

    customers = _CUST.assign(account_manager_id=["AM1", "UNKNOWN", "unknown", "AM1", "Unknown", "AM1"])
    managers = pd.DataFrame({"account_manager_id": ["AM1"], "name": ["Ann"]})
    stop = _write(tmp_path / "stop", orders=_ORD, customers=customers, account_managers=managers)
    same_driver_stop(stop, "export's placeholder for a missing value", CFG)
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
    # the pooled ids' rejects ride on the orders-only load (their own load before): one instant, no promo, as the
    # orders the notes are judged on
    pooled = _ORD.assign(
        order_id=[f"P{i}" for i in range(6)],
        customer_id=["C1", "GUEST", "C3", "cash", "GUEST42", "C6"],
        ordered_at="2024-01-05",
        promo="",
    )
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
    for name, tables in {"orders": {"orders": pd.concat([orders, pooled])}, "customers": both}.items():
        data = _write(tmp_path / f"pooled-{name}", **tables)
        loaded = load_data(data)
        expected = [note(loaded.tables) for note in notes]
        got, _ = load_spark(spark, data, CFG, tmp_path / f"pooled-{name}-rejects")
        assert all(expected), expected
        assert [note(got.tables) for note in notes] == expected, name
        if name == "orders":  # `GUEST`, `cash` rejected, `GUEST42` kept: the same report and accepted rows
            assert sum(loaded.result.report["orders"].rejected_by_reason.values()) == 2
            assert got.result.report == loaded.result.report
            _assert_driver_tables(got, loaded)
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
def test_the_data_age_reads_the_latest_event_of_any_table_as_by_pandas(spark, tmp_path):
    """`pipelines.data_age`: the data ends at its latest dated event of any table before the as-of, returns and
    invoices included, whose times the Spark driver does not keep (`SparkTables.latest_events`, found by Spark):
    the same latest event, the same judgement and message on both engines.

    On the same load (its own test before; its tables give every table no reject, as alone): manager initials
    `TBA` on half the customers, kept on Spark as by pandas (the pooled words are read in customer ids only,
    `features.pooled_ids.CUSTOMER_IDS`; was the placeholder stop on both); an `orders.csv` opening with 70,000
    blank lines (more than the 64 KiB `check_not_empty` read): the same rows (was "the file is empty" on Spark
    only)."""
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
    customers = _CUST.assign(account_manager_id=["AM1", "TBA", "TBA", "AM1", "TBA", "AM1"])
    managers = pd.DataFrame({"account_manager_id": ["AM1", "TBA"], "name": ["Ann", "Tom"]})
    data = _write(tmp_path / "data", orders=_ORD, customers=customers, account_managers=managers, returns=returns,
                  invoices=invoices, tickets=_TICKETS.assign(satisfaction="4"))  # fmt: skip
    (data / "orders.csv").write_bytes(b"\n" * 70_000 + (data / "orders.csv").read_bytes())
    expected = load_data(data)
    assert not any(sum(r.rejected_by_reason.values()) for r in expected.result.report.values())
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)
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
    # the days holding a table whose times the driver keeps not (`SparkTables.event_days`, one small job): the
    # stopped-table rule's own longest gap (`pipelines.data_age.stopped_tables`) as the pandas tables give it
    at = pd.Timestamp("2024-07-15")
    days = expected.tables["invoices"]["issued_at"].to_numpy().astype("datetime64[D]")  # naive: UTC
    assert list(got.tables.event_days("invoices", "issued_at", at)) == sorted(set(days))
    assert list(got.tables.event_days("invoices", "issued_at", pd.Timestamp("2024-05-01"))) == [days.min()]
    # the other such tables' days came in the same job (kept for their reader): each table's own, not another's
    for table, column in (("returns", "returned_at"), ("tickets", "opened_at")):
        if table in got.tables:
            t = expected.tables[table][column]
            own = t[t < at].to_numpy().astype("datetime64[D]")
            assert list(got.tables.event_days(table, column, at)) == sorted(set(own)), table
