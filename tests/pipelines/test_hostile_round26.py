"""Hostile input classes closed in the twenty-sixth hunt: Google Sheets' and LibreOffice Calc's error values
(`#ERROR!`, `Err:502`) in a number, date or id column, a time whose second is 60 (a leap second, a writer rounding
59.9996 up), a Parquet row null in every column worded for Parquet too, SAS's and Stata's compact dates named with
the tool's way out. Tiny hand-written files; no training, no model, no Spark session (the Spark cases: its row step
and driver called without a session; the hunt's log holds the Spark loads of the demo)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.validation import StructuralError
from tests.helpers import raw_orders
from tests.pipelines.test_hostile_round24 import _folder


@pytest.mark.parametrize("error", ["#ERROR!", "Err:502"])
def test_google_sheets_and_libreoffice_error_values_are_spreadsheet_errors(tmp_path, error):
    """Google Sheets writes `#ERROR!` where a formula does not parse, LibreOffice Calc `Err:502` (its numbered
    errors; its CSV export writes cells as shown). Was: each an `unparseable revenue` (`ambiguous or unknown date
    format`) reject, exit 0 however many (the demo with `#ERROR!` on 5% of its revenues lost 149 orders), and as
    an id accepted: a customer `Err:502`. Now Excel's error values' rule (`features.ids.SHEET_ERRORS`): on 1% of
    a column the stop, a stray one the row reject, the same marks in the Spark engine's row step (`SHEET`)."""
    from pipelines.engines.spark_checks import REASON, SHEET
    from pipelines.engines.spark_input import check_rows
    from pipelines.io import load_data

    orders = raw_orders(100)
    orders.loc[[3, 9, 40], "revenue"] = error
    with pytest.raises(StructuralError, match=r"'revenue': 3 of 100 values are a spreadsheet's error value"):
        load_data(_folder(tmp_path / "share", orders=orders))
    orders["revenue"] = "10"
    orders.loc[7, "customer_id"] = error.lower() if error.startswith("#") else error  # any case, as Excel's
    orders.loc[8, "ordered_at"] = error
    report = load_data(_folder(tmp_path / "stray", orders=orders)).result.report["orders"]
    said = "a spreadsheet error value in {} (#VALUE!, #DIV/0!, #REF!, ...: a formula that failed)"
    expected = {said.format("customer_id"): 1, said.format("ordered_at"): 1}
    assert report.rejected_by_reason == expected
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}))
    names = list(orders.columns)
    assert list(np.flatnonzero((out[SHEET].to_numpy() >> names.index("ordered_at")) & 1)) == [8]
    assert out[REASON].value_counts().to_dict() == expected
    orders.loc[7, "customer_id"] = "Err:5020"  # not the form: an id
    assert load_data(_folder(tmp_path / "id", orders=orders)).result.report["orders"].rejected == 1


def test_a_second_written_60_is_read_as_the_next_minute_in_both_engines(tmp_path):
    """`2016-12-31T23:59:60Z` (UTC's leap second) and `10:14:60` (a writer rounding 59.9996 up: `10:15:00`). Was:
    each row `unparseable ordered_at`, exit 0 (the demo with 5% of its orders so written lost 149). Now the next
    minute's `:00`, as PostgreSQL reads it (`features.dates._SECOND_60`), offsets converted as any date; `:61` and
    `:60.5` stay rejects. The Spark row step parses with the same function."""
    from pipelines.engines.spark_checks import REASON
    from pipelines.engines.spark_input import check_rows
    from pipelines.io import load_data

    orders = raw_orders(6)
    orders["ordered_at"] = [
        "2016-12-31T23:59:60Z",
        "2023-01-05 10:14:60",
        "2023-01-05T10:14:60.000+01:00",
        "2023-01-05 10:14:61",
        "2023-01-05 10:14:60.5",
        "2023-01-05 10:14:59",
    ]
    loaded = load_data(_folder(tmp_path, orders=orders))
    report = loaded.result.report["orders"]
    assert report.rejected_by_reason == {"unparseable ordered_at": 2}
    read = loaded.tables["orders"].set_index("order_id")["ordered_at"]
    expected = pd.to_datetime(
        ["2017-01-01 00:00:00", "2023-01-05 10:15:00", "2023-01-05 09:15:00", "2023-01-05 10:14:59"]
    )
    assert list(read.loc[["O0", "O1", "O2", "O5"]]) == list(expected)
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}))
    assert list(out["val:ordered_at"].iloc[[0, 1, 2, 5]]) == list(expected)
    assert out[REASON].value_counts().to_dict() == report.rejected_by_reason


