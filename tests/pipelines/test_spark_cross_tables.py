"""The Spark engine applies the pandas engine's rules across tables and rows (issue 11): the same rejects, counts
and stops on tiny hand-written tables (`test_spark_input.py`'s theme split off; its session and skip rules).
"""

from __future__ import annotations

import pandas as pd
import pytest

from features.validation import StructuralError
from pipelines.config import load_config
from pipelines.io import load_data
from tests.pipelines.spark_input_cases import (
    _CUST,
    _ORD,
    _TICKETS,
    CFG,
    _assert_driver_tables,
    _reject_files,
    _write,
)


@pytest.mark.spark
def test_spark_applies_the_cross_table_rules_of_the_pandas_engine(spark, tmp_path):
    """`features.crossrefs` on both engines: (a) a return of another customer's order, (b) one refunding more
    than its order's revenue, (c) one dated a day or more before its order, (d) a signup / cancellation more than
    a year after the last accepted order (its customer's orders then unknown), (e) an invoice paid or a ticket
    closed more than a year after it, (f) returns of one order adding up past its revenue (refunded twice), (g) a
    date years before every other of its column (one column after the other, before the keys). Same rows, reasons
    and counts."""
    from features.return_checks import ABOVE_ORDER, BEFORE_ORDER, BEYOND_ORDER, FOREIGN_ORDER
    from pipelines.engines.spark_input import load_spark

    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3", "O4", "O5"],
            "customer_id": ["C1", "C2", "C3", "C4", "C1"],
            "ordered_at": ["2024-01-05", "2024-02-01 10:00", "2024-02-03", "2024-03-01", "2024-03-02"],
            "revenue": ["10", "20", "30", "40", "50"],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4"],
            "signup_at": ["2023-01-01", "2023-01-01", "2099-01-01", "2023-01-01"],
            "churned_at": ["", "2025-02-01", "", "2098-05-01"],
        }
    )
    returns = pd.DataFrame(
        {
            "return_id": ["R1", "R2", "R3", "R4", "R5", "R6", "R7"],
            "customer_id": ["C1", "C1", "C1", "C2", "C2", "C1", "C1"],
            "returned_at": [
                "2024-02-01",
                "2024-02-01",
                "2024-01-04",
                "2024-02-01",
                "2024-03-01",
                "2024-03-05",
                "2024-01-10",
            ],  # fmt: skip
            "amount": ["5", "5", "5", "20.005", "1", "60", "10"],
            "order_id": ["O1", "O2", "O1", "O2", "O9", "O5", "O3"],
        }
    )  # R2: C2's order (a); R3: a day before (c); R4: within a cent; R5: order not in the data;
    # R6: above the revenue (b); R7: C3's order, whose customer is rejected (d): its order is not accepted
    twice = pd.DataFrame(
        {
            "return_id": ["R9", "R8", "R10"],
            "customer_id": ["C1", "C1", "C1"],
            "returned_at": ["2024-03-06", "2024-03-05", "2024-02-01"],
            "amount": ["30", "30", "6"],
            "order_id": ["O5", "O5", "O1"],
        }
    )  # (f) refunded twice: R9, after R8 in time (R6, above O5's revenue on its own, is not counted), passes
    # O5's 50; R10, after R1 (the same day, then by return_id), passes O1's 10
    returns = pd.concat([returns, twice], ignore_index=True)
    invoices = pd.DataFrame(
        {
            "invoice_id": ["I1", "I2", "I3"],
            "customer_id": ["C1", "C2", "C1"],
            "issued_at": ["2024-01-05"] * 3,
            "due_at": ["2024-02-05"] * 3,
            "amount": ["10", "20", "40"],
            "paid_at": ["2024-01-20", "2099-01-20", "2025-02-01"],
        }
    )  # I2: paid in 2099 (e); I3: within the year after the last order
    tickets = pd.DataFrame(
        {
            "ticket_id": ["T1", "T2"],
            "customer_id": ["C1", "C2"],
            "opened_at": ["2024-01-05"] * 2,
            "effort_minutes": ["10", "20"],
            "closed_at": ["2099-01-06", "2024-01-06"],
        }
    )  # T1: closed in 2099 (e)
    n = 120  # (g) a date years before every other of its column: judged over the whole column (100 rows or more)
    bulk = pd.DataFrame(
        {
            "ticket_id": [f"T{3 + i}" for i in range(n)] + ["TX", "TZ", "TX"],
            "customer_id": ["C1"] * (n + 3),
            "opened_at": [f"2024-01-{1 + i % 28:02d}" for i in range(n)]
            + ["1924-01-01", "1989-12-31", "2024-02-01"],
            "effort_minutes": ["15"] * (n + 3),
            "closed_at": [f"2024-02-{1 + i % 28:02d}" for i in range(n)]
            + ["1930-01-01", "1990-01-01", "2024-02-02"],
        }
    )  # TX opened in 1924; without it, TZ is the one closed years before every other (pandas judges the columns
    # in turn, on the rows still accepted); the second TX is then the first accepted TX, not a duplicate
    tickets = pd.concat([tickets, bulk], ignore_index=True)
    data = _write(
        tmp_path / "data",
        orders=orders,
        customers=customers,
        returns=returns,
        invoices=invoices,
        tickets=tickets,
    )
    expected = load_data(data)
    reasons = {t: r.rejected_by_reason for t, r in expected.result.report.items() if r.rejected_by_reason}
    assert reasons["returns"] == {FOREIGN_ORDER: 1, ABOVE_ORDER: 1, BEFORE_ORDER: 1, BEYOND_ORDER: 2}
    rejected = expected.result.rejects["returns"]
    assert rejected.loc[rejected["reason"] == BEYOND_ORDER, "return_id"].tolist() == ["R9", "R10"]
    assert set(reasons["customers"]) == {
        "signup_at more than a year after the last order (2024-03-02): a mistyped year?",
        "churned_at more than a year after the last order (2024-03-02): a mistyped year?",
    }
    assert reasons["orders"] == {"unknown customer_id": 2}
    late = "{} more than a year after the last order (2024-03-02): a mistyped year?"
    assert reasons["invoices"] == {late.format("paid_at"): 1}
    early = "{} 5 years or more before every other (mistyped year?)"
    assert reasons["tickets"] == {
        late.format("closed_at"): 1,
        early.format("opened_at"): 1,
        early.format("closed_at"): 1,
    }
    rejected = expected.result.rejects["tickets"]
    assert rejected["ticket_id"].tolist() == ["T1", "TX", "TZ"]
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)
    # issue 11: the driver keeps no returns' or invoices' times: the events at or after an as-of counted by Spark
    from pipelines.loading import later_events

    as_of = pd.Timestamp("2024-01-05")
    assert {"orders.ordered_at", "returns.returned_at", "invoices.issued_at"} <= set(
        later_events(expected.result.tables, as_of)
    )
    assert got.tables.later_events(as_of) == later_events(expected.result.tables, as_of)
    assert (
        list(got.tables["invoices"].columns) == ["customer_id"]
        and got.tables["invoices"]["customer_id"].is_unique
    )
    for name, frame in expected.result.rejects.items():
        files = _reject_files(tmp_path / "rejects" / name)
        assert files["source_row"].astype(int).tolist() == frame["source_row"].tolist()
        assert files["reason"].tolist() == frame["reason"].tolist()


