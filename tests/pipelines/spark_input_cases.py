"""The tables and helpers the Spark input tests share (`tests/pipelines/test_spark_*.py`, split by theme: each under 600
lines): tiny hand-written tables, and `STOPS`, one input per column-level stop of the pandas loader with the start
of its message (judged on the Spark engine's driver without a session by `test_spark_stops_driver.py`, through
real Spark loads for the representatives of `test_spark_stops.py`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.validation import StructuralError
from pipelines.config import load_config
from pipelines.io import load_data

CFG = load_config(None)

ORDERS = pd.DataFrame(
    {
        "order_id": ["O1", "O2", "O3", "O4", "O5", "O2", "O7", "O8", "O9", "O10"],
        "customer_id": ["C1", "C1", "C2", "C3", "nobody", "C2", "C2", "C9", "C1", "C4"],
        "ordered_at": ["2024-01-05", "2024-02-01", "2024-02-03", "2024-03-01", "2024-03-02", "2024-03-05",
                       "not a date", "2024-04-01", "2024-04-02", "2024-04-03"],
        "revenue": ["10", "20.5", "abc", "-5", "7", "8", "9", "11", "=1+2", "12"],
    }
)  # fmt: skip
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["C1", "C2", "C3", "C2", "C9", "C4"],
        "account_manager_id": ["AM1", "AM1", "AM2", "AM1", "AM-x", ""],
    }
)
MANAGERS = pd.DataFrame({"account_manager_id": ["AM1", "AM2", "AM2"], "name": ["Ann", "Bob", "Bob again"]})
REFERRALS = pd.DataFrame(
    {
        "referrer_id": ["C1", "C3", "C3", "C1"],
        "referred_id": ["C2", "C2", "C9", "C3"],
        "referred_at": ["2024-02-01", "2024-02-01", "2024-03-01", "2024-03-01"],
    }
)


def _write(root: Path, **tables: pd.DataFrame) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(root / f"{name}.csv", index=False)
    return root


def _reject_files(path: Path) -> pd.DataFrame:
    parts = sorted(path.glob("part-*.csv"))
    assert parts, f"no CSV parts in {path}"
    frame = pd.concat(
        [pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""]) for p in parts], ignore_index=True
    )
    return frame.sort_values("source_row", key=lambda s: s.astype(int)).reset_index(drop=True)


def _assert_driver_tables(got, expected) -> None:
    """A Spark load's driver tables are the pandas loader's in the columns the driver keeps (`driver_view`: of
    the returns and invoices only the distinct customer ids), and their fingerprint is that of the pandas
    loader's whole tables (issue 11)."""
    from pipelines.engines.spark_driver_view import driver_view
    from pipelines.fingerprint import data_fingerprint

    assert got.tables.fingerprint == data_fingerprint(expected.tables)
    ids = (
        "customers" not in expected.tables
    )  # then the orders keep their ids (the case-twin stop counts them)
    for name, table in expected.tables.items():
        pd.testing.assert_frame_equal(got.tables[name], driver_view(name, table, ids), check_exact=True)


def _same_stop(spark: object, data: Path, match: str, rejects: Path) -> None:
    """The pandas loader stops on `data` with a message matching `match`; the Spark loader with the same."""
    from pipelines.engines.spark_engine import mapped_errors
    from pipelines.engines.spark_input import load_spark

    with pytest.raises(StructuralError, match=match) as expected:
        load_data(data)
    with pytest.raises(StructuralError) as got, mapped_errors():
        load_spark(spark, data, CFG, rejects)
    assert str(got.value) == str(expected.value)