def test_a_parquet_row_null_in_every_column_is_an_empty_row_not_a_line_of_separators(tmp_path):
    """A Parquet row null in every column (a frame's empty row written out). Was: `an empty line: separators only`
    (round 25's reason, the CSV's words). Now one reason for both formats, `an empty row: no value in any column`
    (`features.keys.EMPTY_LINE`); a CSV line of commas gets it too (round 25's test)."""
    from pipelines.io import load_data

    orders = raw_orders(6)
    orders.loc[6] = [None] * len(orders.columns)
    data = tmp_path / "pq"
    data.mkdir()
    orders.to_parquet(data / "orders.parquet")
    report = load_data(data).result.report["orders"]
    assert report.rejected_by_reason == {"an empty row: no value in any column": 1}
    assert report.rows_in == 7 == report.accepted + 1


@pytest.mark.parametrize("share", [1.0, 0.05])
def test_sas_dates_are_told_the_tools_iso_formats(tmp_path, share):
    """SAS's (`DATE9.`: `05JAN2023`) or Stata's compact dates, throughout, on most of a column or on a part. Was:
    the stops named the date form only (round 25: "in another form than ISO 8601", "no value parses"). Now, as
    R's `NA` and SAS's `.` are told their tool's way out, the formats that write ISO 8601 (`E8601DA10.`,
    `%tdCCYY-NN-DD`: `features.numeric_dates.numeric_dates_hint`, the three date stops' hint); other forms are not."""
    from pipelines.io import load_data

    orders = raw_orders(100)
    at = orders.index[: int(share * 100)]
    orders.loc[at, "ordered_at"] = (
        pd.to_datetime(orders.loc[at, "ordered_at"]).dt.strftime("%d%b%Y").str.upper()
    )
    with pytest.raises(
        StructuralError, match=r"SAS: format the column `E8601DA10\.`.*Stata: `%tdCCYY-NN-DD`"
    ):
        load_data(_folder(tmp_path / "sas", orders=orders))
    orders.loc[at, "ordered_at"] = "15/01/2023"
    with pytest.raises(StructuralError) as caught:
        load_data(_folder(tmp_path / "dmy", orders=orders))
    assert "SAS" not in str(caught.value)


#: Dates as a spreadsheet or database of another locale writes them; the last three are no date.
_LOCALE_DATES = [
    "12 févr. 2023",
    "5. März 2023 10:00",
    "5 de enero de 2023",
    "05-OKT-23",
    "2023年1月5日",
    "2023. 1. 5. 오후 3:04:05",
    "2023-01-05 오후 3:04:05",
    "5 apples 2023",
    "not a date",
    "2023年13月",
]


def test_dates_written_in_another_locale_stop_as_other_date_forms_do(tmp_path):
    """A part of an ISO date column with the month named in French, German, Spanish, ... (a spreadsheet of that
    locale saves a date as shown; Oracle's `DD-MON-RR` under a German `NLS_DATE_LANGUAGE`), or written as a
    Chinese, Japanese or Korean spreadsheet writes it (`2023年1月5日`, `2023. 1. 5.`, `오후 3:04:05`): a second
    export put with the first. Was: each row `ambiguous or unknown date format`, exit 0 (the demo with 5% of its
    orders so written lost 149). Now the stop for dates in another form (`features.date_forms._MONTH`,
    `_CJK_DATE`; the Spark row step's `OTHER_DATE` mask calls the same `other_date_forms`); text that is no date
    stays a reject."""
    from features.date_forms import other_date_forms
    from pipelines.io import load_data

    orders = raw_orders(100)
    orders.loc[[3, 30, 60], "ordered_at"] = ["5. März 2023 10:00", "2023年1月5日", "05-OKT-23"]
    with pytest.raises(StructuralError, match=r"3 of 100 values are dates written in another form"):
        load_data(_folder(tmp_path, orders=orders))
    values = pd.Series(_LOCALE_DATES)
    assert list(other_date_forms(values, pd.Series(True, index=values.index))) == [True] * 7 + [False] * 3


