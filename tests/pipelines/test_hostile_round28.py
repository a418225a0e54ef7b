"""Hostile input classes closed in the twenty-eighth hunt: dates with a weekday's or a zone's name in parentheses
(`2023-01-05 10:00 (Thu)`, `2023/01/05(木) 10:00`, JavaScript's `Date.toString()`), a year alone in a date column
(`2021`), words for a date not there yet (`paid_at` `unpaid`, `open`; `churned_at` `never`), an effort in hours and
minutes (`1h 30m`), invoice or refund amounts in another unit than the orders' told customer by customer (invoices
in thousands, refunds in cents at a small share), the date checks' `data.timezone` a required argument. Tiny
hand-written files; no training, no model, no Spark session (the Spark cases: its row step and its driver's rule
called on the batches it streams; the hunt's log holds the Spark loads of the demo)."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

from features.validation import StructuralError
from tests.helpers import raw_orders
from tests.pipelines.test_hostile_round24 import _folder
from tests.pipelines.test_hostile_round27 import _streamed

_ASIDES = [
    "2023-01-05 10:00:00 (Thu)",
    "2023/01/05(Thu) 10:00",
    "2023/01/05(木) 10:00",
    "2023-01-05T10:00:00 (UTC)",
    "Thu Jan 05 2023 10:00:00 GMT+0100 (Central European Standard Time)",
    "1/5/2023, 10:00:00 AM",  # JavaScript's `toLocaleString()`: a comma before the time
    "05 January 2023, 10:00",
]


def test_dates_with_a_weekday_or_zone_in_parentheses_stop_as_other_date_forms_do(tmp_path):
    """A part of an ISO date column written with the weekday after the date (`2023-01-05 10:00 (Thu)`: a report's
    or a Japanese or Korean system's `2023/01/05(木)`), a zone's name in parentheses (`(UTC)`), or as JavaScript's
    `Date.toString()` writes a date (a browser's or Node's date saved as text). Was: each row `ambiguous or unknown
    date format`, exit 0 (the demo with 10% of its orders so written lost 298); a comma before the time
    (`1/5/2023, 10:00:00 AM`: `toLocaleString()`, `05 January 2023, 10:00`) the same. Now the stop for dates in another
    form (`features.date_forms._ASIDE`); the Spark row step's `OTHER_DATE` mask calls the same `other_date_forms`.
    A stray one stays the reject; text in parentheses without a date is no date."""
    from features.date_forms import other_date_forms
    from pipelines.engines.spark_checks import OTHER_DATE
    from pipelines.engines.spark_input import check_rows
    from pipelines.io import load_data

    orders = raw_orders(100)
    orders.loc[[3, 30, 60], "ordered_at"] = _ASIDES[:3]
    with pytest.raises(StructuralError, match=r"3 of 100 values are dates written in another form"):
        load_data(_folder(tmp_path / "share", orders=orders))
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}))
    hit = (out[OTHER_DATE].to_numpy() >> list(orders.columns).index("ordered_at")) & 1
    assert list(np.flatnonzero(hit)) == [3, 30, 60]
    values = pd.Series([*_ASIDES, "hello (Thu)", "(2023-01-05)"])
    assert list(other_date_forms(values, pd.Series(True, index=values.index))) == [True] * 7 + [False] * 2
    orders = raw_orders(100)
    orders.loc[7, "ordered_at"] = _ASIDES[0]
    report = load_data(_folder(tmp_path / "stray", orders=orders)).result.report["orders"]
    assert report.rejected_by_reason == {"ambiguous or unknown date format in ordered_at": 1}


def test_the_date_checks_take_the_zone_from_their_caller():
    """`data.timezone` decides which dates are placeholders at midnight, which local times a DST change skipped
    and which dates were midnight UTC: a default of "UTC" let a caller forget it (the Spark driver's `check_head`
    did). Now required (keyword-only on `_check_parsed`)."""
    from features.column_checks import _check_parsed
    from features.date_checks import check_date_column
    from pipelines.engines.spark_masks import column_masks

    for function in (_check_parsed, check_date_column, column_masks):
        assert inspect.signature(function).parameters["timezone"].default is inspect.Parameter.empty


def _invoices(orders: pd.DataFrame, **columns: str) -> pd.DataFrame:
    """An invoice of each order's customer, issued 2023-02-01, due 2023-03-01, with `columns` after those."""
    ids = {"invoice_id": [f"I{i}" for i in range(len(orders))], "customer_id": orders["customer_id"]}
    return pd.DataFrame({**ids, "issued_at": "2023-02-01", "due_at": "2023-03-01", **columns})


def test_invoices_in_thousands_and_refunds_in_cents_at_a_small_share_are_noted(tmp_path):
    """Invoices exported in thousands (each 1,000 times smaller than the orders it bills: the totals rule of round
    27 only looked up), and refunds in cents where little is refunded (a tenth of the customers refunding a tenth of
    an order: in cents the refunds' total is the orders' once, under the totals rule's twice). Was: not a word, exit
    0, every overdue amount a thousandth, every refund 100 times too large. Now the median customer's own ratio
    (`features.conventions.customer_medians`, `UNIT_MEDIANS`: invoices a twentieth to 20 times what the customer
    ordered, refunds at most half again), a note of every loading command; the Spark driver adds the same sums per
    customer batch by batch (`StreamedCounts`). Amounts in units give no note."""
    from pipelines.io import load_data
    from pipelines.load_notes import amount_notes

    orders = raw_orders(100, revenue="12.5")
    invoices = _invoices(orders, amount="0.0125")
    returns = pd.DataFrame(
        {"return_id": [f"R{i}" for i in range(10)], "customer_id": orders["customer_id"][::10].to_list()}
    ).assign(returned_at="2023-02-01", amount="125")  # 1.25 each, in cents: the orders' whole revenue in all
    loaded = load_data(_folder(tmp_path / "units", orders=orders, invoices=invoices, returns=returns))
    assert loaded.result.report["invoices"].accepted == 100 and loaded.result.report["returns"].accepted == 10
    notes = amount_notes(loaded.tables)
    assert [n.split(":")[0] for n in notes] == [
        "table 'invoices', column 'amount'",
        "table 'returns', column 'amount'",
    ]
    assert "the median customer is invoiced 0.001 times the revenue of their own orders" in notes[0]
    assert "over 100 customers with both): one of the two in another unit, about 1/1,000 of" in notes[0]
    assert (
        "the median customer is refunded 10 times" in notes[1]
        and "refunds in cents beside orders" in notes[1]
    )
    assert amount_notes(_streamed(loaded.tables, 20)) == notes  # the driver's sums, folded (`SUM_PARTS`)
    invoices["amount"], returns["amount"] = "15", "1.25"  # units, with tax: no note
    loaded = load_data(_folder(tmp_path / "ok", orders=orders, invoices=invoices, returns=returns))
    assert amount_notes(loaded.tables) == [] and amount_notes(_streamed(loaded.tables, 3)) == []


def test_a_year_alone_in_a_date_column_stops_as_a_date_without_its_day(tmp_path):
    """A CRM's "customer since" written as a year (`2021`) on part of `customers.signup_at`. Was: each customer
    rejected `ambiguous or unknown date format`, exit 0, and with them every order, invoice and ticket of theirs as
    of an unknown customer (the demo with 10% of its signups so written: 31 customers, 316 orders, 316 invoices
    lost). Now the stop for dates in another form, saying they are no whole date (`features.date_forms._INCOMPLETE`;
    the Spark row step's `OTHER_DATE` mask calls the same `other_date_forms`)."""
    from features.date_forms import other_date_forms
    from pipelines.io import load_data

    orders = raw_orders(100)
    customers = pd.DataFrame({"customer_id": orders["customer_id"], "signup_at": "2022-12-01"})
    customers.loc[[3, 30, 60], "signup_at"] = "2021"
    with pytest.raises(StructuralError, match=r"'signup_at': 3 of 100 values .* 3 of them are no whole date"):
        load_data(_folder(tmp_path, orders=orders, customers=customers))
    values = pd.Series(["2021", "1999", "2023-01-05", "2100", "21"])
    found = other_date_forms(values, pd.Series([True, True, False, True, True]))
    assert list(found) == [True, True, False, False, False]


@pytest.mark.parametrize("word", ["Open", "Present"])
def test_a_word_for_a_date_not_there_yet_stops_as_a_placeholder(tmp_path, word):
    """A billing system writing `unpaid` (`open`, `pending`) in `invoices.paid_at` for each invoice not paid yet,
    a CRM `never` (`active`) in `churned_at`, an HR export `Present` in `left_at`. Was: each such row rejected
    `ambiguous or unknown date format`, exit 0: every unpaid invoice dropped, the very rows the payment features
    read (the demo: 107 of its 2,980 invoices). Now the placeholder stop (`features.placeholder_words.VALUE_PLACEHOLDERS`), export empty cells; the Spark
    row step's `PLACEHOLDER` mask calls the same `missing_placeholders`. A stray one stays the reject."""
    from features.placeholder_words import missing_placeholders
    from pipelines.engines.spark_checks import PLACEHOLDER
    from pipelines.engines.spark_input import check_rows
    from pipelines.io import load_data

    orders = raw_orders(100)
    invoices = _invoices(orders, amount="10", paid_at="2023-02-15")  # the masks' bits: the contract's order
    invoices.loc[[3, 30, 60], "paid_at"] = word
    with pytest.raises(
        StructuralError, match=rf"'paid_at': 3 of 100 rows hold '{word}', an export's placeholder"
    ):
        load_data(_folder(tmp_path / "share", orders=orders, invoices=invoices))
    out = next(check_rows(iter([invoices]), "invoices", 0, "UTC", {}, {}))
    hit = (out[PLACEHOLDER].to_numpy() >> list(invoices.columns).index("paid_at")) & 1
    assert list(np.flatnonzero(hit)) == [3, 30, 60]
    invoices.loc[[30, 60], "paid_at"] = ""
    report = load_data(_folder(tmp_path / "stray", orders=orders, invoices=invoices)).result.report[
        "invoices"
    ]
    assert report.rejected_by_reason == {"ambiguous or unknown date format in paid_at": 1}
    words = pd.Series(["opened", "neverland"])
    assert not missing_placeholders(words, np.ones(2, dtype=bool), "timestamp").any()


def test_an_effort_in_hours_and_minutes_stops_as_a_number_with_a_unit(tmp_path):
    """`tickets.effort_minutes` written `1h 30m` (`1h30`, `2 hrs 15 min`: Jira's, Toggl's and Harvest's way) on
    part of the column. Was: each ticket `unparseable effort_minutes`, exit 0 (the demo with 10% so written lost 71
    of its 701 tickets, with them their effort). Now the stop for numbers with a unit and `h:mm` durations
    (`features.number_forms._WITH_UNIT`); the Spark row step's `UNIT` mask calls the same `unit_numbers`."""
    from pipelines.engines.spark_checks import UNIT
    from pipelines.engines.spark_input import check_rows
    from pipelines.io import load_data

    orders = raw_orders(100)
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"T{i}" for i in range(100)],
            "customer_id": orders["customer_id"],
            "opened_at": "2023-02-01",
            "effort_minutes": "30",
        }
    )
    tickets.loc[[3, 30, 60], "effort_minutes"] = ["1h 30m", "1h30", "2 hrs 15 min"]
    with pytest.raises(StructuralError, match=r"'effort_minutes': 3 of 100 values are numbers with .* unit"):
        load_data(_folder(tmp_path, orders=orders, tickets=tickets))
    out = next(check_rows(iter([tickets]), "tickets", 0, "UTC", {}, {}))
    hit = (out[UNIT].to_numpy() >> list(tickets.columns).index("effort_minutes")) & 1
    assert list(np.flatnonzero(hit)) == [3, 30, 60]


