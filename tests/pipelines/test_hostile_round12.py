"""Hostile input classes closed in the twelfth hunt. Tiny hand-written tables; no training, no model."""

from __future__ import annotations

import pandas as pd
import pytest

from features.validation import StructuralError, validate_tables
from tests.helpers import raw_orders

SHEET_ERRORS = ["#VALUE!", "#DIV/0!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#####", "#value!"]


def test_spreadsheet_error_values_in_a_number_column_are_named_and_stop_on_1_percent():
    """An amount column exported from a spreadsheet whose formula failed on some rows (`#VALUE!`, `#DIV/0!`,
    `#REF!`, a `#####` too wide for its cell): was each an `unparseable revenue` reject with exit 0, however many
    (the demo with `#VALUE!` on 5% of its orders: 198 orders and their revenue gone). On 1% of the column (3
    rows or more) a structural error naming them and the rows; a stray one a reject saying what it is."""
    n = 300
    orders = raw_orders(n)
    many = orders.assign(
        revenue=[SHEET_ERRORS[i] if i < len(SHEET_ERRORS) else v for i, v in enumerate(orders["revenue"])]
    )
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": many})
    message = str(got.value)
    assert message.startswith(
        f"table 'orders', column 'revenue': {len(SHEET_ERRORS)} of 300 values are a spreadsheet's error value"
    )
    assert "'#VALUE!', '#DIV/0!', '#REF!'" in message and "\n0 " in message
    stray = orders.assign(revenue=["#DIV/0!" if i == 7 else v for i, v in enumerate(orders["revenue"])])
    res = validate_tables({"orders": stray})
    assert res.report["orders"].rejected_by_reason == {
        "a spreadsheet error value in revenue (#VALUE!, #DIV/0!, #REF!, ...: a formula that failed)": 1
    }
    assert res.report["orders"].accepted == n - 1


@pytest.mark.parametrize("value", ["#REF!", "#VALUE!", "#name?", "#####"])
def test_a_spreadsheet_error_value_as_an_id_is_rejected_not_one_customer(value):
    """Customer ids looked up by a spreadsheet formula that failed on some rows (`#REF!`): without a customers
    table, was exit 0 with every such order pooled onto one customer `#REF!` (scored, in the reports). Now a row
    reject naming the value's kind, as `#N/A` (a placeholder for a missing value) already was; `#42` is an id."""
    orders = raw_orders(6).assign(customer_id=[value, "C1", value, "#42", "C4", "C5"])
    res = validate_tables({"orders": orders})
    assert res.report["orders"].rejected_by_reason == {
        "a spreadsheet error value in customer_id (#VALUE!, #DIV/0!, #REF!, ...: a formula that failed)": 2
    }
    assert sorted(res.tables["orders"]["customer_id"]) == ["#42", "C1", "C4", "C5"]


@pytest.mark.parametrize(
    "mark", ["\u200b", "\u00ad", "\ufeff", "\u2060"], ids=["zwsp", "soft-hyphen", "bom", "wj"]
)
def test_an_invisible_character_in_a_number_is_named_so_not_a_currency_sign(mark):
    """`12.50` followed (or split) by a zero-width space, a soft hyphen, a BOM or a word joiner (copied from a web
    page or a PDF): was a reject `number with a currency sign or unit` (the invisible character taken for a
    unit) and, on 1% of the column, a stop telling the user to export amounts in `data.currency`, which they
    did. Now its own reason, the ids' `invisible character in <column> (...)`, and its own stop."""
    n = 300
    orders = raw_orders(n)
    forms = [f"12.50{mark}", f"1{mark}2.50", f"{mark}12.50"]
    stray = orders.assign(revenue=[forms[0] if i == 4 else v for i, v in enumerate(orders["revenue"])])
    res = validate_tables({"orders": stray})
    assert res.report["orders"].rejected_by_reason == {
        "invisible character in revenue (BOM, zero-width space, line break, ...)": 1
    }
    many = orders.assign(revenue=[forms[i % 3] if i < 6 else v for i, v in enumerate(orders["revenue"])])
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": many})
    message = str(got.value)
    assert message.startswith(
        "table 'orders', column 'revenue': 6 of 300 values are written with an invisible character"
    )
    assert "currency" not in message


