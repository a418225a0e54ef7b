"""Hostile input classes closed in the twenty-fifth hunt: R's `NA` (`write.csv`'s missing value) in a date, number or
true/false column, a mapping whose `where` keeps none of the orders or customers, a CSV separated by `|`, dates
written as midnight UTC that a zone behind UTC reads a day early, SAS's compact dates (`05JAN2023`) in part of a
column. Tiny hand-written files; no training, no model, no Spark session (the Spark cases: its row step and driver
called without a session; the hunt's log holds the Spark loads of the demo that stopped as the pandas engine
does)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.validation import StructuralError
from tests.helpers import raw_orders
from tests.pipelines.test_hostile_round19 import _sales_source
from tests.pipelines.test_hostile_round24 import _folder


def test_rs_na_or_sas_dot_for_every_missing_value_stops_as_null_does(tmp_path):
    """A table written by R's `write.csv` (or `readr::write_csv`): `NA` in every empty cell (SAS, Stata, SPSS: `.`;
    a spreadsheet's accounting format writes a zero `$ -`, and exports `-` for "none": was the same, the demo's
    orders without a discount, 894 of 2,980 at 30%, lost).
    Was: each such row rejected `ambiguous or unknown date format in paid_at` / `unparseable cost`, exit 0 (the
    demo with 10% of its invoices unpaid lost 298 of them, its tickets without a rating 307 of 701). Now the
    placeholder stop of `NULL` (`features.placeholder_words.VALUE_PLACEHOLDERS`), with the tool's way out; `NA` as a region (North America) is kept. A column
    of `NA` (or `NULL`) on every row (R's customers of whom none cancelled) said "no value parses as a date",
    showing how to declare a date format; now it says the values are a placeholder (`placeholder_words.placeholder_hint`:
    every given value one, its words from the first 5: the rows Spark's driver gathers). The way out's
    accounting zero (`-   €`: Excel's euro format) is said for a money or number column only, not for `-` as a
    region or a churn date (the review of round 25)."""
    from pipelines.io import load_data

    orders = raw_orders(100)
    orders["cost"] = "5"
    orders.loc[[3, 9, 40], "cost"] = "NA"
    said = r"column 'cost': 3 of 100 rows hold 'NA', an export's placeholder.*R: write\.csv\(x, na = \"\"\)"
    with pytest.raises(StructuralError, match=said):
        load_data(_folder(tmp_path / "cost", orders=orders))
    orders.loc[[3, 9, 40], "cost"] = "."  # SAS's, Stata's, SPSS's missing value
    with pytest.raises(
        StructuralError, match=r"3 of 100 rows hold '\.', an export's placeholder.*SAS, Stata"
    ):
        load_data(_folder(tmp_path / "dot", orders=orders))
    orders.loc[[3, 9, 40], "cost"] = ["$ -   ", "-   €", " - "]  # a spreadsheet's accounting zero (or "none")
    with pytest.raises(  # `-   €`: Excel's euro accounting format, its fill's spaces (the review of round 25)
        StructuralError, match=r"3 of 100 rows hold '\$ -', '-', '-   €', an export's.*accounting format"
    ):
        load_data(_folder(tmp_path / "dash", orders=orders))
    orders["cost"] = "5"
    customers = orders[["customer_id"]].assign(signup_at="2022-12-01", region="EU", churned_at="NA")
    customers.loc[:29, "region"] = "NA"  # North America: a region
    said = r"'churned_at': no value parses as a date \(wrong type throughout\)\. The values are 'NA', an export's "
    with pytest.raises(StructuralError, match=said + r"placeholder.*empty on every row") as caught:
        load_data(_folder(tmp_path / "all", orders=orders, customers=customers))  # nobody cancelled
    assert "date_formats" not in str(caught.value)  # was: how to declare a date format
    customers.loc[:49, "churned_at"] = "2023-02-01"
    with pytest.raises(StructuralError, match=r"column 'churned_at': 50 of 100 rows hold 'NA'"):
        load_data(_folder(tmp_path / "churn", orders=orders, customers=customers))
    customers["churned_at"] = ""
    loaded = load_data(_folder(tmp_path / "region", orders=orders, customers=customers))
    assert (loaded.tables["customers"]["region"] == "NA").sum() == 30
    # `-` as a category's or a date's "none": no word of a spreadsheet's accounting zero (the review of round 25)
    customers.loc[:29, "region"] = "-"
    with pytest.raises(StructuralError, match=r"30 of 100 rows hold '-'") as caught:
        load_data(_folder(tmp_path / "dash_region", orders=orders, customers=customers))
    assert "accounting" not in str(caught.value)
    customers["region"], customers["churned_at"] = "EU", "-"
    with pytest.raises(StructuralError, match=r"The values are '-'.*empty on every row") as caught:
        load_data(_folder(tmp_path / "dash_churn", orders=orders, customers=customers))
    assert "accounting" not in str(caught.value)


def test_a_column_of_sas_dots_and_some_dates_is_told_its_date_form_not_empty(tmp_path):
    """A SAS export's `churned_at`: `.` for the 90 customers who stayed, `05JAN2023` for the 10 who left. No value
    parses; round 25 said, from the first 5 given values, "the column is empty on every row ... or leave the
    column out" (the review of round 25: 10 churn dates lost). Now said only when every given value is a
    placeholder (pandas: counted; Spark's driver: the row step's `PLACEHOLDER` and `GIVEN` sums,
    `spark_checks.check_head`, called here without a session); else the date format's hint, as before."""
    from features.contract import TABLES
    from pipelines.engines.spark_checks import GIVEN, PLACEHOLDER, check_head
    from pipelines.engines.spark_input import check_rows
    from pipelines.io import load_data

    orders = raw_orders(100)
    customers = orders[["customer_id"]].assign(signup_at="2022-12-01", region="EU", churned_at=".")
    customers.loc[90:, "churned_at"] = "05JAN2023"
    said = r"'churned_at': no value parses as a date \(wrong type throughout\)\. Dates must be ISO 8601"
    with pytest.raises(StructuralError, match=said) as caught:
        load_data(_folder(tmp_path, orders=orders, customers=customers))
    assert "empty on every row" not in str(caught.value)
    out = next(check_rows(iter([customers]), "customers", 0, "UTC", {}, {}))
    at = list(customers.columns).index("churned_at")
    sums = {
        m: int(((out[mask].to_numpy() >> at) & 1).sum()) for m, mask in (("g", GIVEN), ("p", PLACEHOLDER))
    }
    assert sums == {"g": 100, "p": 90}
    stats = pd.DataFrame({f"{m}{at}": [n] for m, n in sums.items()})
    head = customers["churned_at"].head(5)  # the rows the driver gathers: `.` each
    with pytest.raises(StructuralError, match=said):
        check_head(TABLES["customers"], at, head, stats, "UTC", {})
    stats[f"p{at}"] = 100  # `.` on every row: the column is empty
    with pytest.raises(StructuralError, match=r"The values are '\.'.*empty on every row"):
        check_head(TABLES["customers"], at, head, stats, "UTC", {})


def test_the_spark_engines_row_step_marks_rs_na_as_a_placeholder():
    """`--engine spark`: the executors' row step marks `NA` in a number column in `PLACEHOLDER`
    (`spark_masks`, the same `features.placeholder_words.missing_placeholders`), which the driver sums and judges with the
    pandas engine's `check_missing_placeholders`."""
    from pipelines.engines.spark_checks import PLACEHOLDER
    from pipelines.engines.spark_input import check_rows

    orders = raw_orders(100)
    orders["cost"] = "5"
    orders.loc[[3, 9, 40], "cost"] = "NA"
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}))
    at = list(orders.columns).index("cost")
    assert list(np.flatnonzero((out[PLACEHOLDER].to_numpy() >> at) & 1)) == [3, 9, 40]


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ("orders", "the orders are required"),
        ("customers", "every order would be rejected as an unknown customer's"),
    ],
)
def test_a_mappings_where_keeping_no_order_or_customer_stops_naming_it(tmp_path, table, said):
    """A mapping's `where` matching none of its source's rows, for the orders or the customers (a value written
    otherwise than the filter expects: `'Paid'` for `'paid'`). Was: the orders, `validate` exit 0 with a note "the
    data has no orders"; the customers, "table 'customers' has no usable row ... remove the file", which no file
    to remove. Now a structural error naming the mapping's table and its `where` (`features.table_rows.
    emptied_table_notes`, the pandas load of a mapping: both engines read a mapping so); a side table so
    emptied stays a note (round 24)."""
    from pipelines.io import load_data

    data, mapping = _sales_source(tmp_path / "src", ["EUR"])
    text = mapping.read_text()
    if table == "orders":
        text = text.replace("    source: sales\n", "    source: sales\n    where: Amount == 'x'\n")
    else:
        text += "  customers:\n    source: sales\n    role: dimension\n    where: Amount == 'x'\n"
        text += "    group_by: Customer\n    columns: {customer_id: Customer, signup_at: {min: Date}}\n"
    mapping.write_text(text)
    with pytest.raises(StructuralError) as caught:
        load_data(data, mapping)
    assert (
        f"mapping table {table!r} keeps no row of its source (tables.{table}.where = \"Amount == 'x'\""
        in str(caught.value)
    )
    assert said in str(caught.value)


