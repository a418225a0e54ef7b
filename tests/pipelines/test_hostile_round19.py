"""Hostile input classes closed in the nineteenth hunt: ISO 8601's decimal comma in a time and its hour-only form;
`build_reports` given managers or customers without an id or with one twice. Tiny hand-written files; no training,
no model, no Spark session (the Spark cases: `test_hostile_round19_spark.py`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.validation import StructuralError
from tests.helpers import raw_orders


def _with_customers(folder: Path, column: str, value: str, other: str) -> Path:
    """100 orders of customers C0..C99 (`raw_orders`) and their customers table, `column` written `value` for the
    first 10 customers and `other` for the rest."""
    folder.mkdir(parents=True)
    raw_orders(100).to_csv(folder / "orders.csv", index=False)
    customers = pd.DataFrame({"customer_id": [f"C{i}" for i in range(100)], column: other})
    customers.loc[:9, column] = value
    customers.to_csv(folder / "customers.csv", index=False)
    return folder


def _orders_with_times(folder: Path, every: int, written) -> Path:
    """100 orders at 10:15:30 and a half second, every `every`-th written by `written(day)` instead."""
    folder.mkdir(parents=True, exist_ok=True)
    orders = raw_orders(100)
    orders["ordered_at"] = orders["ordered_at"] + " 10:15:30.5"
    orders.loc[::every, "ordered_at"] = orders["ordered_at"][::every].str.slice(0, 10).map(written)
    orders.to_csv(folder / "orders.csv", index=False)
    return folder


@pytest.mark.parametrize(
    "written",
    [
        lambda day: f"{day} 10:15:30,5",  # Python logging's asctime, log4j's default, Java's `,SSS`
        lambda day: f"{day}T10:15:30,500000Z",
        lambda day: f"{day}T11:15:30,5+01:00",
        lambda day: f"{day} 10:15:30,5 UTC",
    ],
    ids=["naive", "z", "offset", "utc"],
)
def test_a_time_with_iso_8601s_decimal_comma_is_read(tmp_path, written):
    """ISO 8601 writes a fraction of a second with a comma as well as a point (and prefers the comma): Python
    logging's `2023-01-05 10:15:30,500`, log4j's and Java's `,SSS`. Was: each such row rejected `ambiguous or
    unknown date format in ordered_at`, exit 0 (the demo with 5% of its orders so: 149 orders gone; a whole column
    so, the stop "do not parse as a date"). Now read as the point is (`features.dates._ISO`, both engines' parser)."""
    from pipelines.io import load_data

    loaded = load_data(_orders_with_times(tmp_path / "data", 10, written))
    assert loaded.result.report["orders"].rejected == 0
    got = loaded.tables["orders"]["ordered_at"]
    assert (got.dt.strftime("%H:%M:%S.%f") == "10:15:30.500000").all()
    assert got.iloc[0] == pd.Timestamp("2023-01-01 10:15:30.5")


def test_a_placeholder_date_with_a_decimal_comma_is_still_a_placeholder():
    """The comma is read, so `1970-01-01T00:00:00,000Z` is the epoch's midnight, as written with a point."""
    from features.dates import parse_timestamps_native
    from features.placeholder_dates import placeholder_rows

    raw = pd.Series(["1970-01-01T00:00:00,000Z", "1970-01-01 00:00:00,000", "2023-01-05 10:00:00,1"])
    parsed, unknown = parse_timestamps_native(raw, "Europe/Paris")
    placeholder, _ = placeholder_rows(raw, parsed, None)
    assert placeholder.tolist() == [True, True, False] and not unknown.any()


@pytest.mark.parametrize(
    "written", [lambda day: f"{day} 10", lambda day: f"{day}T10Z"], ids=["hour", "hour-z"]
)
def test_dates_with_their_hour_only_are_another_form(tmp_path, written):
    """ISO 8601's reduced form `2023-01-05 10` (a date and its hour, no minutes) among a column's date-times:
    was each row rejected `ambiguous or unknown date format`, exit 0 (the demo with 5% of its orders so: 149
    orders gone). Now, on 1% of the column or more, the stop for dates in another form, as ISO's other reduced
    forms (`2023-03`, `2023-064`) are (`features.date_forms._ISO_OTHER`); no minute is guessed."""
    from pipelines.io import load_data

    with pytest.raises(StructuralError, match=r"10 of 100 values are dates written in another form"):
        load_data(_orders_with_times(tmp_path / "data", 10, written))


@pytest.mark.parametrize(
    "form",
    [
        "%a, %d %b %Y %H:%M:%S +0000",
        "%a, %d %b %Y %H:%M:%S GMT",
        "%a %b %d %H:%M:%S +0000 %Y",
        "%a %b %d %H:%M:%S CET %Y",
        "%A, %B %d, %Y",
    ],
    ids=["rfc-2822", "http", "twitter", "java-date", "sheet-long-date"],
)
def test_dates_after_a_weekdays_name_are_another_form(tmp_path, form):
    """RFC 2822's `Fri, 01 Jan 2021 08:39:05 +0000` (e-mail, HTTP, RSS, many APIs), Java's `Date.toString()` and
    Unix `date`'s `Fri Jan 01 08:39:05 CET 2021`, a spreadsheet's long date `Friday, January 01, 2021` among a
    column's ISO dates: was each row rejected `ambiguous or unknown date format`, exit 0 (the demo with 5% of its
    orders so: 149 orders gone), the stop for another form missing them for the weekday in front. Now the stop
    (`features.date_forms._WEEKDAY`, in `_OTHER_DATE`)."""
    from pipelines.io import load_data

    written = lambda day: pd.Timestamp(day + " 10:15:30").strftime(form)  # noqa: E731
    with pytest.raises(StructuralError, match=r"10 of 100 values are dates written in another form"):
        load_data(_orders_with_times(tmp_path / "data", 10, written))


def test_a_mapping_source_column_named_like_a_yaml_1_1_boolean_is_a_column(tmp_path):
    """A source column `No` (an invoice's number), `On`, `Off`, `Yes`: PyYAML reads them as YAML 1.1's booleans,
    and the mapping stopped with `tables.orders.columns.order_id.str = False: should be a valid string`, naming a
    value the user never wrote. Now only YAML 1.2's `true`/`false` are booleans (`pipelines.yamlfile`, the one
    reader of configs and mappings): the column is read."""
    import yaml

    from pipelines.mapping import load_mapping

    path = tmp_path / "mapping.yaml"
    path.write_text(
        yaml.safe_dump({"sources": {"sales": {"file": "sales.csv"}}})
        + "tables:\n  orders:\n    source: sales\n    columns:\n      order_id: No\n      customer_id: On\n"
        "      ordered_at: Off\n      revenue: Yes\n"
    )
    columns = load_mapping(path).tables["orders"].columns
    assert columns == {"order_id": "No", "customer_id": "On", "ordered_at": "Off", "revenue": "Yes"}


def test_yaml_1_1_octal_and_base_60_numbers_are_not_read_in_a_config(tmp_path):
    """`windows_days: [030, 090, 365]` (zero-padded to line up) was read `[24, 90, 365]` (`030` octal) and
    `horizon_days: 1:30` as 90 (base 60), both without a word. Now a leading zero is decimal and `1:30`, `0x5A`
    are text, refused by name."""
    from pipelines.config import load_config

    padded = tmp_path / "padded.yaml"
    padded.write_text("features:\n  windows_days: [030, 090, 365]\nlabels:\n  reach_last_year: true\n")
    assert tuple(load_config(padded).features.windows_days) == (30, 90, 365)
    for written in ("1:30", "0x5A", "1:30.0"):
        odd = tmp_path / "odd.yaml"
        odd.write_text(f"labels:\n  horizon_days: {written}\n")
        with pytest.raises(
            StructuralError, match=f"labels.horizon_days = '{written}': should be a valid integer"
        ):
            load_config(odd)


def test_a_mapping_comparing_a_typed_parquet_column_with_text_is_refused_or_read_as_a_date():
    """A Parquet source's typed column compared with a text literal: `CustomerID != '12346'` (a float column) was
    true on every row and `CustomerID.isin(['12346'])` never, the test account's filter silently doing nothing;
    `InvoiceDate >= '1/12/2011'` on a timestamp column was read by pandas month first (the 12th of January, not a
    UK user's 1st of December), rows routed by a guessed date with exit 0. Now a number or true/false column with
    text is the mapping's structural error saying to write the value without quotes, and a date column's literal
    is read as ISO 8601 or refused (`pipelines.mapping.expressions.typed_text_literal`)."""
    from pipelines.mapping.expressions import ExpressionError, evaluate, parse

    frame = pd.DataFrame(
        {
            "CustomerID": [12346.0, 17850.0],
            "Flag": [True, False],
            "InvoiceDate": pd.to_datetime(["2011-01-05 10:00", "2011-12-01 08:26"]),
            "Country": ["UK", "France"],
        }
    )
    for expr in ("CustomerID != '12346'", "CustomerID.isin(['12346'])", "'12346' == CustomerID"):
        with pytest.raises(ExpressionError, match=r"holds numbers, with the text '12346': never equal"):
            evaluate(parse(expr), frame)
    with pytest.raises(ExpressionError, match=r"holds true/false.*Write True or False without quotes"):
        evaluate(parse("Flag == 'True'"), frame)
    with pytest.raises(ExpressionError, match=r"'1/12/2011', which is not an ISO 8601 date"):
        evaluate(parse("InvoiceDate >= '1/12/2011'"), frame)
    assert evaluate(parse("InvoiceDate >= '2011-12-01'"), frame).tolist() == [False, True]
    assert evaluate(parse("InvoiceDate < '2011-12-01T10:30+02:00'"), frame).tolist() == [True, True]
    aware = frame.assign(InvoiceDate=frame["InvoiceDate"].dt.tz_localize("UTC"))
    assert evaluate(parse("InvoiceDate >= '2011-12-01'"), aware).tolist() == [False, True]
    # not over-refused: numbers without quotes, text columns with text, a CSV column's numbers
    assert evaluate(parse("CustomerID != 12346"), frame).tolist() == [False, True]
    assert evaluate(parse("Country == 'UK'"), frame).tolist() == [True, False]
    assert evaluate(parse("Q == 5"), pd.DataFrame({"Q": ["5", "6"]})).tolist() == [True, False]


@pytest.mark.parametrize(
    "zero", ["0001-01-01", "0001-01-01 00:00:00", "1753-01-01", "1899-12-30", "1899-12-31"]
)
def test_a_systems_zero_date_for_every_missing_date_stops_a_stray_one_is_named(tmp_path, zero):
    """`churned_at` written `0001-01-01` (.NET's `DateTime.MinValue`, Go's zero time), `1753-01-01` (SQL Server's
    `datetime` minimum) or `1899-12-30` (the OLE Automation zero of Excel, Access, VBA) for every customer never
    cancelled: was each customer rejected `impossible date in churned_at`, and every order of theirs `unknown
    customer_id`, exit 0 (the demo: 276 of 306 customers and 2,741 of 2,980 orders lost). Now, on 1% of the column
    or more, the stop for a placeholder written for every missing value, as for `9999-12-31` and `1970-01-01`
    (`features.placeholder_dates.zero_dates`, in `placeholder_rows`); a stray one is a reject naming it a placeholder."""
    from pipelines.io import load_data

    data = _with_customers(tmp_path / "data", "churned_at", zero, "")
    with pytest.raises(StructuralError, match=rf"10 of 100 rows hold '{zero}', an export's placeholder"):
        load_data(data)
    orders = raw_orders(200)
    orders.loc[:1, "ordered_at"] = zero
    orders.to_csv(data / "orders.csv", index=False)
    (data / "customers.csv").unlink()
    report = load_data(data).result.report["orders"]
    assert report.rejected_by_reason == {
        "placeholder date in ordered_at (0001-01-01, 1753-01-01, 1899-12-30, ...: a system's zero or minimum "
        "date)": 2
    }


def test_dates_before_1900_that_are_no_zero_date_stay_impossible():
    """Not over-read: `1850-06-01` is no system's zero date (an `impossible date` reject, as before), nor is
    `1900-01-02` or a real `2023-01-01`."""
    from features.placeholder_dates import zero_dates

    got = zero_dates(
        pd.Series(pd.to_datetime(["1850-06-01", "1900-01-02", "2023-01-01", None]).astype("M8[us]"))
    )
    assert not got.any()


def _sales_source(folder: Path, currencies: list[str]) -> tuple[Path, Path]:
    """A mapping's source of 100 sales lines with a `Currency` column cycling through `currencies`, and its
    mapping (`where` given by the caller through the returned mapping's text)."""
    folder.mkdir(parents=True)
    n = 100
    pd.DataFrame(
        {
            "No": [f"S{i}" for i in range(n)],
            "Customer": [f"C{i % 30}" for i in range(n)],
            "Date": [f"2023-01-{i % 28 + 1:02d}" for i in range(n)],
            "Amount": ["12.50"] * n,
            "Currency": [currencies[i % len(currencies)] for i in range(n)],
        }
    ).to_csv(folder / "sales.csv", index=False)
    mapping = folder.parent / "mapping.yaml"
    mapping.write_text(
        "sources:\n  sales: {file: sales.csv, part: true}\ntables:\n  orders:\n    source: sales\n"
        "    columns: {order_id: 'No', customer_id: Customer, ordered_at: Date, revenue: Amount}\n"
    )
    return folder, mapping


def test_a_mapping_source_with_amounts_in_two_currencies_stops(tmp_path):
    """A multi-currency shop's export read through a mapping: a `Currency` column of `EUR` and `USD` beside the
    amounts. The mapping names its tables' columns, so no table had a currency column and the amounts were
    summed as one currency, exit 0. Now a source's currency column the mapping does not read is judged as a
    table's is (`pipelines.mapping.source_checks.check_source_currencies`, `features.currency`); one the mapping
    reads (a `where` keeping one currency) is its own."""
    from pipelines.io import load_data

    data, mapping = _sales_source(tmp_path / "data", ["EUR", "USD"])
    with pytest.raises(
        StructuralError, match=r"column 'Currency': amounts in EUR \(50 rows\), USD \(50 rows\)"
    ):
        load_data(data, mapping, currency="EUR")
    mapping.write_text(
        mapping.read_text().replace("source: sales\n", "source: sales\n    where: Currency == 'EUR'\n")
    )
    assert len(load_data(data, mapping, currency="EUR").tables["orders"]) == 50
    one, one_mapping = _sales_source(tmp_path / "one" / "data", ["EUR"])
    assert len(load_data(one, one_mapping, currency="EUR").tables["orders"]) == 100


@pytest.mark.parametrize("word", ["\\N", "(null)", "<NA>", "NaT", "infinity"])
def test_a_database_dumps_null_for_every_missing_date_stops(tmp_path, word):
    """`\\N` (MySQL's `INTO OUTFILE`, PostgreSQL's `COPY` text, Hive and Sqoop files), `(null)` (C's `printf`),
    `<NA>` and `NaT` (pandas' missing values turned to text), PostgreSQL's `infinity` (an open end) written for
    every missing date (`signup_at`): was each row
    rejected `ambiguous or unknown date format`, exit 0, unless more than half the column (the demo with 10% of
    its invoices unpaid so: 298 invoices lost). Now the stop for a placeholder written for every missing value, as
    for `NULL` (`features.ids.PLACEHOLDER_IDS`, `features.placeholder_words.VALUE_PLACEHOLDERS`, `missing_placeholders`)."""
    from pipelines.io import load_data

    with pytest.raises(StructuralError, match=r"10 of 100 rows hold .*an export's placeholder for a missing"):
        load_data(_with_customers(tmp_path / "data", "signup_at", word, "2022-12-01"))


def test_a_database_dumps_null_as_an_id_is_a_placeholder_but_nat_initials_are_an_id(tmp_path):
    """`\\N` as an order's customer id (a MySQL dump's NULL) was a customer `\\N` holding every order without one;
    now the placeholder reject. `NAT` stays an id (a manager's initials): `NaT` is a placeholder in dates only."""
    from pipelines.io import load_data

    orders = raw_orders(200).assign(customer_id=lambda t: t["customer_id"].mask(t.index == 0, "\\N"))
    (tmp_path / "orders.csv").write_text(
        orders.assign(customer_id=orders["customer_id"].replace("C1", "NAT")).to_csv(index=False)
    )
    loaded = load_data(tmp_path)
    assert loaded.result.report["orders"].rejected_by_reason == {
        "placeholder for a missing value in customer_id (NULL, None, N/A, ...)": 1
    }
    assert "NAT" in set(loaded.tables["orders"]["customer_id"])


# --- the report pages' tables (`pipelines.reports.views.check_ids`) ---------------------------------------------


@pytest.fixture(scope="module")
def report_inputs() -> dict:
    from tests.pipelines.report_fixtures import demo_report_inputs

    return demo_report_inputs(12, 2, seed=5)


def _report(inputs: dict, out: Path, customers: pd.DataFrame, managers: pd.DataFrame) -> None:
    from pipelines.config import load_config
    from pipelines.reports import build_reports

    report = load_config().report.model_copy(update={"currency": "EUR"})
    build_reports(
        inputs["scores"],
        inputs["value_contrib"],
        inputs["model_card"],
        out,
        report,
        inputs["registry"],
        customers,
        managers,
    )


@pytest.mark.parametrize("blank", ["", "  ", None])
def test_a_managers_row_without_an_id_gets_no_page_of_the_unassigned_customers(
    report_inputs: dict, tmp_path: Path, blank
) -> None:
    """A managers' row without an id is refused before any page is written (was: `""` a page under that row's
    name, `Eve Intruder`, holding every customer without a manager: another person read them; None exit 1,
    `TypeError: '<' not supported between instances of 'float' and 'str'`)."""
    managers = report_inputs["account_managers"].copy()
    managers.loc[0, "account_manager_id"] = blank
    managers.loc[0, "name"] = "Eve Intruder"
    with pytest.raises(
        ValueError, match=r"account_managers must have its account_manager_id on every row: 1 row"
    ):
        _report(report_inputs, tmp_path / "pages", report_inputs["customers"], managers)
    assert not (tmp_path / "pages").exists()


def test_a_customer_listed_twice_with_two_managers_is_refused(report_inputs: dict, tmp_path: Path) -> None:
    """The customers table holding one customer twice (two managers, two names) is refused by name (was: exit 1,
    `ValueError: Length mismatch: Expected 12 rows, received array of length 13`)."""
    customers = report_inputs["customers"]
    twice = customers.iloc[:1].assign(account_manager_id="AM002", name="Other Name")
    with pytest.raises(ValueError, match=r"customers must have one row per customer_id: 'C0001' appear"):
        _report(
            report_inputs,
            tmp_path / "pages",
            pd.concat([customers, twice]),
            report_inputs["account_managers"],
        )


def test_a_manager_listed_twice_under_two_names_is_refused(report_inputs: dict, tmp_path: Path) -> None:
    """A manager id on two rows of the managers table (two names) is refused by name (was: the first row's name on
    the page, the other dropped without a word)."""
    managers = report_inputs["account_managers"]
    twice = managers.iloc[:1].assign(name="Someone Else")
    with pytest.raises(
        ValueError, match=r"account_managers must have one row per account_manager_id: 'AM001'"
    ):
        _report(report_inputs, tmp_path / "pages", report_inputs["customers"], pd.concat([managers, twice]))


def test_a_filtered_source_is_judged_on_the_currency_of_the_rows_it_keeps(tmp_path):
    """A `part` source whose `where` keeps the United Kingdom's rows (all GBP) beside France's and Germany's EUR
    rows. Was: refused 'amounts in EUR ..., GBP ...' though every routed row is GBP (the currency column judged
    on every source row, before the `where`). Now judged on the rows kept; without the filter it still stops."""
    from pipelines.io import load_data

    data, mapping = _sales_source(tmp_path / "data", ["GBP", "EUR"])
    sales = pd.read_csv(data / "sales.csv", dtype=str)
    sales["Country"] = sales["Currency"].map({"GBP": "United Kingdom", "EUR": "France"})
    sales.to_csv(data / "sales.csv", index=False)
    with pytest.raises(StructuralError, match=r"column 'Currency': amounts in GBP \(50 rows\), EUR"):
        load_data(data, mapping, currency="GBP")
    mapping.write_text(
        mapping.read_text().replace(
            "source: sales\n", "source: sales\n    where: Country == 'United Kingdom'\n"
        )
    )
    assert len(load_data(data, mapping, currency="GBP").tables["orders"]) == 50


@pytest.mark.parametrize(
    "zero", ["0001-01-01T00:00:00Z", "1899-12-30T00:00:00Z", "1753-01-01 00:00:00+00:00"]
)
def test_a_zero_date_written_in_utc_is_one_in_another_data_timezone(tmp_path, zero):
    """Go's zero time `0001-01-01T00:00:00Z` or the OLE zero `1899-12-30T00:00:00Z`, read under `data.timezone:
    America/New_York`: converted first (the evening before, 19:00), so no longer 1 January nor 1899-12-30, each
    customer was rejected `impossible date`, exit 0. Now the zero date is judged on the date as written."""
    from pipelines.io import load_data

    data = _with_customers(tmp_path / "data", "churned_at", zero, "")
    with pytest.raises(StructuralError, match=r"10 of 100 rows hold '.*', an export's placeholder"):
        load_data(data, timezone="America/New_York")


def test_a_typed_column_compared_with_blank_text_points_to_notna():
    """`CustomerID != ''` (the usual way to drop guest lines of a CSV) on a Parquet float column: was told to
    write the blank "without quotes", no way out. Now pointed to `CustomerID.notna()` / `.isna()`."""
    from pipelines.mapping.expressions import ExpressionError, evaluate, parse

    frame = pd.DataFrame({"CustomerID": [12346.0, None], "InvoiceDate": pd.to_datetime(["2011-01-05", None])})
    for expr, col in (("CustomerID != ''", "CustomerID"), ("InvoiceDate == ' '", "InvoiceDate")):
        with pytest.raises(ExpressionError, match=rf"blank text .*Write {col}\.notna\(\) .*{col}\.isna\(\)"):
            evaluate(parse(expr), frame)
    assert evaluate(parse("CustomerID.notna()"), frame).tolist() == [True, False]


@pytest.mark.parametrize(
    "written", ["!!int 0x5A", "!!float abc", "!!timestamp x", "!!bool maybe", "!!float ''", "!!set [1]"]
)
def test_a_yaml_tag_forcing_a_type_the_value_is_not_is_named(tmp_path, written):
    """`horizon_days: !!int 0x5A` (a tag forcing PyYAML's hexadecimal, which the reader's decimal integers refuse)
    was a bare ValueError, a traceback; `!!timestamp x` an AttributeError; `!!bool maybe` a KeyError (a traceback
    until the reader caught only the errors of a tagged value). Now the file's error, by name."""
    from pipelines.config import load_config

    odd = tmp_path / "odd.yaml"
    odd.write_text(f"labels:\n  horizon_days: {written}\n")
    with pytest.raises(StructuralError, match=r"cannot read config .*odd\.yaml"):
        load_config(odd)


@pytest.mark.parametrize("far", ["9999-12-31T23:59:59-05:00", "9999-12-31T23:59:59 America/New_York"])
def test_a_far_future_sentinel_with_an_offset_is_no_traceback(tmp_path, far):
    """`9999-12-31T23:59:59-05:00` (a "never" written with its offset) read under `data.timezone: America/New_York`:
    converted to UTC it falls in year 10000, and pandas' zone conversion raised NotImplementedError (a traceback).
    A value that far out of range is impossible in any zone: kept as written, so the column's placeholder stop
    names it (every customer) and a stray one is rejected, no traceback."""
    from pipelines.io import load_data

    data = _with_customers(tmp_path / "data", "churned_at", far, "")
    with pytest.raises(StructuralError, match=r"10 of 100 rows hold"):
        load_data(data, timezone="America/New_York")
    customers = pd.read_csv(data / "customers.csv", dtype=str, keep_default_na=False)
    customers["churned_at"] = ""
    customers.loc[0, "churned_at"] = far
    customers.to_csv(data / "customers.csv", index=False)
    report = load_data(data, timezone="America/New_York").result.report["customers"]
    assert sum(report.rejected_by_reason.values()) == 1