def _mixed_dates(n: int, month_first: int) -> pd.DataFrame:
    """`n` orders dated over 2023 written `%d/%m/%Y` but the first `month_first`, written `%m/%d/%Y` (a second
    system's export appended, a US office)."""
    days = pd.date_range("2023-01-01", periods=n, freq="D")
    written = [d.strftime("%m/%d/%Y" if i < month_first else "%d/%m/%Y") for i, d in enumerate(days)]
    return raw_orders(n).assign(ordered_at=written)


def test_a_declared_day_first_format_over_month_first_dates_is_structural_not_read_swapped():
    """`data.date_formats: {orders.ordered_at: "%d/%m/%Y"}` over a column of which a part is written month first
    (`01/14/2023`): was exit 0 with the month-first values whose day is above 12 rejected `does not match the
    declared date format` and the others (the 5th of January as the 1st of May) read with day and month swapped
    without a word: 60 of 300 such orders gave 35 rejects and 25 orders dated months off. Now the values that
    match only with day and month swapped, on 1% of the column (3 rows), stop naming both formats, the values
    and example rows; the whole column written month first (most of it unparsed) gets that message too."""
    formats = {"orders.ordered_at": "%d/%m/%Y"}
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": _mixed_dates(300, 60)}, date_formats=formats)
    message = str(got.value)
    assert message.startswith(
        "table 'orders', column 'ordered_at': 35 of 300 values do not match the declared date format "
        "'%d/%m/%Y' but do match '%m/%d/%Y' ('01/13/2023', '01/14/2023', '01/15/2023')"
    )
    assert "day and month swapped" in message and "\n12 " in message  # the first such source row
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": _mixed_dates(300, 300)}, date_formats=formats)
    assert "but do match '%m/%d/%Y'" in str(got.value)
    # a stray value of the other form, or a typo that matches neither, stays a row reject
    stray = _mixed_dates(300, 0)
    stray.loc[5, "ordered_at"], stray.loc[9, "ordered_at"] = "01/30/2023", "31/02/2023"
    res = validate_tables({"orders": stray}, date_formats=formats)
    assert res.report["orders"].rejected_by_reason == {
        "ordered_at does not match the declared date format %d/%m/%Y": 2
    }


@pytest.mark.parametrize(
    "form", ["%d/%m/%Y %H:%M", "%d.%m.%Y", "%m-%d-%y", "%Y/%m/%d", "%d %b %Y", "%b %d, %Y"], ids=str
)
def test_dates_in_another_form_on_1_percent_of_an_iso_column_are_structural(form):
    """A date column mostly ISO with a part in another common form (two exports put together: `15/01/2023`,
    `15.01.2023`, `2023/01/15`, `5 Jan 2023`): was each rejected `ambiguous or unknown date format` with exit 0
    below half the column (the demo with 10% of its orders so: 374 orders gone). Now on 1% of the column (3
    rows) a structural error naming the values and example rows; a stray one stays a row reject, and most of the
    column keeps `check_mostly_unparsed`'s message."""
    n = 300
    days = pd.date_range("2023-01-01", periods=n, freq="D")
    iso = [d.strftime("%Y-%m-%d") for d in days]
    mixed = raw_orders(n).assign(
        ordered_at=[days[i].strftime(form) if i % 10 == 3 else v for i, v in enumerate(iso)]
    )
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": mixed})
    message = str(got.value)
    assert message.startswith(
        "table 'orders', column 'ordered_at': 30 of 300 values are dates written in another form than ISO 8601"
    )
    assert repr(days[3].strftime(form)) in message and "\n3 " in message
    stray = raw_orders(n).assign(
        ordered_at=[days[i].strftime(form) if i == 3 else v for i, v in enumerate(iso)]
    )
    res = validate_tables({"orders": stray})
    assert res.report["orders"].rejected_by_reason == {"ambiguous or unknown date format in ordered_at": 1}