_CUST = pd.DataFrame({"customer_id": [f"C{i:06d}" for i in range(1, 7)]})
_ORD = pd.DataFrame(
    {
        "order_id": [f"O{i}" for i in range(1, 7)],
        "customer_id": [f"C{i:06d}" for i in range(1, 7)],
        "ordered_at": ["2024-01-05", "2024-02-01", "2024-02-03", "2024-03-01", "2024-03-02", "2024-03-05"],
        "revenue": ["10", "20.5", "30", "40", "50", "60"],
    }
)
_TICKETS = pd.DataFrame(
    {
        "ticket_id": ["T1", "T2", "T3", "T4"],
        "customer_id": ["C000001", "C000002", "C000003", "C000001"],
        "opened_at": ["2024-02-01"] * 4,
        "effort_minutes": ["5"] * 4,
        "satisfaction": ["7", "9", "10", "2"],  # rated 1-10
    }
)
#: One input per column-level stop of the pandas loader (docs/bad-input.md, "What bad input gets"), and the start of its message.
STOPS = {
    "amounts-negative": (
        dict(orders=_ORD.assign(revenue=["-10", "-20.5", "-30", "40", "-50", "-60"]), customers=_CUST),
        "table 'orders', column 'revenue': negative on 5 of the 6 rows",
    ),
    "rating-scale": (
        dict(orders=_ORD, customers=_CUST, tickets=_TICKETS),
        "table 'tickets', column 'satisfaction': 3 of 4 ratings outside 1-5",
    ),
    "rating-half-points": (  # `4.5`: a half-point scale (`features.conventions.off_scale`)
        dict(orders=_ORD, customers=_CUST, tickets=_TICKETS.assign(satisfaction=["4.5", "3.5", "4", "2.5"])),
        "table 'tickets', column 'satisfaction': 3 of 4 ratings not whole numbers of the 1-5 scale (4.5, 3.5",
    ),
    "null-for-missing": (
        dict(orders=_ORD, customers=_CUST.assign(churned_at=["NULL"] * 2 + ["2024-06-01"] + ["NULL"] * 3)),
        "table 'customers', column 'churned_at': 5 of 6 rows hold 'NULL'",
    ),
    "rows-per-key": (
        dict(orders=_ORD.assign(order_id=["O1", "O1", "O1", "O1", "O5", "O6"]), customers=_CUST),
        "table 'orders', column 'order_id': 3 of 6 rows repeat the order_id",
    ),
    "ids-respelled": (
        dict(orders=_ORD.assign(customer_id=["1", "2", "3", "4", "C000005", "C000006"]), customers=_CUST),
        "table 'orders', column 'customer_id': 4 of 6 rows name a customer the customers table writes otherwise",
    ),
    "locale-numbers": (
        dict(
            orders=_ORD.assign(revenue=["1.234,50", "20", "2.345,10", "3.456,00", "50", "60"]),
            customers=_CUST,
        ),
        "table 'orders', column 'revenue': 3 of 6 values are numbers written with a thousands separator",
    ),
    "managers-missing": (
        dict(
            orders=_ORD,
            customers=_CUST.assign(account_manager_id=["AM9"] * 5 + ["AM1"]),
            account_managers=pd.DataFrame({"account_manager_id": ["AM1"], "name": ["Ann"]}),
        ),
        "table 'customers', column 'account_manager_id': 5 of 6 rows name a manager",
    ),
    # the fourth hunt's column-level stops (each judged from the same one aggregation's sums)
    "cost-above-revenue": (
        dict(orders=_ORD.assign(cost=["11", "30", "40", "10", "60", "70"]), customers=_CUST),
        "table 'orders', column 'cost': above the order's revenue on 5 of the 6 orders with both",
    ),
    "quantities-zero": (
        dict(orders=_ORD.assign(quantity=["0", "1", "0", "2", "0", "1"]), customers=_CUST),
        "table 'orders', column 'quantity': 0 or negative on 3 of 6 orders",
    ),
    "effort-in-seconds": (
        dict(
            orders=_ORD,
            customers=_CUST,
            tickets=_TICKETS.assign(effort_minutes=["300", "600", "2400", "1800"], satisfaction=["4"] * 4),
        ),
        "table 'tickets', column 'effort_minutes': the median ticket takes 1200 minutes",
    ),
    "returns-in-cents": (  # after every other stop, from the returns' join with their orders
        dict(
            orders=_ORD,
            customers=_CUST,
            returns=pd.DataFrame(
                {
                    "return_id": ["R1", "R2", "R3", "R4"],
                    "customer_id": ["C000001", "C000002", "C000003", "C000004"],
                    "order_id": ["O1", "O2", "O3", "O4"],
                    "returned_at": ["2024-03-10"] * 4,
                    "amount": ["1000", "2050", "3000", "20"],
                }
            ),
        ),
        "table 'returns', column 'amount': above its order's revenue on 3 of the 4 returns naming an order",
    ),
    "returns-of-other-orders": (  # another numbering of order ids (`features.return_checks.RETURN_CONVENTIONS`)
        dict(
            orders=_ORD,
            customers=_CUST,
            returns=pd.DataFrame(
                {
                    "return_id": ["R1", "R2", "R3", "R4"],
                    "customer_id": ["C000001", "C000002", "C000003", "C000004"],
                    "order_id": ["O2", "O3", "O4", "O4"],
                    "returned_at": ["2024-03-10"] * 4,
                    "amount": ["1", "2", "3", "2"],
                }
            ),
        ),
        "table 'returns', column 'order_id': another customer's order on 3 of the 4 returns naming an order",
    ),
    "ids-respelled-no-customers": (  # the orders' customers are the reference
        dict(orders=_ORD, tickets=_TICKETS.assign(customer_id=["1", "2", "3", "1"], satisfaction=["4"] * 4)),
        "table 'tickets', column 'customer_id': 4 of 4 rows name a customer the orders table writes otherwise",
    ),
    "currencies-mixed": (  # a column outside the contract, judged before any table's checks
        dict(orders=_ORD.assign(Currency=["EUR", "eur", "USD", "EUR", "USD", "€"]), customers=_CUST),
        "table 'orders', column 'Currency': amounts in EUR (4 rows), USD (2 rows)",
    ),
    "open-end-dates": (  # `9999-12-31` for every customer never cancelled (`features.placeholder_dates.placeholder_rows`)
        dict(orders=_ORD, customers=_CUST.assign(churned_at=["9999-12-31"] * 5 + ["2024-06-01"])),
        "table 'customers', column 'churned_at': 5 of 6 rows hold '9999-12-31'",
    ),
    "required-empty": (  # a required column present but empty on every row
        dict(
            orders=_ORD,
            customers=_CUST,
            tickets=_TICKETS.assign(effort_minutes=[""] * 4, satisfaction=["4"] * 4),
        ),
        "table 'tickets', column 'effort_minutes': required, and empty on every one of the 4 rows",
    ),
    "no-manager-placeholder": (  # `-` for every customer without a manager: an optional id (`features.ids`)
        dict(orders=_ORD, customers=_CUST.assign(account_manager_id=["-", "AM1", "-", "-", "AM2", "-"])),
        "table 'customers', column 'account_manager_id': 4 of 6 rows hold '-'",
    ),
    "category-placeholder": (  # `NULL` for every customer without a region: a model-read category
        dict(orders=_ORD, customers=_CUST.assign(region=["NULL", "North", "NULL", "NULL", "South", "n/a"])),
        "table 'customers', column 'region': 4 of 6 rows hold 'NULL', 'n/a'",
    ),
    "ids-42-and-42.0": (  # a float export mixed with text in one id column (`features.decimal_ids.check_decimal_ids`)
        dict(orders=_ORD.assign(customer_id=["1.0", "2.0", "3.0", "4", "5", "6"])),
        "table 'orders', column 'customer_id': 3 of 6 rows write the id as a decimal number",
    ),
    "currency-signs": (  # numbers with a currency sign or unit (`features.number_forms.check_unit_numbers`)
        dict(orders=_ORD.assign(revenue=["$10", "$20.5", "30", "$40", "$50", "60"]), customers=_CUST),
        "table 'orders', column 'revenue': 4 of 6 values are numbers with a currency sign, code or unit",
    ),
    "other-digits": (  # fullwidth digits (`features.number_forms.check_other_digits`, round 10)
        dict(orders=_ORD.assign(revenue=["１０", "２０.５", "30", "４０", "50", "60"]), customers=_CUST),
        "table 'orders', column 'revenue': 3 of 6 values are numbers written in digits other than ASCII 0-9",
    ),
    "sheet-errors": (  # a spreadsheet's error values (`features.number_forms.check_number_form`, round 12)
        dict(
            orders=_ORD.assign(revenue=["#VALUE!", "20.5", "#DIV/0!", "40", "#REF!", "60"]), customers=_CUST
        ),
        "table 'orders', column 'revenue': 3 of 6 values are a spreadsheet's error value",
    ),
    "invisible-in-numbers": (  # a zero-width space in an amount (`features.number_forms.invisible_numbers`, round 12)
        dict(
            orders=_ORD.assign(revenue=["10\u200b", "20.5", "3\u00ad0", "40", "\u200b50", "60"]),
            customers=_CUST,
        ),
        "table 'orders', column 'revenue': 3 of 6 values are written with an invisible character",
    ),
    "dates-in-another-form": (  # `15/01/2023` among ISO dates (`features.date_forms.other_date_forms`, round 12)
        dict(
            orders=_ORD.assign(
                ordered_at=[
                    "05/01/2024",
                    "2024-02-01",
                    "03.02.2024",
                    "2024-03-01",
                    "2 Mar 2024",
                    "2024-03-05",
                ]
            ),
            customers=_CUST,
        ),
        "table 'orders', column 'ordered_at': 3 of 6 values are dates written in another form than ISO 8601",
    ),
    "serial-days-in-part": (  # `45296` (2024-01-05) among ISO dates: the other-forms stop with its hint
        dict(
            orders=_ORD.assign(
                ordered_at=["45296", "2024-02-01", "45325", "2024-03-01", "45353", "2024-03-05"]
            ),
            customers=_CUST,
        ),
        "table 'orders', column 'ordered_at': 3 of 6 values are dates written in another form than ISO 8601",
    ),
    "unix-time-in-part": (  # `1704412800` (2024-01-05) among ISO dates: the other-forms stop names Unix time
        dict(
            orders=_ORD.assign(
                ordered_at=[
                    "1704412800",
                    "2024-02-01",
                    "1706918400",
                    "2024-03-01",
                    "1709337600",
                    "2024-03-05",
                ]
            ),
            customers=_CUST,
        ),
        "table 'orders', column 'ordered_at': 3 of 6 values are dates written in another form than ISO 8601",
    ),
    "sheet-errors-in-dates": (  # `#VALUE!` in a date column (round 12: the number columns' stop)
        dict(
            orders=_ORD.assign(
                ordered_at=["#VALUE!", "2024-02-01", "#REF!", "2024-03-01", "#VALUE!", "2024-03-05"]
            ),
            customers=_CUST,
        ),
        "table 'orders', column 'ordered_at': 3 of 6 values are a spreadsheet's error value",
    ),
    "formula-numbers": (  # `="12.50"`, `'12.50`: a spreadsheet's formula or text prefix (round 12)
        dict(orders=_ORD.assign(revenue=['="10"', "20.5", "'30", "40", '="50"', "60"]), customers=_CUST),
        "table 'orders', column 'revenue': 3 of 6 values are numbers written as a spreadsheet formula",
    ),
    "invisible-in-dates": (  # `2024-02-01\u200b` in a date column (round 12: the number columns' stop)
        dict(
            orders=_ORD.assign(
                ordered_at=[
                    "2024-01-05\u200b",
                    "2024-02-01",
                    "\ufeff2024-02-03",
                    "2024-03-01",
                    "2024-03-05\u00ad",
                    "2024-03-06",
                ]
            ),
            customers=_CUST,
        ),
        "table 'orders', column 'ordered_at': 3 of 6 values are written with an invisible character",
    ),
    "e-mails-as-manager-ids": (  # a manager's e-mail as `account_manager_id` (round 12): counted, never shown
        dict(
            orders=_ORD,
            customers=_CUST.assign(
                account_manager_id=["a@corp.com", "AM1", "b@corp.com", "AM1", "a@corp.com", ""]
            ),
        ),
        "table 'customers', column 'account_manager_id': 3 of 5 values are e-mail addresses (not shown",
    ),
    "point-for-thousands": (  # whole amounts written `1.250` for 1250 (`features.numbers.point_groups`, round 12)
        dict(orders=_ORD.assign(revenue=["1.250", "20", "2.500", "40", "1.000", "60"]), customers=_CUST),
        "table 'orders', column 'revenue': 3 of 6 values are written with a point before three digits",
    ),
    "numbers-mostly-unparsed": (  # a number unparseable on most rows (`features.unparsed_columns.check_mostly_unparsed`)
        dict(orders=_ORD.assign(revenue=["ten", "twenty", "30", "forty", "fifty", "60"]), customers=_CUST),
        "table 'orders', column 'revenue': 4 of 6 values do not parse as a number ('ten', 'twenty', 'forty')",
    ),
    "accounting-negatives": (  # `(10)`, `30-` on 1% (`features.number_forms.accounting_numbers`, round 13)
        dict(orders=_ORD.assign(revenue=["(10)", "20.5", "30-", "40", "(50)", "60"]), customers=_CUST),
        "table 'orders', column 'revenue': 3 of 6 values are negative numbers in an accounting format",
    ),
    "bools-in-german": (
        dict(orders=_ORD.assign(promo=["WAHR", "FALSCH", "true", "FALSCH", "WAHR", ""]), customers=_CUST),
        "table 'orders', column 'promo': 4 of 5 values do not parse as true/false ('WAHR', 'FALSCH')",
    ),
    "header-again-reordered": (  # round 13: `features.header.check_reordered_header`, judged per batch
        dict(
            orders=pd.concat(
                [
                    _ORD,
                    pd.DataFrame(
                        [
                            {
                                "order_id": "customer_id",
                                "customer_id": "order_id",
                                "ordered_at": "ordered_at",
                                "revenue": "revenue",
                            }
                        ]
                    ),
                ],
                ignore_index=True,
            )  # fmt: skip
        ),
        "table 'orders': a line inside the file is the header again with its columns in another order "
        "(customer_id, order_id, ordered_at, revenue; the first line: order_id, customer_id, ordered_at, revenue)",
    ),
    "orders-after-churn": (  # round 13: `features.churn_checks.check_orders_after_churn`, counted per bucket
        dict(orders=_ORD, customers=_CUST.assign(churned_at=["2023-06-01"] * 3 + [""] * 3)),
        "table 'customers', column 'churned_at': 3 of the 6 customers have an order dated a day or more after "
        "their churned_at",
    ),
    "bools-in-dutch-in-part": (  # under half, on 1% and 10 rows (`features.unparsed_columns.unparsed_share`, round 13)
        dict(
            orders=pd.concat([_ORD] * 4, ignore_index=True).assign(
                order_id=[f"O{i}" for i in range(24)], promo=["WAAR", "ONWAAR"] * 5 + ["true", "false"] * 7
            )
        ),
        "table 'orders', column 'promo': 10 of 24 values do not parse as true/false ('WAAR', 'ONWAAR'): "
        "rejected, those rows would be dropped",
    ),
    "dates-swapped": (  # a row rule rejecting most of a table (`features.row_rules.check_row_conventions`)
        dict(
            orders=_ORD,
            customers=_CUST,
            tickets=_TICKETS.assign(satisfaction=["4"] * 4, closed_at=["2024-01-01"] * 3 + ["2024-03-01"]),
        ),
        "table 'tickets': 3 of 4 rows would be rejected `closed_at before opened_at`, and the table lost",
    ),
    "ticket-kinds-of-a-crm": (
        dict(
            orders=_ORD,
            customers=_CUST,
            tickets=_TICKETS.assign(
                satisfaction=["4"] * 4, kind=["Anfrage", "Anfrage", "Beschwerde", "request"]
            ),
        ),
        "table 'tickets': 3 of 4 rows would be rejected `unknown ticket kind`, and the table lost",
    ),
    "personal-in-examples": (  # the example rows show personal columns as `(personal)`, both engines
        dict(
            orders=_ORD,
            customers=_CUST.assign(
                acquisition_cost=["-5", "-6", "-7", "-8", "9", "-10"],
                name=[f"Ann Secret{i}" for i in range(6)],
                email=[f"ann{i}@secret.example" for i in range(6)],
            ),
        ),
        "table 'customers', column 'acquisition_cost': negative on 5 of the 6 rows",
    ),
    "orders-exported-twice": (  # the orders again under renumbered ids (`features.keys.check_repeated_rows`)
        dict(
            orders=pd.concat(
                [
                    _ORD.assign(
                        order_id=[f"{p}{i}" for i in range(1, 7)], ordered_at=_ORD["ordered_at"] + " 10:30"
                    )
                    for p in "ABCDEFGHIJKLMNOPQRST"
                ]
            ),
            customers=_CUST,
        ),
        "table 'orders': 120 of 120 orders repeat another order in every column but order_id",
    ),
    "invoices-exported-twice": (  # every per-customer event table's rule (`features.keys.check_repeated_rows`)
        dict(
            orders=_ORD,
            customers=_CUST,
            invoices=pd.DataFrame(
                {
                    "invoice_id": [f"{p}{i}" for p in "IX" for i in range(60)],
                    "customer_id": [f"C{i % 6 + 1:06d}" for _ in "IX" for i in range(60)],
                    "issued_at": [f"2024-01-{i % 28 + 1:02d} 09:{i:02d}" for _ in "IX" for i in range(60)],
                    "due_at": [f"2024-02-{i % 28 + 1:02d} 09:{i:02d}" for _ in "IX" for i in range(60)],
                    "amount": ["31.16"] * 120,
                }
            ),
        ),
        "table 'invoices': 120 of 120 invoices repeat another invoice in every column but invoice_id",
    ),
    "extra-columns-in-examples": (  # only the contract's non-personal columns in the example rows, both engines
        dict(
            orders=_ORD,
            customers=_CUST.rename(columns={"customer_id": "Customer ID"}).assign(
                first_name=[f"Ann Secret{i}" for i in range(6)], iban=[f"DE00SECRET{i}" for i in range(6)]
            ),
        ),
        "table 'customers': column(s) named like contract columns but for case, spaces or separators",
    ),
    "no-usable-customer": (  # every signup a year after the last order: no column-level stop, no customer left
        dict(orders=_ORD, customers=_CUST.iloc[:3].assign(signup_at=["2099-01-01"] * 3)),
        "table 'customers' has no usable row (3 rows, none accepted)",
    ),
}
