"""Hostile input classes closed in the twentieth hunt: amounts grouped the Indian way (`1,23,456.00`). Tiny
hand-written files; no training, no model, no Spark session (the Spark cases: `test_hostile_round20_spark.py`)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from features.validation import StructuralError
from tests.helpers import raw_orders


def _orders_with_revenues(folder: Path, revenues: dict[int, str], n: int = 100) -> Path:
    """`n` orders (`raw_orders`) of revenue 10, the rows of `revenues` written as given."""
    folder.mkdir(parents=True, exist_ok=True)
    orders = raw_orders(n)
    for row, written in revenues.items():
        orders.loc[row, "revenue"] = written
    orders.to_csv(folder / "orders.csv", index=False)
    return folder


def test_amounts_grouped_the_indian_way_stop_a_stray_one_is_named(tmp_path):
    """India's exports (and Excel's en-IN format) group lakhs and crores: `1,23,456.00` is 123456. Was: each such
    value `unparseable revenue`, exit 0 (the demo with 4% of its revenues so: 121 orders gone), the thousands
    separators' stop not knowing the grouping. Now the same stop as `1,234.50` on 1% of the column, a stray one the
    separator's reject (`features.numbers._LOCALE_NUMBER`, both engines' masks)."""
    from pipelines.io import load_data

    written = {1: "1,23,456.00", 2: "12,34,567", 3: "1,00,000.50"}
    with pytest.raises(
        StructuralError, match=r"3 of 100 values are numbers written with a thousands separator"
    ):
        load_data(_orders_with_revenues(tmp_path / "many", written))
    report = load_data(_orders_with_revenues(tmp_path / "stray", {1: "1,23,456.00"}, n=400)).result.report
    assert report["orders"].rejected_by_reason == {
        "number with a thousands separator or decimal comma in revenue": 1
    }


_ORDERS_TEXT = raw_orders(3).to_csv(index=False)


@pytest.mark.parametrize(
    ("payload", "what"),
    [
        (b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head></html>\n", "an HTML page"),
        (b"\xef\xbb\xbf  <html>\n<body>Please sign in</body></html>\n", "an HTML page"),
        (b'<?xml version="1.0"?>\n<Error><Code>AccessDenied</Code></Error>\n', "an XML document"),
        (b'{"error": "unauthorized", "status": 401}\n', "JSON"),
        (b'[\n  {"order_id": "O1"}\n]\n', "JSON"),
        (_ORDERS_TEXT.encode("utf-16-le"), "UTF-16 text (little-endian, without a byte-order mark)"),
        (_ORDERS_TEXT.encode("utf-16-be"), "UTF-16 text (big-endian, without a byte-order mark)"),
        (_ORDERS_TEXT.encode("utf-32"), "UTF-32 text"),
    ],
    ids=["html", "html-bom", "xml", "json", "json-list", "utf16le", "utf16be", "utf32"],
)
def test_a_web_page_or_utf_16_text_saved_as_a_table_is_named_for_what_it_is(tmp_path, payload, what):
    """A download that returned its error or sign-in page, a web service's XML or JSON answer, saved under the
    table's name: was "missing required column(s) ...: its first line may be a data row (a file saved without its
    header line?)". UTF-16 text without a byte-order mark (Excel's "Unicode Text", PowerShell's default): was "line(s)
    hold only NUL bytes: a file padded with zeros" (little-endian) or a header of `\\x00"\\x00o...` (big-endian).
    Now each is named from its first bytes, with the way out (`pipelines.table_files._not_text`, in
    `check_format`: both engines' table files and parts, and a mapping's sources)."""
    from pipelines.io import load_data

    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_bytes(payload)
    with pytest.raises(
        StructuralError, match=rf"^orders\.csv is {re.escape(what)} \(its first bytes\), not UTF-8"
    ):
        load_data(data)


def test_csv_text_starting_like_markup_is_still_read(tmp_path):
    """A header that starts with a bracket or a less-than sign is no web page: `[order_id]` (a database tool's
    quoted names) stays the missing-columns stop, and a UTF-8 CSV with a byte-order mark is read."""
    from pipelines.io import load_data

    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_bytes(b"\xef\xbb\xbf" + _ORDERS_TEXT.encode())
    assert load_data(data).result.report["orders"].accepted == 3
    (data / "orders.csv").write_text("[order_id],[customer_id]\nO1,C1\n")
    with pytest.raises(StructuralError, match="missing required column"):
        load_data(data)


def _orders_at_end_of_day(folder: Path) -> Path:
    """100 orders at 10:15, every 10th written at ISO 8601's end of its day, `24:00` (with seconds, a zero
    fraction, an offset or a zone), one at `24:00:01` (no time)."""
    folder.mkdir(parents=True, exist_ok=True)
    orders = raw_orders(100)
    day = orders["ordered_at"]
    orders["ordered_at"] = day + " 10:15"
    ends = ["T24:00:00", " 24:00", "T24:00:00.000+01:00", "T24:00 Europe/Paris", "T24:00:00,0Z"]
    for k, row in enumerate(range(0, 100, 10)):
        orders.loc[row, "ordered_at"] = day[row] + ends[k % len(ends)]
    orders.loc[5, "ordered_at"] = day[5] + "T24:00:01"
    orders.to_csv(folder / "orders.csv", index=False)
    return folder


def test_iso_8601s_end_of_day_24_00_is_the_next_days_midnight(tmp_path):
    """`2023-01-05T24:00:00` is ISO 8601's end of that day (ISO 8601-1:2019/Amd 1:2022; PostgreSQL reads it;
    schedules and billing systems write it), the instant `2023-01-06T00:00:00`. Was: each such row rejected
    `unparseable ordered_at`, exit 0 (the demo with 39 of its 2,980 orders so: 39 orders lost). Now read as the
    next day's midnight, with its offset or zone (`features.dates._END_OF_DAY`, both engines' parser); `24:00:01`,
    which is no time, stays a reject."""
    from pipelines.io import load_data

    loaded = load_data(_orders_at_end_of_day(tmp_path / "data"))
    assert loaded.result.report["orders"].rejected_by_reason == {"unparseable ordered_at": 1}
    got = loaded.tables["orders"].set_index("order_id")["ordered_at"]
    assert got["O0"] == pd.Timestamp("2023-01-02 00:00") and got["O40"] == pd.Timestamp("2023-01-14 00:00")
    assert got["O20"] == pd.Timestamp("2023-01-21 23:00")  # 24:00+01:00 in UTC, the default timezone
    assert got["O1"] == pd.Timestamp("2023-01-02 10:15")


def _orders_parquet(folder: Path, column: str, kind: str) -> Path:
    """100 orders (`raw_orders`) as Parquet, revenue 344.82 and quantity 3, `column` stored as Arrow `kind`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    orders = raw_orders(100).assign(revenue=344.82, quantity=3, score=0.5)
    table = pa.Table.from_pandas(orders, preserve_index=False)
    at = table.schema.get_field_index(column)
    table = table.set_column(at, column, table[column].cast(pa.float64()).cast(kind))
    pq.write_table(table, folder / "orders.parquet")
    return folder


@pytest.mark.parametrize("column", ["revenue", "quantity"])
def test_a_number_column_stored_as_16_bit_floats_stops(tmp_path, column):
    """A Parquet `float16` column (a colleague's script saving memory, `astype("float16")`) keeps about 3
    significant digits: 344.82 is stored as 344.75, 2049 as 2048, nothing above 65,504. Was: read as stored by the
    pandas engine, exit 0 (the demo's revenue so: 35 returns then rejected `amount above its order's revenue`, every
    amount off by up to 0.1%); Spark stopped with its own "Illegal Parquet type". Now the column-type stop naming the
    table, column and type (`features.column_types.half_floats`, both engines); an id or a column outside the
    contract stored so is judged as before."""
    import pyarrow as pa

    from pipelines.io import load_data

    with pytest.raises(StructuralError, match=rf"column '{column}' holds 16-bit floats \(half precision"):
        load_data(_orders_parquet(tmp_path / "data", column, pa.float16()))
    loaded = load_data(_orders_parquet(tmp_path / "other", "score", pa.float16()))
    assert loaded.result.report["orders"].accepted == 100
    assert loaded.tables["orders"]["revenue"].iloc[0] == 344.82


def test_the_spark_engines_half_float_check_reads_every_parquet_part(tmp_path):
    """The Spark engine's footer check (`spark_sources._check_half_floats`, no Spark session needed) judges each
    local part, by the pandas engine's rule (`features.column_types.half_float_column`). Was: the first part
    only, a second part of 16-bit floats left to Spark's "Illegal Parquet type"."""
    import pyarrow as pa

    from pipelines.engines.spark_sources import _check_half_floats

    parts = [
        _orders_parquet(tmp_path / "p0", "revenue", pa.float64()) / "orders.parquet",
        _orders_parquet(tmp_path / "p1", "revenue", pa.float16()) / "orders.parquet",
    ]
    _check_half_floats("orders", parts[:1])
    with pytest.raises(StructuralError, match=r"column 'revenue' holds 16-bit floats \(half precision"):
        _check_half_floats("orders", parts)