def test_iso_dates_among_a_declared_format_are_structural_on_1_percent():
    """The same mix the other way: a column declared `%d/%m/%Y` with a part exported in ISO 8601 (was: each
    rejected `does not match the declared date format`, exit 0). Garbage (`not a date`) is not a date form: it
    stays a row reject whatever its count below half."""
    formats = {"orders.ordered_at": "%d/%m/%Y"}
    n = 300
    days = pd.date_range("2023-01-01", periods=n, freq="D")
    written = [d.strftime("%Y-%m-%d" if i % 20 == 0 else "%d/%m/%Y") for i, d in enumerate(days)]
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": raw_orders(n).assign(ordered_at=written)}, date_formats=formats)
    assert str(got.value).startswith(
        "table 'orders', column 'ordered_at': 15 of 300 values are dates written in another form than the "
        "declared date format '%d/%m/%Y' ('2023-01-01', '2023-01-21', '2023-02-10')"
    )
    garbage = ["not a date" if i % 20 == 0 else v for i, v in enumerate(written)]
    res = validate_tables({"orders": raw_orders(n).assign(ordered_at=garbage)}, date_formats=formats)
    assert res.report["orders"].rejected_by_reason == {
        "ordered_at does not match the declared date format %d/%m/%Y": 15
    }


def test_whole_amounts_with_a_point_for_thousands_are_structural_not_read_a_thousand_times_smaller():
    """Whole amounts exported in German (Dutch, ...) format: `850`, `1.250` (1250). The locale stop sees only
    values that do not parse (`1.234,50`, `1.234.567`); `1.250` parses as 1.25, so was exit 0 with every order
    from 1,000 on read a thousand times too small (the demo's 38 such orders of 3,958 read as 1.0-9.9). Now, when
    3 values or more are written so, none holds a decimal point otherwise and 3 or more are whole numbers, a
    structural error naming them; one decimal amount written otherwise (`12.5`, `0.125`) says the point is a
    decimal point, and the column is read as before."""
    n = 300
    whole = [str(10 + i) for i in range(n)]
    written = ["1.250" if i in (3, 50, 200) else v for i, v in enumerate(whole)]
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": raw_orders(n).assign(revenue=written)})
    message = str(got.value)
    assert message.startswith(
        "table 'orders', column 'revenue': 3 of 300 values are written with a point before three digits "
        "('1.250') and every other value is a whole number or has two decimals (297)"
    )
    assert "\n3 " in message and "\n200 " in message
    quantities = raw_orders(n).assign(quantity=["1.000" if i < 5 else "2" for i in range(n)])
    with pytest.raises(StructuralError, match="column 'quantity': 5 of 300 values"):
        validate_tables({"orders": quantities})
    for decimal in ("12.5", "0.125"):  # the point is a decimal point: read as written
        res = validate_tables({"orders": raw_orders(n).assign(revenue=written[:-1] + [decimal])})
        assert res.tables["orders"]["revenue"].iloc[3] == 1.25
    few = ["1.250" if i in (3, 50) else v for i, v in enumerate(whole)]  # two: cannot be told from decimals
    assert validate_tables({"orders": raw_orders(n).assign(revenue=few)}).report["orders"].accepted == n


def test_serial_day_numbers_in_part_of_a_date_column_are_structural_with_the_hint():
    """A spreadsheet where some date cells were formatted as numbers: `44927` (2023-01-01) among ISO dates. A
    whole column (or most of it) already stopped saying so; between 1% and half of it was exit 0 with each row
    rejected `ambiguous or unknown date format`. Now the same stop as other date forms, with the serial hint."""
    n = 300
    days = pd.date_range("2023-01-01", periods=n, freq="D")
    serial = [str((d - pd.Timestamp("1899-12-30")).days) for d in days]
    written = [serial[i] if i % 25 == 0 else d.strftime("%Y-%m-%d") for i, d in enumerate(days)]
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": raw_orders(n).assign(ordered_at=written)})
    message = str(got.value)
    assert message.startswith(
        "table 'orders', column 'ordered_at': 12 of 300 values are dates written in another form than ISO 8601"
    )
    assert "serial day numbers (44927 is 2023-01-01, or 2027-01-02 in a workbook" in message