def test_a_mapped_orders_table_emptied_after_its_where_names_the_cause(tmp_path):
    """A mapping whose `where` keeps all 100 sales, `require: {customer_id: Customer}` with `Customer` blank on
    every row. Round 25 blamed the `where` ("matched none ... Check the filter"; main: a note, exit 0). Now
    `apply_mapping` counts the rows each table's `where` kept and what each later step removed, and the stop
    names that (`features.table_rows.emptied_table_notes`)."""
    from pipelines.io import load_data

    data, mapping = _sales_source(tmp_path / "src", ["EUR"])
    sales = pd.read_csv(data / "sales.csv", dtype=str).assign(Customer="")
    sales.to_csv(data / "sales.csv", index=False)
    mapping.write_text(
        mapping.read_text().replace(
            "    source: sales\n",
            "    source: sales\n    where: Currency == 'EUR'\n    require: {customer_id: Customer}\n",
        )
    )
    with pytest.raises(StructuralError) as caught:
        load_data(data, mapping)
    assert (
        "mapping table 'orders' keeps no row of its source (tables.orders.where = \"Currency == 'EUR'\" kept 100 "
        "rows; the mapping rejected all of them: 100 missing customer_id): the orders are required"
        in str(caught.value)
    )
    assert "matched none" not in str(caught.value)
    from features.table_rows import emptied_table_notes

    kept = {"customers": {"where": 12, "missing group_by column Customer": 12}, "returns": {"where": 0}}
    with pytest.raises(
        StructuralError, match=r"'customers' .*\(it read 12 rows; .*: 12 missing group_by column"
    ):
        emptied_table_notes({"customers": None}, {"customers": 0}, kept)  # no `where`: the rest is named
    said = "mapping table 'returns' keeps no row of its source (tables.returns.where = 'x' matched none)"
    assert emptied_table_notes({"returns": "x"}, {"returns": 0}, kept) == [f"{said}: the data has no returns"]


