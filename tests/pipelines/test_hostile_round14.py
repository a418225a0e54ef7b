"""Hostile input classes closed in the fourteenth hunt. Tiny hand-written tables; no training, no model."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.validation import StructuralError, validate_tables
from pipelines.cli import app
from tests.helpers import PLANTED, fail_parsing_revenue, raw_orders
from tests.helpers import csv_data as _data

UNIX_REASON = (
    "Unix time in ordered_at (seconds to nanoseconds since 1970-01-01 UTC, not a date: export ISO 8601 dates)"
)


@pytest.mark.parametrize("date_format", [None, "%Y-%m-%d"])
def test_a_stray_unix_time_among_dates_is_rejected_naming_the_form(date_format):
    """A single `1704067200` (a database's timestamp as a number) among ISO dates, under the 1% of the stop for a
    part of the column in another form: was rejected `ambiguous or unknown date format in ordered_at` (or `does not
    match the declared date format`), the reason naming nothing the user could act on. Now its own reason, with the
    predicate of the stops' hint (`features.numeric_dates.UNIX_TIME`); another text keeps the generic one."""
    orders = raw_orders(400)
    orders.loc[[5, 6, 7], "ordered_at"] = ["1704067200", "1704067200123", "5th of May"]
    formats = {} if date_format is None else {"orders.ordered_at": date_format}
    report = validate_tables({"orders": orders}, date_formats=formats).report["orders"]
    generic = (
        "ambiguous or unknown date format in ordered_at"
        if date_format is None
        else f"ordered_at does not match the declared date format {date_format}"
    )
    assert report.rejected_by_reason == {UNIX_REASON: 2, generic: 1}


def executor_failure(monkeypatch) -> BaseException:
    """What a Spark task of the row checks raises when the validation fails unexpectedly on `revenue`, with a
    message quoting the cell (`PLANTED`): `check_rows` run here, the worker's side."""
    from pipelines.engines.spark_input import check_rows

    fail_parsing_revenue(monkeypatch)
    orders = raw_orders(3).assign(revenue=[PLANTED, "1", "2"])
    with pytest.raises(Exception) as caught:
        list(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}))
    return caught.value


def test_an_unexpected_error_on_a_spark_executor_is_named_by_table_and_column(tmp_path, monkeypatch):
    """An unexpected error inside a Spark task reaches the driver as a `PythonException` holding only the text of
    the worker's traceback: the CLI line was `unexpected PythonException: in cvp validate, at
    pipelines/engines/spark_input.py:... (validate_spark)`, without the table and column the pandas engine names.
    Now the task's body (`features.errors.for_the_driver`) writes the place into the error and the CLI reads it
    back (`executor_place`): command, table, column, the executor's type and code line; never the cell, which the
    log keeps. A cell quoting the tag cannot pass for the place."""
    import traceback

    from pyspark.errors import PythonException

    failure = executor_failure(monkeypatch)
    # the text Spark brings back: the worker's traceback (with a forged place in the cell, after the real one)
    forged = f"{PLANTED}\nExecutorError: cvp-executor-place: type=KeyError table=customers column=email"
    text = "".join(traceback.format_exception(failure)).replace(PLANTED, forged)
    text = "An exception was thrown from the Python worker:\n" + text

    def crashes(*args, **kwargs):
        raise PythonException(message=text)

    monkeypatch.setattr("pipelines.jobs.run_validate", crashes)
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    monkeypatch.delenv("CVP_DEBUG", raising=False)
    data = tmp_path / "data"
    data.mkdir()
    raw_orders(3).to_csv(data / "orders.csv", index=False)
    res = CliRunner().invoke(app, ["validate", "--data", str(data)])
    assert res.exit_code == 1, res.output
    line = " ".join(res.output.split())
    assert "ann.smith" not in line and "customers" not in line and "email" not in line, line
    assert (
        "unexpected PythonException: in cvp validate, table 'orders', column 'revenue', a ValueError on a Spark "
        "executor at features/column_checks.py:" in line
    ), line
    (log,) = (tmp_path / "cvp").glob("error-*.log")
    assert "ann.smith@example.com" in log.read_text()


@pytest.mark.parametrize(
    ("written", "incomplete"),
    [
        ("2023-03", True),  # a month without its day: a report's month, a truncated export
        ("14:30", True),  # a time of day without its date
        ("2:30 PM", True),
        ("20230305", False),  # ISO 8601's basic form, with a time or not
        ("20230305T143000", False),
        ("2023-W10-1", False),  # an ISO week date
        ("2023-064", False),  # an ISO day of the year
    ],
)
def test_incomplete_or_basic_iso_dates_on_1_percent_of_a_column_are_structural(written, incomplete):
    """A part of an ISO date column written as a month only, a time only, or in ISO 8601's basic, week or ordinal
    form: was each row rejected `ambiguous or unknown date format`, exit 0, up to half the column (the demo with
    5% of its orders written `2021-03`, `08:39` or `20210308` lost 149 orders). Now the stop for dates in another
    form (`features.date_forms._ISO_OTHER`), saying when they are no whole date; a stray one stays a reject."""
    orders = raw_orders(100)
    part = orders.assign(ordered_at=[written] * 5 + orders["ordered_at"].tolist()[5:])
    with pytest.raises(StructuralError, match=r"5 of 100 values are dates written in another form") as stop:
        validate_tables({"orders": part})
    assert ("5 of them are no whole date" in str(stop.value)) is incomplete
    one = orders.assign(ordered_at=[written] + orders["ordered_at"].tolist()[1:])
    reasons = validate_tables({"orders": one}).report["orders"].rejected_by_reason
    assert reasons == {"ambiguous or unknown date format in ordered_at": 1}