@pytest.mark.spark
def test_event_dates_years_after_the_last_order_are_rejected_as_by_pandas(spark, tmp_path):
    """A return, a ticket opened, an invoice issued or due, a manager assignment dated 2098 (round 10): the same
    `... more than a year after the last order` rejects on both engines (Spark: the partitions' latest accepted
    orders sent to every customer bucket, as for `paid_at`)."""
    from pipelines.engines.spark_input import load_spark

    returns = pd.DataFrame(
        {
            "return_id": ["R1", "R2"],
            "customer_id": ["C000001", "C000002"],
            "returned_at": ["2024-04-01", "2098-04-01"],
            "amount": ["1", "1"],
        }
    )
    invoices = pd.DataFrame(
        {
            "invoice_id": ["I1", "I2", "I3"],
            "customer_id": ["C000001", "C000002", "C000003"],
            "issued_at": ["2024-01-05", "2098-01-05", "2024-01-05"],
            "due_at": ["2024-02-05", "2098-02-05", "2098-02-05"],
            "amount": ["10", "10", "10"],
        }
    )
    tickets = _TICKETS.assign(
        opened_at=["2098-02-01", "2024-02-01", "2024-02-01", "2024-02-01"], satisfaction="4"
    )
    assignments = pd.DataFrame(
        {
            "customer_id": ["C000001", "C000002"],
            "account_manager_id": ["AM1", "AM1"],
            "assigned_at": ["2098-01-01", "2024-01-01"],
        }
    )
    data = _write(
        tmp_path / "data",
        orders=_ORD,
        customers=_CUST,
        returns=returns,
        invoices=invoices,
        tickets=tickets,
        assignments=assignments,
    )
    expected = load_data(data)
    late = "{} more than a year after the last order (2024-03-05): a mistyped year?"
    assert expected.result.report["invoices"].rejected_by_reason == {
        late.format("issued_at"): 1,
        late.format("due_at"): 1,
    }
    assert expected.result.report["returns"].rejected_by_reason == {late.format("returned_at"): 1}
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)