def test_profile_categories_differing_only_by_letter_case_are_said(tmp_path):
    """`customers.segment` written `B2C` by one export and `b2c` by another (put together). Was: read as written
    without a word, the models taking them for two segments. Now a note of every loading command naming the
    column, the spellings and their rows (`pipelines.load_notes.category_case_notes`; the Spark driver keeps every
    profile column, so its loaded tables give the same note); one spelling per category: none."""
    from pipelines.io import load_data
    from pipelines.load_notes import category_case_notes

    orders = raw_orders(10)
    customers = orders[["customer_id"]].assign(segment="B2C", region="North")
    customers.loc[[2, 5], "segment"] = "b2c"
    tables = load_data(_folder(tmp_path / "case", orders=orders, customers=customers)).tables
    assert category_case_notes(tables) == [
        "customers.segment holds values differing only by letter case ('B2C' (8 rows) / 'b2c' (2 rows)): the "
        "models read them as different categories (two exports put together?); write each one way"
    ]
    customers["segment"] = "B2C"
    assert (
        category_case_notes(load_data(_folder(tmp_path / "one", orders=orders, customers=customers)).tables)
        == []
    )


def test_ratings_written_with_their_scale_stop_as_numbers_with_a_unit_do(tmp_path):
    """`tickets.satisfaction` written by a survey tool with its scale or as stars (`4/5`, `★★★★`) on part of the
    tickets. Was: each ticket rejected `unparseable satisfaction`, exit 0 (the demo with 10% of its ratings so
    written lost 39 tickets and their effort). Now the stop for numbers with a unit (`features.number_forms._RATING`,
    the Spark row step's `UNIT` mask: the same `unit_numbers`), saying to export the rating alone; a stray one is
    that rule's row reject."""
    from features.number_forms import unit_numbers
    from pipelines.io import load_data

    forms = pd.Series(["4/5", "4 out of 5", "4 stars", "★★★★", "4", "four stars"])
    assert list(unit_numbers(forms, forms != "4", rating=True)) == [True] * 4 + [False] * 2

    orders = raw_orders(100)
    tickets = orders[["customer_id"]].assign(
        ticket_id=[f"T{i}" for i in range(100)], opened_at="2023-01-02", effort_minutes="5", satisfaction="4"
    )
    tickets.loc[[3, 9, 40], "satisfaction"] = ["4/5", "★★★★", "4 out of 5"]
    with pytest.raises(StructuralError, match=r"3 of 100 values.*ratings with their scale.*`4`, not `4/5`"):
        load_data(_folder(tmp_path / "share", orders=orders, tickets=tickets))
    tickets.loc[[3, 9], "satisfaction"] = "4"
    report = load_data(_folder(tmp_path / "stray", orders=orders, tickets=tickets)).result.report["tickets"]
    assert report.rejected_by_reason == {"number with a currency sign or unit in satisfaction": 1}


def test_a_header_in_typographic_quotes_says_so(tmp_path):
    """A CSV whose header (and values) went through a word processor or an editor with smart quotes on:
    `“order_id”,“customer_id”,...`. Was: "missing required column(s) ... did you mean '“order_id”' ->
    'order_id'? (column names are case-sensitive)" for each column, though the case was not the cause. Now the
    single quotes' stop, naming typographic quotes (`pipelines.csv_reading._check_single_quotes`, the header check
    of both engines)."""
    from pipelines.io import load_data

    data = _folder(tmp_path, orders=raw_orders(4))
    path = data / "orders.csv"
    head, rest = path.read_text().split("\n", 1)
    path.write_text(",".join("“" + c.strip('"') + "”" for c in head.split(",")) + "\n" + rest)
    with pytest.raises(
        StructuralError, match=r"orders\.csv: the header's names are written in typographic quotes"
    ):
        load_data(data)