@pytest.mark.parametrize(("column", "good"), [("ordered_at", "2023-01-05"), ("promo", "true")])
def test_spreadsheet_error_values_in_a_date_or_flag_column_are_named_and_stop_on_1_percent(column, good):
    """`#VALUE!` where a date's (or a flag's) formula failed: was a reject `ambiguous or unknown date format` (or
    `unparseable promo`), exit 0 up to half the column. Now the spreadsheet's own reason and, on 1% of the
    column, the same stop as in a number column."""
    n = 300
    many = raw_orders(n).assign(**{column: ["#VALUE!" if i % 50 == 0 else good for i in range(n)]})
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": many})
    assert str(got.value).startswith(
        f"table 'orders', column {column!r}: 6 of 300 values are a spreadsheet's error value"
    )
    stray = raw_orders(n).assign(**{column: ["#REF!" if i == 7 else good for i in range(n)]})
    res = validate_tables({"orders": stray})
    assert res.report["orders"].rejected_by_reason == {
        f"a spreadsheet error value in {column} (#VALUE!, #DIV/0!, #REF!, ...: a formula that failed)": 1
    }


@pytest.mark.parametrize("written", ['="12.50"', "'12.50"], ids=["formula", "text-prefix"])
def test_a_number_written_as_a_spreadsheet_formula_is_named_so_not_a_currency_sign(written):
    """An amount a spreadsheet exported as a formula or with its text prefix (`="12.50"`, `'12.50`): was taken for
    a number with a unit (`=`, `'` before it), a reject `number with a currency sign or unit` and, on 1% of the
    column, a stop asking for amounts in `data.currency`. Now the ids' own reason and its own stop."""
    n = 300
    stray = raw_orders(n).assign(revenue=[written if i == 9 else "12.5" for i in range(n)])
    res = validate_tables({"orders": stray})
    assert res.report["orders"].rejected_by_reason == {
        'spreadsheet formula or text prefix in revenue (="...", \'...)': 1
    }
    many = raw_orders(n).assign(revenue=[written if i % 60 == 0 else "12.5" for i in range(n)])
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": many})
    message = str(got.value)
    assert message.startswith(
        "table 'orders', column 'revenue': 5 of 300 values are numbers written as a spreadsheet formula"
    )
    assert "currency" not in message


@pytest.mark.parametrize(("column", "good"), [("ordered_at", "2023-01-05"), ("promo", "true")])
def test_invisible_characters_in_a_date_or_flag_column_are_named_and_stop_on_1_percent(column, good):
    """`2023-01-05` or `true` with a zero-width space or a BOM: was a reject `ambiguous or unknown date format`
    (or `unparseable promo`), exit 0 up to half the column. Now the numbers' and ids' reason and, on 1% of the
    column, the same stop as in a number column."""
    n = 300
    many = raw_orders(n).assign(**{column: [good + "\u200b" if i % 50 == 0 else good for i in range(n)]})
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": many})
    assert str(got.value).startswith(
        f"table 'orders', column {column!r}: 6 of 300 values are written with an invisible character"
    )
    stray = raw_orders(n).assign(**{column: ["\ufeff" + good if i == 7 else good for i in range(n)]})
    res = validate_tables({"orders": stray})
    assert res.report["orders"].rejected_by_reason == {
        f"invisible character in {column} (BOM, zero-width space, line break, ...)": 1
    }


def _managed(manager_ids: list[str]) -> dict[str, pd.DataFrame]:
    n = len(manager_ids)
    return {
        "orders": raw_orders(n),
        "customers": pd.DataFrame(
            {
                "customer_id": [f"C{i}" for i in range(n)],
                "signup_at": ["2022-01-01"] * n,
                "account_manager_id": manager_ids,
            }
        ),
        "account_managers": pd.DataFrame(
            {
                "account_manager_id": sorted(set(manager_ids)),
                "name": [f"Manager {i}" for i in range(len(set(manager_ids)))],
                "started_at": ["2021-01-01"] * len(set(manager_ids)),
            }
        ),
    }


