"""Hostile input classes closed in the twenty-second hunt: dates as Go's `time.Time.String()` writes them, Oracle's
timestamps among ISO dates, MySQL's and SAP's zero dates, phone numbers as ids, refunds as negative orders, efforts as durations, a report's footer, a table file beside its parts' directory, a Parquet column of raw bytes outside the contract, a config or
mapping nested hundreds of levels deep. Tiny hand-written files; no training, no model, no Spark session (the Spark
cases: in `test_hostile_round20_spark.py`'s one load)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.validation import StructuralError
from tests.helpers import raw_orders

#: Go's `time.Time.String()` (`fmt.Println(t)`): the offset, then the zone's abbreviation, then for a time read
#: from the clock its monotonic reading; each value the instant 2023-01-02 09:00 UTC.
GO_TIMES = [
    "2023-01-02 09:00:00 +0000 UTC",
    "2023-01-02 10:00:00.5 +0100 CET",
    "2023-01-02 12:00:00 +0300 +03",
    "2023-01-02 04:00:00 -0500 EST m=+0.000012345",
]


def _stops(folder: Path, said: str, **options: object) -> None:
    """Loading `folder` stops with a structural error matching `said` (`options`: `load_data`'s)."""
    from pipelines.io import load_data

    with pytest.raises(StructuralError, match=said):
        load_data(folder, **options)


def test_dates_as_go_writes_them_are_read_by_their_offset(tmp_path):
    """A service or script written in Go prints a time as `2023-01-02 10:00:00 +0100 CET` (`time.Time.String()`,
    `%v`; with ` m=+0.000012` after a time read from the clock). Was: each row rejected `ambiguous or unknown date
    format in ordered_at`, exit 0 (the demo with 5% of its orders so written lost 149 orders, no stop). Now read as
    the instant its offset names (`features.dates._GO`, both engines' parser); an abbreviation contradicting the
    offset (`+0100 UTC`, `+0300 +04`) and an abbreviation without an offset (`CET`) stay rejects."""
    from pipelines.io import load_data

    folder = tmp_path / "data"
    folder.mkdir()
    orders = raw_orders(40)
    orders.loc[: len(GO_TIMES) - 1, "ordered_at"] = GO_TIMES
    orders.loc[10, "ordered_at"] = "2023-01-02 10:00:00 +0100 UTC"
    orders.loc[11, "ordered_at"] = "2023-01-02 10:00:00 +0300 +04"
    orders.loc[12, "ordered_at"] = "2023-01-02 10:00:00 CET"
    orders.to_csv(folder / "orders.csv", index=False)
    loaded = load_data(folder)
    report = loaded.result.report["orders"]
    assert report.rejected_by_reason == {
        "ambiguous or unknown date format in ordered_at": 2,
        "a time zone abbreviation in ordered_at (CET, EST, IST, GMT+1: not one instant; write an offset such as "
        "+01:00, Z, or an IANA zone name such as Europe/Paris)": 1,
    }
    got = loaded.tables["orders"].set_index("order_id")["ordered_at"]
    nine = pd.Timestamp("2023-01-02 09:00")
    assert list(got[["O0", "O2", "O3"]]) == [nine] * 3 and got["O1"] == nine + pd.Timedelta(milliseconds=500)


def test_oracles_timestamps_among_iso_dates_stop_as_dates_in_another_form(tmp_path):
    """Oracle writes a `TIMESTAMP` as `05-JAN-21 08.39.05.000000 AM` (its default `NLS_TIMESTAMP_FORMAT`, the time
    with points). A part of a column so written (two exports put together) was each row rejected `ambiguous or
    unknown date format`, exit 0 (the demo with 5% of its orders so: 149 lost); `_OTHER_DATE` knew the date form
    (`05-JAN-21`) with a time written with colons only. Now the stop for dates in another form (both engines'
    `features.date_forms.other_date_forms`)."""

    folder = tmp_path / "data"
    folder.mkdir()
    orders = raw_orders(100)
    orders.loc[:4, "ordered_at"] = ["05-JAN-23 08.39.05.000000 AM"] * 4 + ["15.01.2023 10.15"]
    orders.to_csv(folder / "orders.csv", index=False)
    said = (
        r"5 of 100 values are dates written in another form than ISO 8601 \(2023-01-15\) \('05-JAN-23 08\.39"
    )
    _stops(folder, said)


def test_mysqls_and_saps_zero_dates_are_placeholder_dates(tmp_path):
    """MySQL writes `0000-00-00` (`0000-00-00 00:00:00`) for "no date" in a `DATE` or `DATETIME` column unless
    the server's `NO_ZERO_DATE` mode forbids it, SAP `00000000` for an empty `DATS` field: a dump's unpaid invoice,
    a customer never cancelled. Was: each row rejected `unparseable <column>` (`ambiguous or unknown date format`,
    `does not match the declared date format %Y%m%d`), exit 0, however many (the demo's 107 unpaid invoices so
    written: every one lost, the overdue amounts with them). Now a date of zeros only is a zero-date placeholder
    whatever the column's format (`features.placeholder_dates._ZERO_DAY`): on 1% of the column, the stop "an export's
    placeholder for a missing value"; a stray one, the row reject of a system's zero date. Both engines (one
    predicate, `features.placeholder_dates.placeholder_rows`)."""
    from features.placeholder_dates import ZERO_DATE_REASON
    from pipelines.io import load_data

    folder = tmp_path / "data"
    folder.mkdir()
    orders = raw_orders(400)
    orders.loc[7, "ordered_at"] = "0000-00-00"
    orders.loc[8, "ordered_at"] = "00-00-0000"  # day first, dashes (was: `ambiguous or unknown date format`)
    orders.to_csv(folder / "orders.csv", index=False)
    report = load_data(folder).result.report["orders"]
    assert report.rejected_by_reason == {ZERO_DATE_REASON.format("ordered_at"): 2}
    orders.loc[:5, "ordered_at"] = "0000-00-00 00:00:00"
    orders.to_csv(folder / "orders.csv", index=False)
    said = r"column 'ordered_at': 8 of 400 rows hold '00-00-0000', '0000-00-00', '0000-00-00 00:00:00', an export"
    _stops(folder, said)
    # SAP's initial date `00000000` (an empty DATS field), among ISO dates or in a declared `%Y%m%d` column
    orders = raw_orders(400)
    orders.loc[7, "ordered_at"] = "00000000"
    orders.to_csv(folder / "orders.csv", index=False)
    report = load_data(folder).result.report["orders"]
    assert report.rejected_by_reason == {ZERO_DATE_REASON.format("ordered_at"): 1}
    orders["ordered_at"] = orders["ordered_at"].str.replace("-", "")
    orders.loc[:5, "ordered_at"] = "00000000"
    orders.to_csv(folder / "orders.csv", index=False)
    said = r"7 of 400 rows hold '00000000', an export's placeholder"
    _stops(folder, said, date_formats={"orders.ordered_at": "%Y%m%d"})


def test_phone_numbers_as_customer_ids_are_personal_data_not_ids(tmp_path):
    """A shop or CRM keying its customers by their phone number (`+1 (555) 010-0199`, `+44 20 7946 0958`): personal
    data as an id, in every score, report page and message, as an e-mail address would be. Was: read as ids, exit 0
    (the demo's customers so keyed: every one accepted). Now the e-mail ids' rules (`features.ids.phone_ids`): on
    1% of the column (3 rows), a stop giving how many, never the numbers; a stray one a row reject. Digits alone
    (`5550100199`) may be an id and are read. Both engines."""
    from pipelines.io import load_data

    folder = tmp_path / "data"
    folder.mkdir()
    orders = raw_orders(400)
    orders.loc[[3, 4], "customer_id"] = ["+1 (555) 010-0199", "5550100199"]
    orders.to_csv(folder / "orders.csv", index=False)
    report = load_data(folder).result.report["orders"]
    why = "a phone number in customer_id (personal data, not an id: export the id instead)"
    assert report.rejected_by_reason == {why: 1}
    orders.loc[:4, "customer_id"] = [
        "+44 20 7946 0958",
        "(555) 010-0199",
        "+4915112345678",
        "+1-555-0109",
        "x",
    ]
    orders.to_csv(folder / "orders.csv", index=False)
    said = r"column 'customer_id': 4 of 400 values are phone numbers \(not shown: personal data\)"
    with pytest.raises(StructuralError, match=said) as stop:
        load_data(folder)
    assert "0958" not in str(stop.value) and "555" not in str(stop.value)
    # a mainframe's (COBOL's) signed zero-padded ids, `+0000000001`: no country code starts with 0, ids (was:
    # "400 of 400 values are phone numbers")
    orders["customer_id"] = [f"+{i % 37 + 1:010d}" for i in range(400)]
    orders.to_csv(folder / "orders.csv", index=False)
    loaded = load_data(folder)
    assert loaded.result.report["orders"].rejected_by_reason == {}
    assert loaded.tables["orders"]["customer_id"].iloc[0] == "+0000000001"


def test_refunds_as_negative_orders_stop_on_1_percent(tmp_path):
    """An ERP's or a shop's order export holding its refunds and credit notes as orders of negative revenue. Was:
    each rejected `negative revenue`, exit 0 with a warning (the demo with 5% of its orders so: 149 refunds dropped,
    every customer's revenue read without them). Now, on 1% of the orders (3 rows), the stop of
    `features.conventions.check_zero_quantities`, whose quantities 0 or negative are the same export: give refunds in the
    returns table. Fewer stay row rejects. Both engines (Spark: its summed `NEGATIVE` mask fires the same check)."""
    from pipelines.io import load_data

    folder = tmp_path / "data"
    folder.mkdir()
    orders = raw_orders(300)
    orders.loc[[3, 4], "revenue"] = "-10"
    orders.to_csv(folder / "orders.csv", index=False)
    assert load_data(folder).result.report["orders"].rejected_by_reason == {"negative revenue": 2}
    orders.loc[5, "revenue"] = "-2.5"
    orders.to_csv(folder / "orders.csv", index=False)
    said = r"column 'revenue': negative on 3 of 300 orders: refunds or credit notes as negative orders\?"
    _stops(folder, said)
    # the way out, in the mapping language (`where` and `derive`, as configs/datasets/online_retail.yaml does)
    _stops(folder, r"routing `where: revenue < 0` into returns with `amount` derived as `-revenue`")


def test_efforts_written_as_durations_stop_as_numbers_with_a_unit(tmp_path):
    """A helpdesk or time tracker writes a ticket's effort as a duration, `0:45`, `1:30`, `00:45:00`. A part of
    `tickets.effort_minutes` so written (two exports put together) was each ticket rejected `unparseable
    effort_minutes`, exit 0 (the demo with 5% of its tickets so: 36 lost, with their cost to serve). Now a number
    with a unit (`features.number_forms._WITH_UNIT`): on 1% of the column (3 rows), the stop asking for minutes; a stray
    one stays a row reject. Both engines (`unit_numbers`, Spark's `UNIT` mask)."""

    folder = tmp_path / "data"
    folder.mkdir()
    raw_orders(10).to_csv(folder / "orders.csv", index=False)
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"T{i}" for i in range(100)],
            "customer_id": [f"C{i % 10}" for i in range(100)],
            "opened_at": "2023-01-20",
            "effort_minutes": ["0:45", "1:30", "00:45:00"] + ["30"] * 97,
        }
    )
    tickets.to_csv(folder / "tickets.csv", index=False)
    said = (
        r"3 of 100 values are numbers with a currency sign, code or unit, or durations h:mm \('0:45', '1:30'"
    )
    _stops(folder, said)