#: Round 12's row rejects: a stray value of a form whose stop needs 1% of the column (3 rows), and its reason.
ROUND12_REJECTS = {
    "sheet-error-number": (
        _ORD.assign(revenue=["10", "20.5", "#DIV/0!", "40", "50", "60"]),
        "a spreadsheet error value in revenue (#VALUE!, #DIV/0!, #REF!, ...: a formula that failed)",
    ),
    "sheet-error-id": (
        _ORD.assign(customer_id=["#REF!", "C000002", "C000003", "#REF!", "C000005", "C000006"]),
        "a spreadsheet error value in customer_id (#VALUE!, #DIV/0!, #REF!, ...: a formula that failed)",
    ),
    "invisible-in-number": (
        _ORD.assign(revenue=["10", "20.5", "30\u200b", "40", "50", "60"]),
        "invisible character in revenue (BOM, zero-width space, line break, ...)",
    ),
    "e-mail-as-id": (
        _ORD.assign(customer_id=["C000001", "bo@shop.example", "C000003", "C000004", "C@5", "C000006"]),
        "an e-mail address in customer_id (personal data, not an id: export the id instead)",
    ),
    "date-in-another-form": (
        _ORD.assign(ordered_at=["2024-01-05", "2024-02-01", "03/02/2024", "2024-03-01", "2024-03-02", "x"]),
        "ambiguous or unknown date format in ordered_at",
    ),
    "sheet-error-flag": (
        _ORD.assign(promo=["true", "false", "#N/A", "#VALUE!", "true", ""]),
        "a spreadsheet error value in promo (#VALUE!, #DIV/0!, #REF!, ...: a formula that failed)",
    ),
    "invisible-in-flag": (
        _ORD.assign(promo=["true", "false", "x", "true\u200b", "true", ""]),
        "invisible character in promo (BOM, zero-width space, line break, ...)",
    ),
    "formula-number": (
        _ORD.assign(revenue=["10", "20.5", "'30", "40", "50", "60"]),
        'spreadsheet formula or text prefix in revenue (="...", \'...)',
    ),
    "lookalike-letter-in-id": (  # round 13: a Cyrillic `С` for `C` (`features.ids.lookalike_ids`)
        _ORD.assign(customer_id=["C000001", "\u0421000002", "C000003", "C000004", "C000005", "C000006"]),
        "a Cyrillic or Greek letter drawn like a Latin one in customer_id (Cyrillic С for Latin C: a lookalike)",
    ),
    "quotes-in-a-rejected-row": (  # an id written `="00042"` and a value holding `"` (Spark's CSV escaping)
        _ORD.assign(customer_id=['="C000001"', "C000002", "C000003", "C000004", "C000005", "C000006"]).assign(
            channel=['say "hi", then', "web", "web", "web", "web", "web"]
        ),
        'spreadsheet formula or text prefix in customer_id (="...", \'...)',
    ),
}


@pytest.mark.spark
def test_round12_row_rejects_are_the_pandas_ones(spark, tmp_path):
    """The twelfth hunt's row rejects (`#DIV/0!` in an amount, `#REF!` as an id): the same reason, counts and
    accepted rows on both engines (the rules run on the Spark batches through `features.validation`). Every case
    of `ROUND12_REJECTS` in one orders table, one Spark load (each case's order ids its own; no column-level stop
    fires: each form is on a row or two of 60)."""
    from pipelines.engines.spark_input import load_spark

    cases = [
        o.assign(order_id=[f"{k}-{i}" for i in range(len(o))])
        for k, (o, _) in enumerate(ROUND12_REJECTS.values())
    ]
    orders = pd.concat(cases, ignore_index=True)
    data = _write(tmp_path / "data", orders=orders)
    expected = load_data(data)
    for _, reason in ROUND12_REJECTS.values():
        assert reason in expected.result.report["orders"].rejected_by_reason
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)
    # the rejects file as a CSV reader reads it: a `"` in a value or reason doubled, never Spark's `\"`
    written = _reject_files(tmp_path / "rejects" / "orders")
    assert list(written.columns) == ["source_row", *orders.columns, "reason"]
    assert len(written) == got.result.report["orders"].rejected
    assert {r for _, r in ROUND12_REJECTS.values()} <= set(written["reason"])
    quoted = written[written["order_id"] == f"{list(ROUND12_REJECTS).index('quotes-in-a-rejected-row')}-0"]
    # the values as written, the formula neutralised as by pandas
    assert quoted[["customer_id", "channel"]].values.tolist() == [['\'="C000001"', 'say "hi", then']]