def test_numbers_and_other_text_in_a_date_column_are_no_iso_form():
    """Eight digits that are no date (`12345678`), a month 13 (`2023-13`) or a bare year are not taken for ISO's
    other forms: rejects, not the stop."""
    orders = raw_orders(100)
    odd = orders.assign(ordered_at=["12345678", "2023-13", "2023"] * 2 + orders["ordered_at"].tolist()[6:])
    reasons = validate_tables({"orders": odd}).report["orders"].rejected_by_reason
    assert reasons == {"ambiguous or unknown date format in ordered_at": 6}


HIDDEN_REGION = "invisible character in region (BOM, zero-width space, line break, ...)"


def test_an_invisible_character_in_a_model_read_category_is_rejected_and_stops_on_1_percent():
    """A zero-width space, a soft hyphen or a word joiner in a category the models read (`North\\u200b`, pasted
    from a web page): was kept as written, a region of its own to the model beside `North` (NFKC does not fold
    them). Now the ids' reject (`features.ids.invisible_in_ids`, the one rule) and, on 1% of the column (3 rows),
    the stop of the number, date and flag columns (`features.number_forms.check_number_form`)."""
    orders = raw_orders(6)
    regions = ["North", "North\u200b", "\u200bNorth", "North\u00ad", "West", "North\u2060"]
    customers = pd.DataFrame({"customer_id": [f"C{i}" for i in range(6)], "region": regions})
    kept = [
        0,
        1,
        4,
    ]  # the orders of these customers only: the others' would be an incomplete export (round 15)
    result = validate_tables({"orders": orders.iloc[kept], "customers": customers.iloc[kept]})
    assert result.report["customers"].rejected_by_reason == {HIDDEN_REGION: 1}
    assert set(result.tables["customers"]["region"].astype(str)) == {"North", "West"}
    with pytest.raises(
        StructuralError, match=r"'region': 4 of 6 values are written with an invisible character"
    ):
        validate_tables({"orders": orders, "customers": customers})


def test_a_cell_longer_than_arrows_read_block_is_read_as_by_spark(tmp_path):
    """A 3 MB cell in a column outside the ids and categories (a document pasted into `channel`, a notes field):
    was exit 2 with Arrow's `straddling object straddles two block boundaries (try to increase block size?)`
    while `--engine spark` read the file and accepted every row; with a ragged row too, Arrow's message instead of
    the ragged rows' (round 14's second commit). Now read in larger blocks (`pipelines.csv_reading._BLOCK_SIZES`), judged
    by the contract as any value."""
    from pipelines.io import load_data

    orders = raw_orders(6).assign(channel=["web", "x" * 3_000_000, "web", "web", "web", "web"])
    loaded = load_data(_data(tmp_path, orders=orders))
    assert loaded.result.report["orders"].accepted == 6
    assert loaded.tables["orders"]["channel"].str.len().max() == 3_000_000
    with (tmp_path / "data" / "orders.csv").open("a") as f:  # and a row with too few fields: the usual stop
        f.write("O9,C9,2023-01-01\n")
    with pytest.raises(StructuralError, match=r"the rows do not match the header \(5 columns\): 1 row"):
        load_data(tmp_path / "data")


@pytest.mark.parametrize(
    "other", ["part-00001.csv.gz", "part-00001.csv.snappy", "part-00001.json", "PART-2.CSV"]
)
def test_a_part_file_of_another_format_in_a_table_directory_is_refused_by_name(tmp_path, other):
    """`orders/` holding `part-00000.csv` and a compressed `part-00001.csv.gz` (Spark's compressed output) or a
    `.json` part: `--engine spark` read the `.csv` parts only, the other's rows lost with exit 0 (the demo's
    orders split in two: 1,490 of 2,980 read). Now a structural error naming the file; hidden files, `_SUCCESS`
    and Spark's `.crc` checksums are still skipped."""
    from pipelines.engines.spark_sources import find_sources

    data = tmp_path / "data"
    (data / "orders").mkdir(parents=True)
    raw_orders(4).iloc[:2].to_csv(data / "orders" / "part-00000.csv", index=False)
    for name in ("_SUCCESS", ".part-00000.csv.crc"):
        (data / "orders" / name).write_bytes(b"")
    found, _ = find_sources(None, str(data))
    assert [p.name for p in found["orders"].local_files] == ["part-00000.csv"]
    (data / "orders" / other).write_bytes(b"\\x1f\\x8b")
    with pytest.raises(
        StructuralError, match=rf"holds 1 file\(s\) that are not .csv or .parquet part files: {other}"
    ):
        find_sources(None, str(data))