def test_a_csv_separated_by_vertical_bars_says_so(tmp_path):
    """A `|`-separated file (bcp's, Hive's, a database dump's) named `orders.csv`: read as one column, it was told
    "none of its 1 header cells is named like a column: its first line may be a data row", a header it has. Now
    the separator's stop of `;` and tabs (`pipelines.csv_reading._check_header_names`, both engines' header)."""
    from pipelines.io import load_data

    data = _folder(tmp_path / "bars")
    raw_orders(5).to_csv(data / "orders.csv", index=False, sep="|")
    with pytest.raises(
        StructuralError, match=r"orders\.csv: the header is separated by vertical bars \(\|\)"
    ):
        load_data(data)


def test_dates_written_as_midnight_utc_read_a_day_early_stop(tmp_path):
    """Orders dated without a time but written as instants at midnight UTC (`2023-01-05T00:00:00Z`: a JSON API,
    pandas' `to_datetime(utc=True)`; a Parquet timestamp in UTC at 00:00), with `data.timezone` behind UTC. Was:
    read, exit 0, each order the evening before (2023-01-04 19:00 in New York: the first of each month in the
    month before). Now a structural error naming the column (`features.utc_midnights`); in a zone ahead of UTC
    (the same day) or in UTC they are read, and so are a few such values among times of day."""
    from pipelines.io import load_data

    orders = raw_orders(40)
    orders["ordered_at"] += "T00:00:00Z"
    data = _folder(tmp_path / "csv", orders=orders)
    said = r"'ordered_at': 40 of 40 values are midnight UTC \('2023-01-01T00:00:00Z'\).*the day before"
    with pytest.raises(StructuralError, match=said):
        load_data(data, timezone="America/New_York")
    assert load_data(data, timezone="Asia/Tokyo").tables["orders"]["ordered_at"].iloc[0].hour == 9
    orders.loc[:20, "ordered_at"] = "2023-01-05T10:15:00Z"  # instants: kept
    load_data(_folder(tmp_path / "times", orders=orders), timezone="America/New_York")
    aware = raw_orders(40)
    aware["ordered_at"] = pd.to_datetime(aware["ordered_at"], utc=True)
    aware.to_parquet(_folder(tmp_path / "parquet") / "orders.parquet", index=False)
    with pytest.raises(
        StructuralError, match=r"40 of 40 values are midnight UTC \('2023-01-01 00:00:00\+00:00'\)"
    ):
        load_data(tmp_path / "parquet" / "data", timezone="America/New_York")