@pytest.mark.spark
def test_a_stray_half_point_rating_and_an_e_mail_address_as_a_manager_id_are_rejected_as_by_pandas(
    spark, tmp_path
):
    """A `4.5` among whole ratings (under the stop's 3 rows): its own reason on both engines, not `outside 1-5`.
    A manager's e-mail exported as `account_manager_id` (round 12): the same row reject in `account_managers`
    and in `customers` on both engines (the id rules run on the Spark batches), never a manager id. A stray `NULL`
    or `-` in a model-read category is the same row reject in both engines, and fullwidth letters or a non-breaking
    space in one are the same category (NFKC); ids and personal text stay exact. One load (three before, one per
    case: the tickets name customers kept and the categories' customers their own orders, so each table's rejects
    are the ones it had alone, added up; the orders of the rejected customers `unknown customer_id`)."""
    from pipelines.engines.spark_input import load_spark

    mail = "anna.schmidt@corp.com"
    customers = _CUST.assign(account_manager_id=[mail, "AM2", mail, "AM2", "AM2", ""])
    managers = pd.DataFrame({"account_manager_id": [mail, "AM2"], "name": ["Anna", "Bo"]})
    tickets = _TICKETS.assign(
        satisfaction=["4", "4.5", "3", "7"], customer_id=["C000002", "C000004", "C000005", "C000002"]
    )
    n = 300  # the categories' customers, each with an order
    categories = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(n)],
            "segment": ["Ｂ２Ｂ" if i % 2 else "B2B" for i in range(n)],
            "region": ["NULL" if i == 0 else "-" if i == 1 else "North\u00a0East" if i % 3 else "North East"
                       for i in range(n)],
            "name": ["Ａnn"] * n,
        }
    )  # fmt: skip
    orders = pd.DataFrame(
        {
            "order_id": [f"Q{i}" for i in range(n)],
            "customer_id": [f"C{i}" for i in range(n)],
            "ordered_at": ["2024-01-05"] * n,
            "revenue": ["10"] * n,
        }
    )
    customers = pd.concat(
        [customers.assign(segment="B2B", region="North East"), categories], ignore_index=True
    )
    data = _write(
        tmp_path / "data",
        orders=pd.concat([_ORD, orders], ignore_index=True),
        customers=customers,
        account_managers=managers,
        tickets=tickets,
    )
    expected = load_data(data)
    assert expected.result.report["tickets"].rejected_by_reason == {
        "satisfaction not a whole number of the 1-5 scale (4.5)": 1,
        "satisfaction outside 1-5": 1,
    }
    reason = "an e-mail address in account_manager_id (personal data, not an id: export the id instead)"
    assert expected.result.report["customers"].rejected_by_reason == {
        reason: 2,
        "placeholder for a missing value in region (NULL, N/A, -, ...)": 2,
    }
    assert expected.result.report["account_managers"].rejected_by_reason == {reason: 1}
    assert expected.result.report["orders"].rejected_by_reason == {"unknown customer_id": 4}
    assert set(expected.tables["customers"]["segment"]) == {"B2B"}
    assert set(expected.tables["customers"]["region"]) == {"North East"}
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)