def test_a_reports_footer_below_the_rows_is_named_so(tmp_path):
    """A report-style export ends in a footer below its rows (`Generated by SAP Business One ...`, `Rows: 40`, `Page
    1 of 1`). Was: "the rows do not match the header ...: (an unquoted comma or quote, or a cut line?)", advice for
    another fault; now the stop says the file ends in lines of one field, a footer, and shows them
    (`pipelines.csv_reading.ragged_rows_error`, both engines' reader of a ragged file). Such a line inside the file
    keeps the ragged rows' message."""
    folder = tmp_path / "data"
    folder.mkdir()
    text = raw_orders(40).to_csv(index=False)
    (folder / "orders.csv").write_text(text + "Generated by SAP Business One on 2023-02-01\n\nPage 1 of 1\n")
    said = r"it ends in 2 line\(s\) of one field after its rows, not rows of the table: a report's footer"
    _stops(folder, said)
    lines = text.splitlines()
    (folder / "orders.csv").write_text("\n".join(lines[:5] + ["Generated by SAP"] + lines[5:]) + "\n")
    _stops(folder, r"the rows do not match the header \(4 columns\)")
    # a write cut short: a last line without its newline, or one like a row's start (`O39`, the next order's id),
    # keeps the cut line's hint, first (was: only "a report's footer ... delete them")
    cut = r"it ends in 1 line\(s\) of one field after its rows: a line cut short \(the file's write or copy stopped"
    for end in ("Generated by SAP", "O39\n"):
        (folder / "orders.csv").write_text(text + end)
        _stops(folder, cut + r".*or a report's footer")