@pytest.mark.parametrize(
    ("value", "unit"), [("1672574400000000", "microseconds"), ("1672574400000000000", "nanoseconds")]
)
def test_unix_time_in_microseconds_or_nanoseconds_is_named_as_seconds_are(tmp_path, value, unit):
    """Unix time in microseconds (Debezium's and Kafka Connect's change events, Avro's `timestamp-micros`) or
    nanoseconds (Go's `UnixNano`, pandas' int64) among a date column's ISO dates: was each row `ambiguous or unknown
    date format in ordered_at`, exit 0 (the demo with 5% of its orders so: 149 lost), and a whole column so stopped
    without the hint seconds and milliseconds get. Now as seconds and milliseconds are: on 1% of the column the
    stop for dates in another form naming the unit (`features.numeric_dates.EPOCH_MICROS`, `EPOCH_NANOS`), a stray one the
    Unix time reject; both engines (`other_date_forms`, `unix_times`)."""
    from features.date_forms import UNIX_TIME_REASON
    from pipelines.io import load_data

    data = tmp_path / "data"
    data.mkdir()
    orders = raw_orders(400)
    orders.loc[::100, "ordered_at"] = value
    orders.to_csv(data / "orders.csv", index=False)
    said = rf"The values look like Unix time in {unit} since 1970-01-01 UTC \({value} is 2023-01-01 12:00:00 UTC\)"
    with pytest.raises(StructuralError, match=said):
        load_data(data)
    orders = raw_orders(400)
    orders.loc[7, "ordered_at"] = value
    orders.to_csv(data / "orders.csv", index=False)
    report = load_data(data).result.report["orders"]
    assert report.rejected_by_reason == {UNIX_TIME_REASON.format("ordered_at"): 1}