@pytest.mark.parametrize(
    ("table", "column", "word"), [("invoices", "disputed", "open"), ("orders", "promo", "active")]
)
def test_a_date_state_in_a_true_false_column_is_no_placeholder(tmp_path, table, column, word):
    """`invoices.disputed` `open` on a tenth of the rows (`orders.promo` `active`): a flag written as a state, not a
    missing value. Was (round 28's words matched in every column): "an export's placeholder for a missing value ...
    export missing values as empty cells", advice that blanks every true flag. Now the date states
    (`features.placeholder_words.DATE_STATES`) are matched in date columns only, in both engines (`missing_placeholders`
    takes the column's kind; the Spark row step's `PLACEHOLDER` mask stays empty): the stop "do not parse as
    true/false ... export those" main gave. `NA`, `.`, `-` stay placeholders in every kind."""
    from features.placeholder_words import missing_placeholders
    from pipelines.engines.spark_checks import PLACEHOLDER
    from pipelines.engines.spark_input import check_rows
    from pipelines.io import load_data

    orders = raw_orders(200)
    frames = {
        "orders": orders.assign(promo="false"),
        "invoices": _invoices(orders, amount="10", disputed="false"),
    }
    frames[table].loc[::10, column] = word
    with pytest.raises(StructuralError, match=rf"'{column}': 20 of 200 values do not parse as true/false"):
        load_data(_folder(tmp_path, **frames))
    out = next(check_rows(iter([frames[table]]), table, 0, "UTC", {}, {}))
    assert not out[PLACEHOLDER].any()
    values = pd.Series([word, "NA", ".", "-"])
    assert list(missing_placeholders(values, np.ones(4, dtype=bool), "bool")) == [False, True, True, True]
    assert missing_placeholders(values, np.ones(4, dtype=bool), "timestamp").all()