def test_a_table_file_beside_a_directory_of_its_parts_is_two_sources(tmp_path):
    """`orders.csv` and an `orders/` directory (a Spark export next to the file made from it). Was: "orders/ is a
    directory ...: give the table as one file, orders.csv or orders.parquet", though `orders.csv` was there; now
    the Spark engine's words, two sources for one table (`pipelines.io.find_table_files`)."""
    folder = tmp_path / "data"
    (folder / "orders").mkdir(parents=True)
    raw_orders(4).to_csv(folder / "orders.csv", index=False)
    _stops(
        folder,
        r"^table 'orders' has two sources: orders\.csv and orders/: keep one in --data \(move the other",
    )


def test_a_parquet_column_of_raw_bytes_outside_the_contract_is_written_to_the_rejects(tmp_path):
    """A database dump's Parquet file with a column of raw bytes outside the contract (a password hash, a checksum,
    a BLOB or `bytea`: `binary`, not UTF-8). Was: with any row rejected, exit 1 `unexpected UnicodeDecodeError`
    writing the rejects (`pipelines.csv_cells.line_end` decoded every object cell as UTF-8), no rejects file. Now
    the row is written as the Spark engine writes it, the bytes as Python's `b'...'` text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.io import load_data, write_rejects

    folder = tmp_path / "data"
    folder.mkdir()
    orders = raw_orders(10).assign(revenue=10.0)
    orders.loc[3, "customer_id"] = "NULL"
    table = pa.Table.from_pandas(orders, preserve_index=False)
    table = table.append_column("digest", pa.array([b"\xff\x00\x9c"] * 10, pa.binary()))
    # a CR in a text cell of the rejected row still makes the lines \r\n
    table = table.append_column("note", pa.array(["x"] * 3 + ["a\rb"] + ["x"] * 6))
    pq.write_table(table, folder / "orders.parquet")
    written = write_rejects(load_data(folder), tmp_path / "rejects")["orders"]
    text = written.read_bytes()
    assert text.count(b"\r\n") == 2 and b"O3,NULL,2023-01-04" in text and b"b'\\xff\\x00\\x9c'" in text


def test_a_mapping_nested_hundreds_of_levels_deep_stops(tmp_path):
    """`[[[[...` or `{a: {a: ...` 600 levels deep in a mapping or a config (a generated or corrupted file; a YAML
    bomb's other form). Was: exit 1 `unexpected RecursionError` from PyYAML's composer and a traceback log. Now a
    structural error naming the file (`pipelines.yamlfile.read_yaml`, configs and mappings alike)."""
    from pipelines.yamlfile import read_yaml_settings

    path = tmp_path / "mapping.yaml"
    path.write_text("sources: " + "[" * 600 + "]" * 600 + "\n")
    with pytest.raises(StructuralError, match=r"cannot read mapping .*nested hundreds of levels deep"):
        read_yaml_settings(path, "mapping")