def test_columns_named_with_their_table_in_front_stop_saying_so(tmp_path):
    """Hive's and Beeline's result headers (and many SQL clients' `SELECT *` over a join) name each column with its
    table: `orders.order_id`. Was: "none of its 4 header cells is named like a column: its first line may be a data
    row (a file saved without its header line?)"; an optional one alone (`o.cost`) ignored with a note, the cost
    dropped. Now a stop naming each column and the contract's name (`features.header.check_qualified_names`, both
    engines' header checks); a qualified column beside its contract twin (`returns.order_id` in a join) is outside
    the contract, as before."""
    from pipelines.io import load_data

    data = tmp_path / "data"
    data.mkdir()
    orders = raw_orders(3)
    orders.rename(columns=lambda c: f"orders.{c}").to_csv(data / "orders.csv", index=False)
    with pytest.raises(
        StructuralError, match=r"named with a table's name in front: 'orders.order_id' -> 'order_id'"
    ):
        load_data(data)
    orders.assign(**{"o.cost": "1"}).to_csv(data / "orders.csv", index=False)
    with pytest.raises(StructuralError, match=r"in front: 'o.cost' -> 'cost'"):
        load_data(data)
    orders.assign(**{"returns.order_id": "R1"}).to_csv(data / "orders.csv", index=False)
    assert load_data(data).result.report["orders"].accepted == 3


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("customers", "Home.Phone"),  # R's write.csv: `Home Phone` -> `Home.Phone`
        ("customers", "default_address.phone"),  # pandas' json_normalize
        ("orders", "Shipping.Cost"),
        ("orders", "Std. Cost"),  # an abbreviation
    ],
)
def test_an_extra_column_with_a_dot_in_its_name_is_read_as_outside_the_contract(tmp_path, table, column):
    """A dotted header cell whose last part names an optional contract column the table lacks is an ordinary
    extra column unless its front is a contract table's name, a short SQL alias or shared by most cells (Hive).
    Was (round 20's first `check_qualified_names`): a stop asking to rename `Home.Phone` to `phone`. Now a note."""
    from pipelines.io import load_data

    data = tmp_path / "data"
    data.mkdir()
    orders = raw_orders(3)
    frames = {"orders": orders, "customers": pd.DataFrame({"customer_id": orders["customer_id"].unique()})}
    frames[table] = frames[table].assign(**{column: "1"})
    for name, frame in frames.items():
        frame.to_csv(data / f"{name}.csv", index=False)
    loaded = load_data(data).result
    assert loaded.report[table].ignored_columns == (column,)
    assert loaded.report["orders"].accepted == 3