def test_the_sums_per_customer_are_one_hash_pass_over_the_customers_ids():
    """`amount_notes` summed each table per customer by a groupby over string ids and intersected string indexes
    (at 100k customers 1.0-1.6 s a load, every command: docs/measurements.md). Now each table's ids are found
    among the customers' once (`positions_in`) and summed by `np.bincount`, on the customers' one index, which
    `customer_medians` compares by position; a batch's sums (Spark) stay by id, folded by the one
    `summed_by_id` the orders' counts use. The figures are the groupby's: a missing amount adds nothing."""
    from features.conventions import customer_amounts, customer_medians
    from pipelines.engines.spark_driver_view import StreamedCounts, order_counts_of, summed_by_id

    customers = pd.Index(pd.array(["C1", "C2", "C3"], dtype="string"))
    orders = pd.DataFrame(
        {"customer_id": pd.array(["C2", "C1", "C2"], dtype="string"), "revenue": [1.0, 2.0, 3.0]}
    )
    invoices = pd.DataFrame({"customer_id": pd.array(["C2", "C1"], dtype="string"), "amount": [np.nan, 6.0]})
    sums = {
        **customer_amounts("orders", orders, customers),
        **customer_amounts("invoices", invoices, customers),
    }
    assert all(s.index is customers for s in sums.values())
    assert list(sums["orders.revenue"]) == [2.0, 4.0, 0.0] and list(sums["invoices.amount"]) == [
        6.0,
        0.0,
        0.0,
    ]
    by_id = {**customer_amounts("orders", orders), **customer_amounts("invoices", invoices)}
    assert customer_medians(sums) == customer_medians(by_id) == {"invoices.amount@customer": (1, 3.0)}
    assert "_folded" not in vars(StreamedCounts) and "summed_by_id" in inspect.getsource(order_counts_of)
    assert summed_by_id([pd.Series([1, 2], index=["a", "b"]), pd.Series([3], index=["a"])]).to_dict() == {
        "a": 4,
        "b": 2,
    }