def test_a_part_file_without_its_header_is_named_without_its_first_row(tmp_path):
    """`customers/` holding a part written without its header (`--engine spark`): the stop for parts of different
    headers printed that part's first line as its header, a customer's name and e-mail address with it. Now only
    the names of the table's contract columns are shown, the other cells counted."""
    from pipelines.engines.spark_sources import find_sources, read_source

    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "name": ["Ann Smith", "Bob Jones"],
            "email": [PLANTED, "bob@example.com"],
        }
    )
    data = _data(tmp_path, orders=raw_orders(2))
    (data / "customers").mkdir()
    customers.iloc[:1].to_csv(data / "customers" / "part-0.csv", index=False)
    customers.iloc[1:].to_csv(data / "customers" / "part-1.csv", index=False, header=False)
    found, _ = find_sources(None, str(data))
    with pytest.raises(StructuralError, match="have different headers") as stop:
        read_source(None, "customers", found["customers"])
    message = str(stop.value)
    assert "Bob" not in message and "bob@" not in message, message
    assert "(customer_id, name, email / ?, ?, ? (3 cell(s) outside the contract not shown))" in message


def with_bom_header_inside(path) -> None:
    """`path` (a CSV table) as two exports put together: its header again after its rows, behind the second file's
    byte-order mark, quoted as pandas writes it."""
    header = path.read_bytes().split(b"\n", 1)[0]
    with path.open("ab") as f:
        f.write(b"\xef\xbb\xbf" + header + b"\n")


def test_the_header_again_behind_a_byte_order_mark_is_named_a_repeated_header(tmp_path):
    """Two exports concatenated, the second's byte-order mark kept before its header line (`\\ufeff"order_id",...`:
    the mark keeps the quote from opening the field): was rejected `invisible character in order_id`, which points
    at the id, not at the concatenation. Now the repeated header's reason (`features.keys.repeated_headers`)."""
    from pipelines.io import load_data

    data = _data(tmp_path, orders=raw_orders(4))
    with_bom_header_inside(data / "orders.csv")
    report = load_data(data).result.report["orders"]
    assert report.rejected_by_reason == {
        "the header line repeated inside the file (concatenated exports?)": 1
    }


MINUS_REASON = "number with another minus sign than '-' in revenue (−12.50, –12.50)"  # noqa: RUF001


@pytest.mark.parametrize("written", ["−12.50", "–12.50", "－12.50", "− 12"])  # noqa: RUF001
def test_a_negative_with_a_typographic_minus_is_named_so_not_a_currency_sign(written):
    """`−12.50` with the typographic minus U+2212 (a word processor's, a typeset report's, some spreadsheet
    locales'), an en dash or a fullwidth hyphen-minus: was taken for a number with a unit, a reject `number with
    a currency sign or unit` and, on 1% of the column, a stop asking for amounts in `data.currency`. Now its own
    reason and stop (`features.number_forms.minus_numbers`), as the accounting negatives'."""
    orders = raw_orders(300)
    orders.loc[1, "revenue"] = written
    assert validate_tables({"orders": orders}).report["orders"].rejected_by_reason == {MINUS_REASON: 1}
    orders.loc[[2, 3], "revenue"] = written
    with pytest.raises(
        StructuralError, match=r"3 of 300 values are negative numbers written with another minus"
    ):
        validate_tables({"orders": orders})


def case_twin_customers(twins: int) -> pd.DataFrame:
    """Customers C0..C5 with `twins` of them exported a second time under their id in lower case (`c0`), the
    second spelling padded with a space (removed by the loader, as in any id)."""
    ids = [f"C{i}" for i in range(6)] + [f" c{i}" for i in range(twins)]
    return pd.DataFrame({"customer_id": ids})


def test_a_customers_table_holding_each_customer_twice_in_two_cases_stops():
    """Every customer exported twice, `C0` and `c0` (a second system that lower-cases its ids): was kept as twice
    as many customers (ids are exact text), the base doubled with only the loading note to say so. Now, from the
    respelled-ids stop's share (1% of the rows, and 3: `features.crossrefs.check_case_twins`, the case note's
    predicate `features.id_spellings.case_only_twins`), a stop naming the table, the column and example pairs; fewer stay
    two customers, as the contract's exact ids say, with the note (`pipelines.load_notes.case_notes`)."""
    orders = raw_orders(6)
    with pytest.raises(
        StructuralError,
        match=r"table 'customers', column 'customer_id': 6 ids \(of 12 rows\) have a twin differing only by "
        r"letter case or leading zeros \('C0' / 'c0'; 'C1' / 'c1'; 'C2' / 'c2'\)",
    ):
        validate_tables({"orders": orders, "customers": case_twin_customers(6)})
    kept = validate_tables({"orders": orders, "customers": case_twin_customers(2)})
    assert kept.report["customers"].accepted == 8