@pytest.mark.parametrize("rows_only", [False, True], ids=["every-line", "rows-only"])
def test_a_space_after_each_comma_before_a_quoted_field_is_named(tmp_path, rows_only):
    """`"O1", "C1", "2023-01-05"` (a hand-written file, a script joining with `", "`): RFC 4180 reads the space and
    the quotes as part of the value. Was: "missing required column(s) ...; did you mean ' \\"customer_id\\"'? (column
    names are case-sensitive)", or with the header written plainly "no value parses as a date" over dates shown in
    quotes. Now named from the first lines (`pipelines.csv_reading._check_spaced_quotes`, in `check_csv_header`:
    both engines' header check); a quoted value holding `, "` and a plain space after a comma are read."""
    from pipelines.io import load_data

    data = tmp_path / "data"
    data.mkdir()
    lines = raw_orders(3).to_csv(index=False, quoting=1).splitlines()
    spaced = [line.replace('","', '", "') for line in lines]
    (data / "orders.csv").write_text("\n".join(lines[:1] + spaced[1:] if rows_only else spaced) + "\n")
    with pytest.raises(
        StructuralError, match=rf"line {2 if rows_only else 1} writes a space after the comma"
    ):
        load_data(data)
    orders = raw_orders(3).assign(channel=['web, "promo"', " shop", "app"])
    orders.to_csv(data / "orders.csv", index=False)
    assert load_data(data).result.report["orders"].accepted == 3


def test_the_spaced_quotes_stop_names_the_line_after_a_value_spanning_lines(tmp_path):
    """The line named is the file's line, not the CSV record's number (was: "line 3" for line 4, the first row's
    channel written on two lines)."""
    from pipelines.io import load_data

    data = tmp_path / "data"
    data.mkdir()
    lines = (
        raw_orders(3).assign(channel=["web\nshop", "app", "app"]).to_csv(index=False, quoting=1).splitlines()
    )
    (data / "orders.csv").write_text("\n".join(lines[:3] + [lines[3].replace('","', '", "')]) + "\n")
    with pytest.raises(StructuralError, match=r"orders.csv: line 4 writes a space after the comma"):
        load_data(data)


def test_returns_naming_their_orders_in_another_letter_case_stop(tmp_path):
    """Returns whose `order_id` another system wrote in lower case (`o5` for the orders' `O5`): was every return
    kept, exit 0, and the checks against its order (another customer's, above its revenue, before it) skipped
    without a word. Now the customer references' rule for respelled ids (`features.crossrefs.check_respelled_refs`,
    via `check_respelled_orders`); a few such returns stay kept (an order older than the export)."""
    from pipelines.io import load_data

    orders = raw_orders(100)
    returns = pd.DataFrame(
        {
            "return_id": [f"R{i}" for i in range(10)],
            "customer_id": orders["customer_id"][:10],
            "returned_at": "2023-02-01",
            "amount": "1",
            "order_id": orders["order_id"][:10].str.lower(),
        }
    )
    data = tmp_path / "data"
    data.mkdir()
    orders.to_csv(data / "orders.csv", index=False)
    returns.to_csv(data / "returns.csv", index=False)
    said = r"table 'returns', column 'order_id': 10 of 10 rows name an order the orders table writes otherwise \('o0'"
    with pytest.raises(StructuralError, match=said):
        load_data(data)
    returns.assign(order_id=["o0", "o1", *orders["order_id"][2:10]]).to_csv(data / "returns.csv", index=False)
    assert load_data(data).result.report["returns"].accepted == 10


def test_a_config_key_in_the_wrong_section_names_the_section_it_belongs_to(tmp_path):
    """`features: {horizon_days: 90}` (the horizon written under the features it shapes): was "unknown key
    'features.horizon_days' (known keys here: windows_days, ...)", the section's list, nothing about where the key
    goes. Now the section that holds it (`pipelines.config._key_places`); a misspelt key keeps its "did you mean"."""
    from pipelines.config import load_config

    config = tmp_path / "config.yaml"
    config.write_text("features:\n  horizon_days: 90\n")
    with pytest.raises(
        StructuralError, match=r"'horizon_days' is a key of another section: 'labels.horizon_days'"
    ):
        load_config(config)
    config.write_text("labels:\n  horizn_days: 90\n")
    with pytest.raises(StructuralError, match=r"did you mean 'labels.horizon_days'\?"):
        load_config(config)