@pytest.mark.parametrize(
    ("median", "said"),
    [
        (0.001, "about 1/1,000 of the other (invoices in thousands beside orders in units)"),
        (120.0, "about 100 times the other (invoices in cents beside orders in units)"),
        (21.6, "many times the other"),
        (0.03, "a small part of the other"),
    ],
)
def test_the_invoices_factor_names_a_unit_only_near_100_or_1000(median, said):
    """The median customer invoiced 21.6 times their orders read "about 10 times the other (cents beside units,
    thousands)", a 3% commission "about 1/100": a factor rounded to a power of ten, a unit named for any. Now a
    unit only within twice 100 or 1,000 (or their inverses: `features.conventions._FACTOR_UNITS`), else "many
    times" or "a small part of" the other with none."""
    from features.conventions import amount_unit_notes

    totals = {"orders.revenue": (100, 1000.0), "invoices.amount": (100, 1000.0)}
    notes = amount_unit_notes({**totals, "invoices.amount@customer": (100, median)})
    assert len(notes) == 1 and f"one of the two in another unit, {said}?" in notes[0]
    assert "(cents beside units, thousands)" not in notes[0]


def test_more_dates_with_a_weekday_and_times_in_words_are_other_date_forms():
    """Fullwidth parentheses (`2023/01/05（木） 10:00`), the time right after them (`2023/01/05(木)10:00`), a
    Japanese date with its weekday (`2023年1月5日(木)`), `January 5, 2023 at 10:00 AM` (Apple's and Google's long
    dates) and a year through a float column (`2021.0`). Was: each row `ambiguous or unknown date format`, exit 0
    on any share. Now dates in another form (`features.date_forms._ASIDE`, `_BEFORE_TIME`, `_INCOMPLETE`), the
    Spark row step calling the same `other_date_forms`; a 100,000-character cell is looked at in no time."""
    import time

    from features.date_forms import other_date_forms

    dates = [
        "2023/01/05（木） 10:00",
        "2023/01/05(木)10:00",
        "2023年1月5日(木)",
        "January 5, 2023 at 10:00 AM",
        "2021.0",
    ]
    others = ["2021.5", "2023/01/0510:00", "hello(木)10:00", "2023/01/05(" + "(a)" * 33_000]
    values = pd.Series(dates + others)
    started = time.thread_time()  # CPU time: a loaded machine's wait for a core is not the check's cost
    assert list(other_date_forms(values, np.ones(len(values), dtype=bool))) == [True] * 5 + [False] * 4
    assert time.thread_time() - started < 1.0


def test_more_efforts_with_a_unit_are_numbers_with_a_unit():
    """`2 hours`, `30 minutes`, `1.5 hours`, `90 min.`, Jira's `1d 2h`, `1h 30m 15s` and ISO 8601's `PT1H30M` in
    `tickets.effort_minutes` (`1 hour` was caught). Was: each `unparseable effort_minutes`, exit 0 on any share.
    Now numbers with a unit (`features.number_forms._DURATION`, in `_WITH_UNIT`: both engines' `unit_numbers`)."""
    from features.number_forms import unit_numbers

    efforts = ["2 hours", "30 minutes", "1.5 hours", "90 min.", "1d 2h", "1h 30m 15s", "PT1H30M", "pt45m"]
    values = pd.Series(efforts + ["P", "PT", "hello", "2 hours ago", "1x 2y"])
    assert list(unit_numbers(values, np.ones(len(values), dtype=bool))) == [True] * 8 + [False] * 5