def test_an_e_mail_address_as_an_id_is_rejected_never_a_manager_or_customer_id():
    """A CRM exporting the account manager's e-mail (`anna.schmidt@corp.com`) in `account_manager_id`: was
    accepted, the address the manager's id on the report pages and in their file names. Personal data is never an
    id: a row reject naming it, in both tables (the address itself in no reason or message); `AM@2` is an id."""
    mail = "anna.schmidt@corp.com"
    res = validate_tables(_managed([mail, "AM2", mail, "AM@2", "AM2", "AM2"]))
    reason = "an e-mail address in account_manager_id (personal data, not an id: export the id instead)"
    assert res.report["customers"].rejected_by_reason == {reason: 2}
    assert res.report["account_managers"].rejected_by_reason == {reason: 1}
    assert sorted(res.tables["account_managers"]["account_manager_id"]) == ["AM2", "AM@2"]
    assert mail not in repr(res.report)
    orders = raw_orders(4).assign(customer_id=["C1", " bo@shop.example ", "C2", "C3"])
    assert validate_tables({"orders": orders}).report["orders"].rejected_by_reason == {
        "an e-mail address in customer_id (personal data, not an id: export the id instead)": 1
    }


def test_e_mail_addresses_on_1_percent_of_an_id_column_are_structural_never_shown():
    """Every tenth customer's manager exported by e-mail: the rows rejected would drop 30 customers and their
    orders with exit 0. On 1% of the column a stop saying so, the addresses in no message."""
    n = 300
    managers = [f"m{i % 5}@corp.com" if i % 10 == 0 else "AM1" for i in range(n)]
    with pytest.raises(StructuralError) as got:
        validate_tables(_managed(managers))
    message = str(got.value)
    assert message.startswith(
        "table 'customers', column 'account_manager_id': 30 of 300 values are e-mail addresses (not shown"
    )
    assert "@" not in message


def _invoices(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "invoice_id": [f"I{i}" for i in range(n)],
            "customer_id": [f"C{i % 6}" for i in range(n)],
            "issued_at": [f"2023-01-{i % 28 + 1:02d} 09:{i % 60:02d}:{i % 53:02d}" for i in range(n)],
            "due_at": [f"2023-02-{i % 28 + 1:02d} 09:{i % 60:02d}:{i % 53:02d}" for i in range(n)],
            "amount": ["31.16"] * n,
        }
    )


@pytest.mark.parametrize(
    "table, rows, key, noun",
    [
        ("invoices", _invoices(200), "invoice_id", "invoice"),
        (
            "returns",
            _invoices(200)
            .rename(columns={"invoice_id": "return_id", "issued_at": "returned_at"})
            .drop(columns="due_at"),
            "return_id",
            "return",
        ),
        (
            "tickets",
            _invoices(200)
            .rename(columns={"invoice_id": "ticket_id", "issued_at": "opened_at"})
            .drop(columns="due_at")
            .assign(effort_minutes="30")
            .drop(columns="amount"),
            "ticket_id",
            "ticket",
        ),
    ],
)
def test_invoices_returns_tickets_exported_twice_under_new_ids_are_structural(table, rows, key, noun):
    """The invoices exported twice, the second time under renumbered `invoice_id`s (every other column equal):
    was exit 0 with 400 invoices accepted of 200 real ones, every payment feature doubled (returns: every refund,
    tickets: every minute of service). The orders' rule (`features.keys.check_repeated_rows`) now serves every
    per-customer event table: on 5% of 100 rows or more a stop; a few equal rows are kept; rows dated to the day
    only are not judged (the same invoice twice on one day cannot be told from a repeated export)."""
    again = rows.assign(**{key: [f"X{i}" for i in range(len(rows))]})
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": raw_orders(6), table: pd.concat([rows, again], ignore_index=True)})
    message = str(got.value)
    assert message.startswith(
        f"table '{table}': 400 of 400 {noun}s repeat another {noun} in every column but {key}"
    )
    assert "dated to the day only are not judged" in message and "\n0 " in message
    few = pd.concat([rows, again.iloc[:4]], ignore_index=True)
    res = validate_tables({"orders": raw_orders(6), table: few})
    assert res.report[table].accepted == 204 and res.report[table].rejected == 0
    by_day = pd.concat([rows, again], ignore_index=True)
    by_day = by_day.assign(**{c: by_day[c].str[:10] for c in by_day.columns if c.endswith("_at")})
    res = validate_tables({"orders": raw_orders(6), table: by_day})
    assert res.report[table].accepted == 400