@pytest.mark.parametrize(
    ("year_round", "behind", "ahead"),
    [(False, "America/New_York", "Europe/Paris"), (True, "Atlantic/Azores", "Europe/London")],
)
def test_the_spark_engines_row_step_and_driver_judge_dates_at_midnight_utc(year_round, behind, ahead):
    """`--engine spark`: the executors' row step marks each date written as midnight UTC that the zone reads on
    another day (`UTC_MIDNIGHT`, `spark_masks`), whose sum the driver judges with the pandas engine's function
    (`spark_stops.table_stops`). Through a year in `Atlantic/Azores` (behind UTC in winter only): every row, as
    the pandas engine counts them; `Europe/Paris`, `Europe/London` (never behind): none."""
    from features.contract import TABLES
    from pipelines.engines.spark_checks import UTC_MIDNIGHT
    from pipelines.engines.spark_input import check_rows
    from pipelines.engines.spark_stops import table_stops
    from tests.helpers import MaskedRows, orders_stats

    orders = raw_orders(40)
    orders["ordered_at"] += "T00:00:00Z"
    if year_round:
        orders["ordered_at"] = pd.date_range("2023-01-03", periods=40, freq="9D").strftime(
            "%Y-%m-%dT00:00:00Z"
        )
    names = list(orders.columns)
    at = names.index("ordered_at")
    out = next(check_rows(iter([orders]), "orders", 0, behind, {}, {}))
    assert int(((out[UTC_MIDNIGHT].to_numpy() >> at) & 1).sum()) == 40
    stats = orders_stats(names, 40, **{f"Z{at}": 40})
    with pytest.raises(StructuralError, match=r"40 of 40 values are midnight UTC"):
        table_stops(TABLES["orders"], names, stats, MaskedRows(orders, out), lambda i: None, {})
    out = next(check_rows(iter([orders]), "orders", 0, ahead, {}, {}))  # 01:00 (00:00) the same day
    assert not out[UTC_MIDNIGHT].to_numpy().any()