@pytest.mark.spark
def test_a_declared_format_over_month_first_dates_stops_as_by_pandas(spark, tmp_path):
    """`%d/%m/%Y` declared over orders of which a part is written `%m/%d/%Y` (round 12): the same stop and
    message on both engines (Spark: the values matching only with day and month swapped summed in its one
    aggregation, `features.date_forms.swapped_dates`; a real load, the only Spark run of `check_swapped_dates`
    with the formats the configuration declares handed to the driver: review of the test-time cut); one stray such
    value the same reject."""
    from pipelines.engines.spark_engine import mapped_errors
    from pipelines.engines.spark_input import load_spark

    formats = {"orders.ordered_at": "%d/%m/%Y"}
    cfg = load_config(None, {"data": {"date_formats": formats}})
    days = ["05/01/2024", "01/14/2024", "02/03/2024", "03/25/2024", "04/30/2024", "03/05/2024"]
    data = _write(tmp_path / "data", orders=_ORD.assign(ordered_at=days))
    with pytest.raises(StructuralError) as expected:
        load_data(data, date_formats=formats)
    assert "3 of 6 values do not match the declared date format '%d/%m/%Y' but do match" in str(
        expected.value
    )
    with pytest.raises(StructuralError) as got, mapped_errors():
        load_spark(spark, data, cfg, tmp_path / "rejects")
    assert str(got.value) == str(expected.value)
    days[3:5] = ["25/03/2024", "30/04/2024"]  # one month-first value left: a stray, rejected
    stray = _write(tmp_path / "stray", orders=_ORD.assign(ordered_at=days))
    expected = load_data(stray, date_formats=formats)
    reason = "ordered_at does not match the declared date format %d/%m/%Y"
    assert expected.result.report["orders"].rejected_by_reason == {reason: 1}
    got, _ = load_spark(spark, stray, cfg, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)


@pytest.mark.spark
def test_a_stray_42_0_among_ids_written_42_is_rejected_as_by_pandas(spark, tmp_path):
    """One `customer_id` written `3.0` among ids written `3` (round 10): the same reject, reason and accepted rows
    on both engines (Spark: judged again once its sums show the stray, `spark_stops.stray_decimals`), and a
    `returns.customer_id` of the same form too."""
    from pipelines.engines.spark_input import load_spark

    returns = pd.DataFrame(
        {
            "return_id": ["R1", "R2", "R3", "R4"],
            "customer_id": ["1", "2", "2.0", "4"],
            "returned_at": ["2024-03-10"] * 4,
            "amount": ["1", "2", "3", "4"],
        }
    )
    data = _write(
        tmp_path / "data", orders=_ORD.assign(customer_id=["1", "2", "3", "4", "5", "3.0"]), returns=returns
    )
    expected = load_data(data)
    reason = "id written as a decimal number (42.0) among whole-number ids in customer_id"
    assert expected.result.report["orders"].rejected_by_reason == {reason: 1}
    assert expected.result.report["returns"].rejected_by_reason == {reason: 1}
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)
    assert _reject_files(tmp_path / "rejects" / "orders")["reason"].tolist() == [reason]


@pytest.mark.spark
@pytest.mark.parametrize("with_customers", [True, False])
def test_a_referral_of_a_customer_who_had_referred_before_is_rejected_as_by_pandas(
    spark, tmp_path, with_customers
):
    """Two customers naming each other and a chain back to its start (round 10): the same rejects and reasons on
    both engines, each referral judged in its referred customer's bucket against the referrals naming that
    customer as referrer (an unknown customer's or a duplicate's referral still shows who referred first)."""
    from pipelines.engines.spark_input import load_spark

    referrals = pd.DataFrame(
        {
            "referrer_id": ["C000001", "C000002", "C000003", "C000004", "C000005", "C000009", "C000006"],
            "referred_id": ["C000002", "C000001", "C000004", "C000005", "C000003", "C000006", "C000003"],
            "referred_at": ["2024-01-01", "2024-03-01", "2024-01-10", "2024-01-20", "2024-02-01", "2024-01-05",
                            "2024-01-03"],
        }
    )  # fmt: skip
    tables = dict(orders=_ORD, referrals=referrals) | (dict(customers=_CUST) if with_customers else {})
    data = _write(tmp_path / "data", **tables)
    expected = load_data(data)
    reasons = expected.result.rejects["referrals"]["reason"].tolist()
    # C000002 -> C000001 and C000005 -> C000003; without customers, also C000009 -> C000006 (C000006's own
    # referral, a duplicate referred_id, dated before)
    expected_count = 2 if with_customers else 3
    assert reasons.count("referred_id had referred a customer before this referral (a customer already)") == (
        expected_count
    )
    got, _ = load_spark(spark, data, CFG, tmp_path / "rejects")
    assert got.result.report == expected.result.report
    _assert_driver_tables(got, expected)
    files = _reject_files(tmp_path / "rejects" / "referrals")
    assert files["reason"].tolist() == reasons