def test_a_long_cell_in_a_date_column_is_judged_quickly_and_cjk_dates_are_still_found():
    """A cell of 20,000 spaces between a date and a letter (a broken export, a hostile file). Was: the CJK date
    forms' adjacent `\\s*` (and `features.dates._ISO`'s) backtracked for seconds per cell (`2023. 1. 5.` + spaces:
    8.7 s, `2023-01-05` + spaces: 17 s), on both engines. Now single optional spaces, and no value over
    `_LONGEST_DATE` characters is handed to the patterns: the CJK forms as before."""
    import time

    from features.date_forms import other_date_forms

    cells = [
        "2023. 1. 5." + " " * 20_000 + "x",
        "2023-01-05" + " " * 20_000 + "x",
        "2023. 1. 5. 오후 3:04:05",
    ]
    cells += ["2023年1月5日 午後3時04分", "2023-01-05 下午 3:04", "2023년 1월 5일 오후 3시 4분 5초"]
    start = time.thread_time()  # CPU time: a loaded machine's wait for a core is not the check's cost
    found = other_date_forms(pd.Series(cells, dtype=object), np.ones(len(cells), dtype=bool))
    assert time.thread_time() - start < 0.5
    assert found.tolist() == [False, False, True, True, True, True]


def test_a_fraction_in_an_amount_is_no_rating(tmp_path):
    """`4/5`, `12/2023`, `1 of 3` in a revenue column are not a rating with its scale (that form is a rating
    column's only, `features.number_forms._RATING`; the test above): row rejects as on main (was, round 26: the stop 'numbers with a
    currency sign, code or unit ... amounts in data.currency', beside the point). In a rating column, a unit."""
    from features.number_forms import unit_numbers
    from pipelines.engines.spark_checks import REASON, UNIT
    from pipelines.engines.spark_input import check_rows
    from pipelines.io import load_data

    orders = raw_orders(100)
    orders.loc[[3, 9, 40], "revenue"] = ["4/5", "12/2023", "1 of 3"]
    report = load_data(_folder(tmp_path, orders=orders)).result.report["orders"]
    assert report.rejected_by_reason == {"unparseable revenue": 3}
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}))  # the Spark row step: no unit counted
    assert not out[UNIT].any() and out[REASON].value_counts().to_dict() == report.rejected_by_reason
    forms = pd.Series(["4/5", "4 out of 5", "4 stars", "★★★★"], dtype=object)
    assert not unit_numbers(forms, np.ones(4, dtype=bool)).any()


def test_a_second_60_before_a_clock_change_is_the_minute_after_it_in_both_engines():
    """`2023-03-26 01:59:60+01:00` in Europe/Paris is 03:00 (the clock skips 02:00), `2023-10-29 02:59:60+02:00`
    is the first 02:00 (summer time's last minute, then back). Was: the second added after conversion to local
    time, 02:00 (a time that does not exist there) and 03:00 (an hour late). Now the next minute's `:00` is written
    before reading (`features.dates._parse_iso`, as `24:00`), in the Spark row step too (the same function)."""
    from features.dates import parse_timestamps
    from pipelines.engines.spark_input import check_rows

    orders = raw_orders(2)
    orders["ordered_at"] = ["2023-03-26 01:59:60+01:00", "2023-10-29 02:59:60+02:00"]
    expected = list(pd.to_datetime(["2023-03-26 03:00:00", "2023-10-29 02:00:00"]))
    assert list(parse_timestamps(orders["ordered_at"], "Europe/Paris")) == expected
    out = next(check_rows(iter([orders]), "orders", 0, "Europe/Paris", {}, {}))
    assert list(out["val:ordered_at"]) == expected
