"""Hostile input classes closed in the twenty-ninth hunt: ids a spreadsheet rounded to scientific notation on a
share of an id column (`1.23457E+11`: every id of 12 digits or more in a column the spreadsheet took for numbers),
and written with a decimal comma (`1,23457E+11`: a German or French spreadsheet); a DOS end-of-file mark (Ctrl-Z)
after a CSV's rows; a key numbering restarting per year or shop; ISO 8601 week and ordinal dates throughout a
date column; amounts grouped by a thin or figure space (`1\u2009250.00`). Tiny hand-written files; no
training, no model, no Spark session (the Spark cases: its row step and its driver's rule called without a
session, or the one function both engines call)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from features.contract import TABLES
from features.validation import StructuralError
from tests.helpers import raw_orders
from tests.pipelines.test_hostile_round24 import _folder


def test_ids_a_spreadsheet_rounded_to_scientific_notation_on_a_share_of_a_column_stop(tmp_path):
    """A spreadsheet shows a whole number of 12 digits or more as `1.23457E+11` and saves it so: every customer
    whose id is that long is rounded to 6 digits, many ids one. Was: each such row rejected `id in a spreadsheet's
    scientific notation` however many, exit 0 (the demo with 10% of its customers numbered so lost 739 rows of its
    tables). Now, on 1% of the column (3 rows), the stop of the ids' other spreadsheet forms (`="00042"`), naming
    the form and what to do (`features.number_forms._ID_FORMS`); a stray one stays the row reject. The Spark row step
    marks the same rows (`SCIENTIFIC`) and its driver judges their sum with the same function."""
    from features.contract import TABLES
    from pipelines.engines.spark_checks import SCIENTIFIC
    from pipelines.engines.spark_input import check_rows
    from pipelines.engines.spark_stops import table_stops
    from pipelines.io import load_data
    from tests.helpers import MaskedRows, orders_stats

    orders = raw_orders(100)
    orders.loc[[3, 30, 60], "customer_id"] = "1.23457E+11"
    with pytest.raises(
        StructuralError, match=r"'customer_id': 3 of 100 values are ids a spreadsheet rounded"
    ):
        load_data(_folder(tmp_path / "share", orders=orders))
    names = list(orders.columns)
    at = names.index("customer_id")
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}))
    assert list(np.flatnonzero((out[SCIENTIFIC].to_numpy() >> at) & 1)) == [3, 30, 60]
    stats = orders_stats(names, 100, **{f"X{at}": 3})
    with pytest.raises(StructuralError, match=r"3 of 100 values are ids a spreadsheet rounded"):
        table_stops(TABLES["orders"], names, stats, MaskedRows(orders, out), lambda i: None, {})
    orders = raw_orders(400)
    orders.loc[7, "customer_id"] = "1.23457E+11"
    report = load_data(_folder(tmp_path / "stray", orders=orders)).result.report["orders"]
    assert report.rejected_by_reason == {
        "id in a spreadsheet's scientific notation in customer_id (1.23457E+11)": 1
    }


def test_ids_in_scientific_notation_with_a_decimal_comma_are_not_ids(tmp_path):
    """A German, French, ... spreadsheet writes the rounded id with its decimal comma: `1,23457E+11`. Was: read as an
    id, exit 0 (the demo's orders without a customers table: 31 customers numbered from 123456700000 read as one
    customer holding their 316 orders; with one, the stop "several rows per customer_id", blaming order lines).
    Now the point's form's reject and stop; a comma elsewhere (`1,2E`, `A,1E+5`) stays an id."""
    from pipelines.io import load_data

    orders = raw_orders(400)
    orders.loc[[7, 8], "customer_id"] = ["1,23457E+11", "1,2E"]
    orders.loc[9, "customer_id"] = "A,1E+5"
    report = load_data(_folder(tmp_path / "stray", orders=orders)).result.report["orders"]
    assert report.rejected_by_reason == {
        "id in a spreadsheet's scientific notation in customer_id (1.23457E+11)": 1
    }
    orders.loc[[3, 30, 60], "customer_id"] = "1,23457E+11"
    with pytest.raises(StructuralError, match=r"4 of 400 values are ids a spreadsheet rounded"):
        load_data(_folder(tmp_path / "share", orders=orders))


@pytest.mark.parametrize(
    "end",
    [b"\x1a", b"\x1a\r\n", b"\x1a\x1a", b"\x1a" * 100, b"\x1a\x00"],  # twice, CP/M's padding, with a NUL
)
def test_a_dos_end_of_file_mark_after_the_rows_is_named(tmp_path, end):
    """MS-DOS `COPY`, dBase, FoxPro and other older systems end a text file with Ctrl-Z (byte 0x1A) on a line of its
    own. Was: the stop "it ends in 1 line(s) of one field after its rows: a line cut short (the file's write or copy
    stopped early? ... export it again)": a whole export sent back to be exported again, with the same mark. Now the
    stop names the mark and says the rows above are whole: remove it (`pipelines.csv_reading.ragged_rows_error`,
    which the Spark engine calls too when its reader fails on a local CSV file). A footer line stays the footer's
    stop."""
    from pipelines.csv_reading import ragged_rows_error
    from pipelines.io import load_data

    data = _folder(tmp_path / "d", orders=raw_orders(5))
    path = data / "orders.csv"
    path.write_bytes(path.read_bytes() + end)
    with pytest.raises(StructuralError, match=r"ends in a DOS end-of-file mark \(Ctrl-Z, byte 0x1A"):
        load_data(data)
    assert "The rows above it are whole" in str(ragged_rows_error(path))
    path.write_bytes(path.read_bytes().replace(end, b"Generated by ERP\n"))
    assert "a report's footer" in str(ragged_rows_error(path))


def test_an_order_number_restarting_per_shop_or_year_is_not_told_to_group_its_rows(tmp_path):
    """Two shops' (or two years') orders numbered from 1 each, put in one file: every number twice, naming other
    customers. Was: the order lines' stop, "several rows per order_id (one per order line ...)", pointing at a
    mapping's `group_by`, which would merge each pair of other customers' orders into one order of one customer
    (the demo's orders numbered per year: 1,978 of 2,980 rows). Now the stop says the repeated ids name more than
    one customer (two numberings meeting) and asks for unique ids (`features.keys.check_one_row_per_key`, which the
    Spark driver calls too). Order lines (one customer per order) keep the `group_by` advice; two referrers of one
    referred customer are no numbering."""

    from features.keys import check_one_row_per_key
    from pipelines.io import load_data

    one, two = raw_orders(20), raw_orders(20)
    two["customer_id"] = [f"C{i + 20}" for i in range(20)]  # the second shop's customers, the same numbers
    orders = pd.concat([one, two], ignore_index=True)
    with pytest.raises(
        StructuralError, match=r"20 of the 20 order_ids so repeated name more than one customer_id"
    ):
        load_data(_folder(tmp_path / "shops", orders=orders))
    lines = pd.concat([one, one.assign(revenue="5")], ignore_index=True)  # two lines of each order
    with pytest.raises(StructuralError, match=r"several rows per order_id \(one per order line"):
        check_one_row_per_key("orders", lines, "order_id", lines["order_id"].duplicated())


@pytest.mark.parametrize(
    "written, fmt, said, day",
    [
        ("2023-W01-4", "%G-W%V-%u", "week dates (2023-W01-4 is 2023-01-05)", "2023-01-05"),
        ("2023-005", "%Y-%j", "ordinal dates", "2023-01-05"),
        ("2023W014", "%GW%V%u", "week dates (2023W014 is 2023-01-05)", "2023-01-05"),  # the basic form
        (
            "2023-W01-4T10:00:00",
            "%G-W%V-%uT%H:%M:%S",
            "week dates (2023-W01-4T10:00:00 is",
            "2023-01-05 10:00",
        ),
    ],
)
def test_iso_week_or_ordinal_dates_throughout_are_named_with_the_format_that_reads_them(
    tmp_path, written, fmt, said, day
):
    """A date column written throughout as ISO 8601 week dates (`2023-W01-4`: a planning or payroll system's) or
    ordinal dates (`2023-005`: a mainframe's, a log's). Was: "no value parses as a date ... Dates must be ISO 8601"
    (they are, in another of its forms), no word of what they are. Now the stop names the form, the first value's
    calendar date and the format that reads them (`features.numeric_dates.numeric_dates_hint`, the sentence every date
    stop adds; the Spark engine's "throughout" check validates its first rows with the same code); declared, the
    format reads each value as its day. The basic form (`2023W014`) and a time after the day (`T10:00:00`) were
    given no hint: the forms and their formats are now written once (`features.week_dates`)."""
    from pipelines.io import load_data

    orders = raw_orders(5)
    orders["ordered_at"] = written
    data = _folder(tmp_path / "d", orders=orders)
    with pytest.raises(
        StructuralError, match=rf"no value parses as a date .* ISO 8601 {re.escape(said)}.*'{fmt}'"
    ):
        load_data(data)
    read = load_data(data, date_formats={"orders.ordered_at": fmt}).result.tables["orders"]
    assert set(read["ordered_at"]) == {pd.Timestamp(day)}


@pytest.mark.parametrize("space", ["\u2009", "\u2007"])
def test_amounts_grouped_by_a_thin_or_figure_space_stop_as_other_grouped_amounts(tmp_path, space):
    """Thousands grouped by a thin space (`1\u2009250.00`: ISO 80000's and the SI's grouping, typeset and PDF
    reports, some French and Swiss tools) or a figure space (U+2007, a digit wide). Was: each such amount rejected
    `unparseable revenue`, exit 0, however many (the demo with 10% of its revenues so grouped lost 286 orders);
    the no-break and narrow no-break spaces were already read as grouping. Now the grouped numbers' stop on 1% of
    the column and their reject below (`features.numbers._LOCALE_NUMBER`); the Spark row step's `LOCALE` mask calls
    the same `locale_numbers`."""
    from pipelines.engines.spark_checks import LOCALE
    from pipelines.engines.spark_input import check_rows
    from pipelines.io import load_data

    orders = raw_orders(100)
    orders.loc[[3, 30, 60], "revenue"] = f"1{space}250.00"
    with pytest.raises(
        StructuralError, match=r"3 of 100 values are numbers written with a thousands separator"
    ):
        load_data(_folder(tmp_path / "share", orders=orders))
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}))
    at = list(orders.columns).index("revenue")
    assert list(np.flatnonzero((out[LOCALE].to_numpy() >> at) & 1)) == [3, 30, 60]
    orders = raw_orders(400)
    orders.loc[7, "revenue"] = f"1{space}250.00"
    report = load_data(_folder(tmp_path / "stray", orders=orders)).result.report["orders"]
    assert report.rejected_by_reason == {"number with a thousands separator or decimal comma in revenue": 1}


@pytest.mark.parametrize(
    "other, said", [("1.23457E+11", "rounded to scientific"), ('="00042"', "spreadsheet formula")]
)
def test_an_id_column_of_two_spreadsheet_forms_gets_one_stop_in_both_engines(tmp_path, other, said):
    """One id column holding two spreadsheet forms on 1% each: `#REF!` (a failed formula) and `1.23457E+11` (a
    rounded id) or `="00042"` (a kept zero). Was: the pandas engine named the rounded ids or the formulas
    (`features.column_checks._check_parsed`: formulas, scientific, then error values), the Spark driver the error
    values (`spark_stops.table_stops` judged them first). Now the driver judges an id column's forms in the pandas
    order: the same stop from either engine."""
    from pipelines.engines.spark_checks import FORMULA, SCIENTIFIC, SHEET
    from pipelines.engines.spark_input import check_rows
    from pipelines.engines.spark_stops import table_stops
    from pipelines.io import load_data
    from tests.helpers import MaskedRows, orders_stats

    orders = raw_orders(200)
    orders.loc[[3, 30, 60, 90], "customer_id"] = "#REF!"
    orders.loc[[5, 50, 100, 150], "customer_id"] = other
    with pytest.raises(StructuralError, match=rf"'customer_id': 4 of 200 values are ids .*{said}"):
        load_data(_folder(tmp_path / "d", orders=orders))
    names = list(orders.columns)
    at = names.index("customer_id")
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}))
    sums = {
        k: int(((out[m].to_numpy() >> at) & 1).sum())
        for k, m in (("y", SHEET), ("X", SCIENTIFIC), ("Q", FORMULA))
    }
    assert sums["y"] == 4 and sums["X" if "E+" in other else "Q"] == 4
    stats = orders_stats(names, 200, **{f"{k}{at}": v for k, v in sums.items()})
    with pytest.raises(StructuralError, match=rf"'customer_id': 4 of 200 values are ids .*{said}"):
        table_stops(TABLES["orders"], names, stats, MaskedRows(orders, out), lambda i: None, {})


def test_a_per_shop_numbering_of_order_lines_is_told_both_things_at_once():
    """A marketplace's export: order numbers restarting per shop, and each order on several lines. Was: the
    numbering's stop alone (make the ids unique); once mended, a second run met the order lines' stop (`group_by`):
    two runs to learn one file's two ways. Now one stop says both, in the order to do them
    (`features.keys.check_one_row_per_key`, which the Spark driver calls too); a numbering without lines says the
    first alone."""
    from features.keys import check_one_row_per_key

    one, two = raw_orders(20), raw_orders(20)
    two["customer_id"] = [f"C{i + 20}" for i in range(20)]  # the second shop's customers, the same numbers
    shops = pd.concat([one, two], ignore_index=True)
    lines = pd.concat([shops, shops.assign(revenue="5")], ignore_index=True)  # two lines of each order
    with pytest.raises(StructuralError) as stop:
        check_one_row_per_key("orders", lines, "order_id", lines["order_id"].duplicated())
    said = str(stop.value)
    assert re.search(r"name more than one customer_id .* Make the order_ids unique", said, re.S)
    assert re.search(r"40 of the 40 order_ids of one customer_id hold several rows .*`group_by`", said, re.S)
    assert said.index("Make the order_ids unique") < said.index("`group_by`")
    with pytest.raises(StructuralError) as stop:
        check_one_row_per_key("orders", shops, "order_id", shops["order_id"].duplicated())
    assert "Make the order_ids unique" in str(stop.value) and "Besides" not in str(stop.value)


def test_an_id_python_wrote_back_from_a_float_is_a_rounded_id_in_both_engines(tmp_path):
    """An id of 17 digits or more read as a float and written back by Python (pandas' `to_csv`, `str(float)`):
    `1.2345678901234568e+16`, lowercase and rounded to 17 digits. Was: accepted as an id (every id sharing those
    digits one customer). Now the rounded ids' class (`features.ids._SCIENTIFIC_IDS`): their reject, their stop
    on 1%, the Spark row step's `SCIENTIFIC` mask (the same `scientific_ids`); a short `1e+5` stays an id."""
    from pipelines.engines.spark_checks import SCIENTIFIC
    from pipelines.engines.spark_input import check_rows
    from pipelines.io import load_data

    orders = raw_orders(400)
    orders.loc[7, "customer_id"] = "1.2345678901234568e+16"
    orders.loc[9, "customer_id"] = "1e+5"
    report = load_data(_folder(tmp_path / "stray", orders=orders)).result.report["orders"]
    assert report.rejected_by_reason == {
        "id in a spreadsheet's scientific notation in customer_id (1.23457E+11)": 1
    }
    at = list(orders.columns).index("customer_id")
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}))
    assert list(np.flatnonzero((out[SCIENTIFIC].to_numpy() >> at) & 1)) == [7]
    orders.loc[[3, 30, 60], "customer_id"] = "1.2345678901234568e+16"
    with pytest.raises(StructuralError, match=r"4 of 400 values are ids a spreadsheet rounded .*e\+16"):
        load_data(_folder(tmp_path / "share", orders=orders))