@pytest.mark.parametrize("written", ["%d%b%Y", "%d%b%Y:%H:%M:%S"])
def test_sas_dates_in_part_of_a_column_stop_as_other_date_forms_do(tmp_path, written):
    """A part of an ISO date column written by SAS (`05JAN2023`: `DATE9.`; `05JAN2023:10:00:00`: `DATETIME20.`) or
    Stata: a second export put with the first. Was: each row `ambiguous or unknown date format`, exit 0 (149 of
    the demo's orders lost at 5%). Now the stop for dates in another form (`features.date_forms._OTHER_DATE`, the
    Spark row step's `OTHER_DATE` mask: the same `other_date_forms`)."""
    from features.date_forms import other_date_forms
    from pipelines.io import load_data

    orders = raw_orders(100)
    at = [3, 30, 60]
    orders.loc[at, "ordered_at"] = (
        pd.to_datetime(orders.loc[at, "ordered_at"]).dt.strftime(written).str.upper()
    )
    with pytest.raises(
        StructuralError, match=r"3 of 100 values are dates written in another form.*'04JAN2023"
    ):
        load_data(_folder(tmp_path, orders=orders))
    bad = pd.Series(True, index=orders.index)
    assert list(np.flatnonzero(other_date_forms(orders["ordered_at"], bad))) == at


def test_dates_at_midnight_utc_in_a_zone_behind_utc_only_in_winter_stop(tmp_path):
    """`data.timezone: Atlantic/Azores` (UTC-1 in winter, UTC+0 in summer) and orders dated through a year, written
    as midnight UTC. Was: only the winter half counted (read a day early), under the 99% share: exit 0, every
    winter order a day early. Now "behind UTC" is judged at each value's year (`features.utc_midnights`): a stop
    in both engines (the Spark side: the test above); a zone never behind UTC (`Europe/London`, UTC+0 in winter)
    reads them as before."""
    from pipelines.io import load_data

    orders = raw_orders(40)
    orders["ordered_at"] = pd.date_range("2023-01-03", periods=40, freq="9D").strftime("%Y-%m-%dT00:00:00Z")
    data = _folder(tmp_path, orders=orders)
    with pytest.raises(StructuralError, match=r"'ordered_at': 40 of 40 values are midnight UTC"):
        load_data(data, timezone="Atlantic/Azores")
    assert load_data(data, timezone="Europe/London").tables["orders"]["ordered_at"].iloc[0].hour == 0


def test_lines_of_separators_only_are_rejected_as_empty_lines_in_both_engines(tmp_path):
    """Excel's blank rows saved into a CSV (`,,,,,,`, here 4 at the end and 1 inside). Was: each rejected as
    `missing order_id` (counted, but it named a column, not the line). Now their own reason (`features.keys.
    empty_lines`), the same in the Spark row step (the same `_validate_table`); rows in = accepted + rejected, and
    a row with one value left is still judged by its columns."""
    from pipelines.engines.spark_checks import REASON
    from pipelines.engines.spark_input import check_rows
    from pipelines.io import load_data

    orders = raw_orders(20)
    data = _folder(tmp_path, orders=orders)
    path = data / "orders.csv"
    lines = path.read_text().splitlines()
    blank = "," * (len(orders.columns) - 1)
    lines[6:6] = [blank]
    lines[9:9] = [blank[:-2] + "5," + ","]  # one value: not an empty line
    path.write_text("\n".join(lines + [blank] * 4) + "\n")
    report = load_data(data).result.report["orders"]
    assert report.rejected_by_reason.get("an empty row: no value in any column") == 5
    assert report.rows_in == 26 == report.accepted + sum(report.rejected_by_reason.values())
    assert report.rejected_by_reason.get("missing order_id") == 1
    read = pd.read_csv(path, dtype=str, keep_default_na=False)
    out = next(check_rows(iter([read]), "orders", 0, "UTC", {}, {}))
    assert out[REASON].value_counts().to_dict() == report.rejected_by_reason
