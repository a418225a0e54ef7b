"""Hostile input classes closed in the thirty-fifth hunt: a side table whose export stopped a year before the
orders, said by `cvp validate` too; a config or mapping given as a named pipe nobody writes to. Tiny hand-written
files; no training, no model, no Spark session."""

from __future__ import annotations

import os
import threading

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from features.validation import StructuralError
from tests.helpers import two_orders_a_day


def _write_orders_and_tickets(data, tickets_until: str) -> None:
    """Two orders a day over 2022-2023 (1,460) and a ticket a day until `tickets_until`, as CSV tables."""
    orders, tickets = two_orders_a_day(tickets_until)
    data.mkdir(exist_ok=True)
    orders.to_csv(data / "orders.csv", index=False)
    tickets.to_csv(data / "tickets.csv", index=False)


def _validate(data) -> str:
    """What `cvp validate --data data` prints (exit 0 when it returns)."""
    from pipelines.jobs import run_validate

    console = Console(record=True, width=400)
    run_validate(data, None, None, None, console)
    return " ".join(console.export_text().split())  # the console's wrapping undone


def test_validate_warns_of_a_side_table_that_stopped_a_year_before_the_orders(tmp_path):
    """Tickets ending on 2022-12-31, the orders running on through 2023 (a help desk's export that stopped, a
    tickets file of last year left in the folder). Was: `cvp validate` exit 0 without a word (its counts all
    accepted), only `cvp score` / `train` / `backtest` warned, so the check a user runs first passed such data.
    Now `cvp validate` warns as they do, judged as of the day after the last order, the as-of they default to
    (`pipelines.jobs.say_export_stops`, calling `pipelines.training_stops.export_stops`: one rule,
    `pipelines.data_age.stopped_inputs`). Tickets that run on to the end get no warning."""
    _write_orders_and_tickets(tmp_path / "stopped", "2022-12-31")
    said = _validate(tmp_path / "stopped")
    assert "warning: tickets.opened_at ends on 2022-12-31, 365 days before --as-of 2024-01-01" in said
    assert "export the missing tickets rows" in said
    _write_orders_and_tickets(tmp_path / "whole", "2023-12-31")
    assert "warning" not in _validate(tmp_path / "whole")


def test_validate_judges_no_stop_when_the_as_of_cannot_be_defaulted(tmp_path):
    """An order dated after today: the later commands ask for an `--as-of` (exit 2 there); `cvp validate` shows its
    counts and does not stop, nor judge the tables against a 2098 end."""
    _write_orders_and_tickets(tmp_path, "2022-12-31")
    with open(tmp_path / "orders.csv", "a") as fh:
        fh.write("O-late,C1,2098-01-05 10:00,25.00\n")
    said = _validate(tmp_path)
    assert "1,461 │ 1,461" in said and "warning: tickets" not in said


def test_a_config_given_as_a_pipe_nobody_writes_to_is_refused(tmp_path, monkeypatch):
    """`--config pipe` (or `--mapping pipe`): a named pipe (FIFO) no process writes to. Was: `open` waited for a
    writer forever, the command hung without a word. Now a structural error after `FIFO_WAIT_SECONDS` (10 s)
    naming the file (`pipelines.yamlfile._read_bounded`, under `read_yaml`, which every config and mapping goes
    through). A pipe with its writer (a shell's `--config <(...)`) is read as before."""
    from pipelines import yamlfile

    monkeypatch.setattr(yamlfile, "FIFO_WAIT_SECONDS", 0.2, raising=False)
    fifo = tmp_path / "cfg.yaml"
    os.mkfifo(fifo)
    outcome: list[object] = []

    def read() -> None:
        try:
            outcome.append(yamlfile.read_yaml(fifo, "config"))
        except StructuralError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    hung = reader.is_alive()
    if hung:  # main's reader waits in `open` for a writer: give it one, so the thread ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(5)
    assert not hung, "read_yaml waited for a writer of the pipe"
    assert isinstance(outcome[0], StructuralError)
    assert "is a named pipe (FIFO): nothing arrived in 0.2 s (no writer, or a slower one)" in str(outcome[0])
    r, w = os.pipe()  # what `--config <(...)` gives: a pipe its writer fills
    os.write(w, b"labels: {horizon_days: 90}\n")
    os.close(w)
    try:
        assert yamlfile.read_yaml(f"/dev/fd/{r}", "config") == {"labels": {"horizon_days": 90}}
    finally:
        os.close(r)


def test_a_config_from_a_slow_process_substitution_is_read(monkeypatch):
    """`--config <(sleep 12; cat x.yaml)`: an anonymous pipe whose writer takes longer than `FIFO_WAIT_SECONDS`.
    Was (round 35 before its review): refused after 10 s as "a named pipe (FIFO) nothing was written to". Now read
    whatever the writer's delay (`pipelines.yamlfile._anonymous_pipe`: its link reads `pipe:[...]`; such a pipe
    has its writer, or ends); the limit stays for named pipes (the test above). Limit made 0.2 s, writer 0.6 s."""
    import time

    from pipelines import yamlfile

    monkeypatch.setattr(yamlfile, "FIFO_WAIT_SECONDS", 0.2, raising=False)
    r, w = os.pipe()

    def write() -> None:
        time.sleep(0.6)
        os.write(w, b"labels: {horizon_days: 60}\n")
        os.close(w)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        assert yamlfile.read_yaml(f"/dev/fd/{r}", "config") == {"labels": {"horizon_days": 60}}
    finally:
        writer.join(5)
        os.close(r)


@pytest.fixture(autouse=True)
def _no_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")


def _orders_from(start: str, days: int = 400) -> pd.DataFrame:
    """A validated orders table: two orders a day for `days` days from `start`."""
    at = pd.date_range(start, periods=days, freq="D")
    return pd.DataFrame(
        {
            "order_id": [f"O{i}-{k}" for i in range(days) for k in range(2)],
            "customer_id": [f"C{(i + k) % 40}" for i in range(days) for k in range(2)],
            "ordered_at": [d + pd.Timedelta(hours=10 + k) for d in at for k in range(2)],
            "revenue": 25.0,
        }
    )


def _side(name: str, column: str, start: str, days: int) -> pd.DataFrame:
    """A validated side table of one row a day for `days` days from `start`."""
    at = pd.date_range(start, periods=days, freq="D") + pd.Timedelta(hours=9)
    return pd.DataFrame({f"{name}_id": [f"X{i}" for i in range(days)], "customer_id": "C1", column: at})


def test_orders_starting_years_after_the_other_tables_are_noted():
    """The orders exported from 2023-01-01 on (a shop's export limited to the last year, a new shop system's
    history), invoices and returns from 2021 on. Was: every loading command exit 0 without a word, each customer's
    orders before 2023 missing (lifetime orders, profit and tenure counted from 2023, the earlier invoices and
    returns without their orders). Now a note of every loading command naming the first order, each table reaching
    further back and the way out (`pipelines.load_notes.late_orders_start_notes`, in `print_load_report`). The
    Spark driver keeps no returns' or invoices' times: the same note from the days Spark finds before the orders'
    start (`SparkTables.event_days`, stood in for here). Tables starting with the orders, a few weeks of pre-sales
    tickets before the first order, or a side table with rows on a handful of days before it, get no note."""
    from pipelines.engines.spark_tables import SparkTables
    from pipelines.load_notes import late_orders_start_notes

    tables = {
        "orders": _orders_from("2023-01-01"),
        "invoices": _side("invoice", "issued_at", "2021-01-01", 1130),
        "returns": _side("return", "returned_at", "2021-06-01", 100),
    }
    said = late_orders_start_notes(tables)
    assert len(said) == 1 and said[0].startswith("table 'orders': its first order is on 2023-01-01, but ")
    assert "returns.returned_at has rows on 100 days before it, from 2021-06-01" in said[0]
    assert "invoices.issued_at has rows on 700 days before it, from 2021-01-01" in said[0]
    assert "Export the orders from 2021-01-01 on, or the other tables from 2023-01-01 on" in said[0]
    # the Spark driver's tables: the side tables' customer ids only, their days found by Spark
    streamed = SparkTables({n: t[["customer_id"]] if n != "orders" else t for n, t in tables.items()})

    def event_days(table, column, as_of):
        t = tables[table][column]
        return np.unique(t[t < as_of].to_numpy().astype("datetime64[D]"))

    streamed.event_days = event_days
    assert late_orders_start_notes(streamed) == said
    for name, side in {
        "with the orders": _side("invoice", "issued_at", "2023-01-01", 400),
        "pre-sales weeks": _side("invoice", "issued_at", "2022-11-20", 400),
        "a handful of days": pd.concat(
            [
                _side("invoice", "issued_at", "2021-01-01", 10),
                _side("invoice", "issued_at", "2023-01-01", 400),
            ]
        ),
    }.items():
        assert late_orders_start_notes({"orders": tables["orders"], "invoices": side}) == [], name


def test_orders_of_which_no_customer_has_a_second_are_noted():
    """The orders' `customer_id` a per-order id (the order's or a checkout's own number, a guest record made for
    each sale: the demo's orders so, 28,581 customers of one order each). Was: every loading command exit 0 without
    a word, every customer a one-time buyer, lapsed or churned after its order. Now a note of every loading command
    (`pipelines.load_notes.one_order_notes`, in `print_load_report`), read of the orders per customer
    (`order_counts`: the Spark driver's counts as the orders streamed, stood in for here). Repeat customers, fewer
    than 500 orders, or less than a year of them get no note."""
    from pipelines.engines.spark_tables import SparkTables
    from pipelines.load_notes import one_order_notes

    orders = _orders_from("2023-01-01", 400)  # 800 orders of 40 customers
    assert one_order_notes({"orders": orders}) == []
    per_order = orders.assign(customer_id="G" + orders["order_id"])
    said = one_order_notes({"orders": per_order})
    assert (
        len(said) == 1
        and "no customer has a second order: 800 orders of as many customer ids over 399" in said[0]
    )
    streamed = SparkTables({"orders": per_order[["ordered_at", "revenue"]]})
    streamed.order_counts = per_order["customer_id"].value_counts(sort=False)
    assert one_order_notes(streamed) == said
    assert one_order_notes({"orders": per_order.iloc[:499]}) == []  # too few orders to judge
    assert (
        one_order_notes(
            {"orders": _orders_from("2023-01-01", 300).pipe(lambda o: o.assign(customer_id=o["order_id"]))}
        )
        == []
    )


def test_invoice_or_return_amounts_in_another_unit_from_a_month_on_are_noted():
    """The invoices' amounts in cents from 2023-05 on, the orders in units (a billing system migrated, its export
    alone changed unit; round 34 left it: `features.unit_steps` judged `orders.revenue` only). Was: read as given,
    exit 0 (the whole-sum note of invoices in cents needs every invoice so). Now the unit-step note on
    `invoices.amount` and `returns.amount` too (`features.unit_steps.STEP_COLUMNS`, the one rule `unit_step_notes`
    applies); the Spark driver keeps none of those amounts and sums them by month as they stream
    (`StreamedCounts`, `month_sums`): the same note. The orders' note reads as before."""
    from pipelines.engines.spark_driver_view import StreamedCounts
    from pipelines.engines.spark_tables import SparkTables
    from pipelines.load_notes import amount_notes
    from tests.pipelines.test_hostile_round34 import _monthly_orders, _validated

    def invoices(factor_from):
        o = _validated(_monthly_orders(factor_from))
        return o.rename(columns={"order_id": "invoice_id", "ordered_at": "issued_at", "revenue": "amount"})

    orders = _validated(_monthly_orders({}))
    stepped = invoices({"2023-05": 100.0})
    said = [n for n in amount_notes({"orders": orders, "invoices": stepped}) if "typical" in n]
    assert len(said) == 1 and said[0].startswith(
        "table 'invoices', column 'amount': from 2023-05 on the typical invoice is 100 times what it was before"
    )
    assert "100 of the 200 invoices from 2023-05 on" in said[0]
    summed = StreamedCounts()
    for part in (stepped.iloc[:120], stepped.iloc[120:]):  # two batches, as the driver streams them
        summed.add("invoices", part)
    streamed = SparkTables(
        {"orders": orders[["ordered_at", "revenue"]], "invoices": stepped[["customer_id"]]}
    )
    streamed.month_amounts = summed.months.results()
    assert [n for n in amount_notes(streamed) if "typical" in n] == said
    returns = stepped.rename(columns={"invoice_id": "return_id", "issued_at": "returned_at"})
    said = [n for n in amount_notes({"orders": orders, "returns": returns}) if "typical" in n]
    assert (
        len(said) == 1 and "table 'returns', column 'amount': from 2023-05 on the typical return" in said[0]
    )
    assert [n for n in amount_notes({"orders": orders, "invoices": invoices({})}) if "typical" in n] == []


def test_ids_of_digits_grouped_by_a_spreadsheet_in_part_are_twins():
    """Customer ids of digits written `7,007` on some orders and `7007` on others (one export saved from a
    spreadsheet whose number format grouped the digits; `7.007`, `7 007`, `7'007` in other locales). Was: exit 0,
    each such customer read as two, each with a part of its orders. Now the twins' rules of letter case and
    leading zeros (`features.id_spellings._case_twins`, `zeros`: the group marks removed from ids of digits in
    groups of three only): without a customers table the stop of `features.crossrefs.check_case_twins` (both
    engines call it), fewer the loading note. A column grouped throughout, and ids such as `1.5` or `12,34`, are no
    twins."""
    from features.crossrefs import check_case_twins
    from features.id_spellings import case_only_twins
    from pipelines.load_notes import case_notes

    plain = [str(7000 + 7 * i) for i in range(40)]
    grouped = [f"{int(v):,}" for v in plain[:20]] + [f"{int(v):_}".replace("_", ".") for v in plain[20:30]]
    ids = pd.Series(plain + grouped + [f"{int(v):_}".replace("_", "\u00a0") for v in plain[30:]])
    with pytest.raises(StructuralError, match=r"differing only by letter case or leading zeros"):
        check_case_twins("orders", "customer_id", ids, len(ids))
    n, shown = case_only_twins(ids, zeros=True)
    assert n == 40 and shown[0] == ("7,000", "7000")
    few = pd.DataFrame({"customer_id": plain + ["7,000"]})
    assert (
        "differ from another only by letter case or leading zeros ('7,000' / '7000')"
        in (case_notes({"orders": few})[0])
    )
    assert case_only_twins(pd.Series(grouped), zeros=True)[0] == 0
    assert case_only_twins(pd.Series(["15", "1.5", "1234", "12,34", "1,234.5"]), zeros=True)[0] == 0


def test_two_overlapping_exports_the_later_with_payments_are_told_so():
    """Invoices exported up to a day, then again from an earlier day (two exports of overlapping periods put
    together), the second with the payments made since: 20 invoices on two rows each, the first row unpaid. Was:
    the stop's way out for order lines, "give one row per invoice_id (order lines summed), or ... `group_by`"
    (summing an invoice with itself). Now the same stop names the overlap, the columns filled since and the way
    out, keep the latest export's row (`features.keys._filled_later`, in `check_one_row_per_key`, which both
    engines call). Order lines (values that differ, not filled) keep their advice."""
    from features.keys import check_one_row_per_key

    issued = pd.date_range("2024-01-01", periods=60, freq="D")
    first = pd.DataFrame(
        {
            "invoice_id": [f"I{i}" for i in range(60)],
            "customer_id": [f"C{i % 7}" for i in range(60)],
            "issued_at": issued,
            "amount": 10.0 + np.arange(60),
            "paid_at": [d + pd.Timedelta(days=5) if i < 40 else pd.NaT for i, d in enumerate(issued)],
        }
    )
    second = first.iloc[40:].assign(paid_at=issued[40:] + pd.Timedelta(days=9))
    t = pd.concat([first, second], ignore_index=True)
    duplicate = t["invoice_id"].duplicated()
    with pytest.raises(StructuralError) as stop:
        check_one_row_per_key("invoices", t, "invoice_id", duplicate)
    said = str(stop.value)
    assert "differ only by values one of them leaves empty (paid_at; 'I40' on 2 rows)" in said
    assert (
        "two exports of overlapping periods" in said
        and "Keep the latest export's row of each invoice_id" in said
    )
    lines = pd.concat([first, second.assign(amount=second["amount"] + 1)], ignore_index=True)
    with pytest.raises(StructuralError, match="one per order line, address or period"):
        check_one_row_per_key("invoices", lines, "invoice_id", lines["invoice_id"].duplicated())


def _text_orders(times: list[str], customers: int = 9) -> pd.DataFrame:
    """Orders as a CSV is read (text), one per time given, of `customers` customers in turn."""
    n = len(times)
    return pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(n)],
            "customer_id": [f"C{i % customers}" for i in range(n)],
            "ordered_at": times,
            "revenue": "12.50",
        }
    )


def test_dates_written_year_day_month_in_part_of_an_iso_column_stop():
    """The last months of an orders export written year-day-month (`2025-25-01 10:00:00` for the 25th of January:
    a writer's `yyyy-dd-MM` pattern, SQL Server's `SET DATEFORMAT ydm`), the rest ISO. Was: exit 0, the values of
    a day above 12 rejected `unparseable ordered_at` (the demo's orders of 2025 so: 5,592 of 28,581) and those of
    a day of 12 or less read with day and month swapped without a word. Now the stop of dates in another form
    (`features.date_forms._day_first`, in `other_date_forms`, now handed every value that does not parse: the
    pandas engine's `features.date_checks`, as the Spark masks' `bad`), saying what the form is. A stray one
    stays a reject."""
    from features.date_forms import other_date_forms
    from features.validation import validate_tables

    days = pd.date_range("2024-01-01", periods=100, freq="D")
    iso = [f"{d.date()} 10:00:00" for d in days[:80]]
    ydm = [d.strftime("%Y-%d-%m %H:%M:%S") for d in days[80:] + pd.Timedelta(hours=10)]
    with pytest.raises(StructuralError, match="written year-day-month") as stop:
        validate_tables({"orders": _text_orders(iso + ydm)})
    assert "values are dates written in another form than ISO 8601" in str(stop.value)
    raw = pd.Series(iso + ydm)
    bad = pd.Series([False] * 80 + [True] * 20)  # what the Spark masks hand it: every value not parsing
    assert other_date_forms(raw, bad).sum() == sum(int(v[5:7]) > 12 for v in ydm) > 0
    stray = validate_tables({"orders": _text_orders(iso + iso + iso + iso[:20] + ["2024-25-01 10:00:00"])})
    assert stray.report["orders"].rejected_by_reason == {"unparseable ordered_at": 1}


def test_an_iso_column_written_year_day_month_throughout_names_the_form_and_its_format():
    """The whole column written year-day-month. Was: the stop "do not parse as a date ... Dates must be ISO 8601",
    no word of the form nor that the values of a day of 12 or less had parsed swapped. Now the same stop says so
    and names the format that reads the column (`features.year_day_month.year_day_month_hint`, in
    `features.unparsed_columns.check_mostly_unparsed`, both engines' stop); declared, every row is read as its day."""
    from features.validation import validate_tables

    days = pd.date_range("2024-01-01", periods=100, freq="D") + pd.Timedelta(hours=10)
    ydm = [d.strftime("%Y-%d-%m %H:%M:%S") for d in days]
    with pytest.raises(StructuralError, match="do not parse as a date") as stop:
        validate_tables({"orders": _text_orders(ydm)})
    assert "look like dates written year-day-month" in str(stop.value)
    assert '`data.date_formats: {orders.ordered_at: "%Y-%d-%m %H:%M:%S"}`' in str(stop.value)
    read = validate_tables(
        {"orders": _text_orders(ydm)}, date_formats={"orders.ordered_at": "%Y-%d-%m %H:%M:%S"}
    )
    assert (read.tables["orders"]["ordered_at"].to_numpy() == days.to_numpy()).all()


def test_churned_at_written_as_each_customers_last_order_stops():
    """A CRM's "last purchase" (or "last activity") date exported as `customers.churned_at`: every customer's at the
    very instant of their last order. Was: exit 0, each `cancelled` from their last order on (not scored, left out
    of training), a customer who ordered last week among them: no order falls after it, so the stale-cancellation
    stop never fired. Now a structural error naming how many and example rows with the last order beside the
    churned_at (`features.churn_checks.check_churn_at_last_order`, in `judge_orders_after_churn`; the Spark engine
    counts bit 1 of `AFTER_CHURN` per bucket, `churned_at_last_order`, then calls it: `spark_cross_stops.churn_stops`).
    Real cancellations (a month after the last order) and a few at it are read."""
    from features.churn_checks import check_churn_at_last_order, churned_at_last_order

    orders = _orders_from("2023-01-01", 400)[["customer_id", "ordered_at"]]
    last = orders.groupby("customer_id")["ordered_at"].max()
    customers = pd.DataFrame({"customer_id": last.index, "churned_at": last.to_numpy()})
    with pytest.raises(
        StructuralError, match="40 of the 40 customers with a churned_at have it at the very instant"
    ):
        check_churn_at_last_order(customers, orders)
    assert churned_at_last_order(customers, orders).all()
    real = customers.assign(churned_at=customers["churned_at"] + pd.Timedelta(days=30))
    check_churn_at_last_order(real, orders)
    few = real.assign(churned_at=real["churned_at"].where(real.index >= 5, customers["churned_at"]))
    check_churn_at_last_order(few, orders)  # 5 of 40 at it: read


def test_a_churned_at_on_the_day_or_at_the_final_charge_is_read():
    """Review of round 35: the stop above is for a last-purchase date exported as `churned_at`. Date-only columns
    (every value at midnight: "the very instant" is the same day) and a subscription system booking a final
    charge at the cancellation's instant (only the cancelled customers hold a `churned_at`) are legitimate. Was:
    both stopped (no way out). Now read: only a shared time of day other than midnight counts
    (`features.crossrefs.same_timed_instant`), and the customers holding one must be `CHURN_HOLDERS_SHARE` (90%)
    of those with an order, `MIN_CHURN_AT_ORDER` (20) of them at it; the Spark driver calls the same function."""
    from features.churn_checks import check_churn_at_last_order, churned_at_last_order

    orders = _orders_from("2023-01-01", 400)[["customer_id", "ordered_at"]]
    dates = orders.assign(ordered_at=orders["ordered_at"].dt.normalize())  # a date-only export
    last = dates.groupby("customer_id")["ordered_at"].max()
    customers = pd.DataFrame({"customer_id": last.index, "churned_at": last.to_numpy()})
    check_churn_at_last_order(customers, dates)  # every one cancelled on their last order's day: read
    assert not churned_at_last_order(customers, dates).any()

    n = 200  # a subscription shop: 200 customers, one charge each a month; 60 cancelled at a final charge
    charges = pd.DataFrame(
        {
            "customer_id": [f"S{c}" for c in range(n) for _ in range(6)],
            "ordered_at": [
                pd.Timestamp("2024-01-01 08:15:00") + pd.Timedelta(days=30 * m + c % 28, minutes=c)
                for c in range(n)
                for m in range(6)
            ],
        }
    )
    final = charges.groupby("customer_id")["ordered_at"].max()
    churned = final.where(final.index.isin([f"S{c}" for c in range(60)]))
    subs = pd.DataFrame({"customer_id": final.index, "churned_at": churned.to_numpy()})
    assert churned_at_last_order(subs, charges).sum() == 60
    check_churn_at_last_order(subs, charges)  # 60 of 200 hold one, each at its final charge: read
    everyone = subs.assign(churned_at=final.to_numpy())  # every customer with an order holds one: the misread
    with pytest.raises(StructuralError, match="200 of the 200 customers with an order hold one"):
        check_churn_at_last_order(everyone, charges)


def test_date_only_returns_on_the_day_of_their_order_are_read():
    """Review of round 35: a date-only export (orders and returns without a time of day) with 60% of the returns
    on the day of their order, normal for a shop, stopped ("... dated at the very instant of their order"). Now
    read (exit 0): only a shared time of day other than midnight is the order's date copied
    (`features.crossrefs.same_timed_instant`, in `returns_at_order`, which the Spark bucket step calls too)."""
    from features.validation import validate_tables

    orders = _text_orders([f"2024-01-{d:02d}" for d in range(1, 29)] * 2, customers=20)
    days = [f"2024-01-{d:02d}" for d in range(1, 29)]
    returns = pd.DataFrame(
        {
            "return_id": [f"R{i}" for i in range(25)],
            "customer_id": orders["customer_id"][:25],
            "order_id": orders["order_id"][:25],
            "returned_at": [days[i] if i < 15 else f"2024-02-{i:02d}" for i in range(25)],  # 15 same day
            "amount": "5.00",
        }
    )
    assert len(validate_tables({"orders": orders, "returns": returns}).tables["returns"]) == 25


def test_returns_dated_at_their_orders_instant_stop():
    """Returns exported with their order's date as `returned_at` (one date column in an order-level export of
    refunds, a mapping reading the order's date): every return at the very instant of its order. Was: exit 0
    (not before its order, so no rule saw it), each refund counted from its order's day on, before it happened:
    a cutoff between the two read it early, in training's features too. Now a structural error
    (`features.return_checks.check_returns_at_order`, in `judge_return_totals`; the Spark engine counts bit 1 of
    `NAMED` per bucket, `spark_orders.judge_returns`, then calls the same function: `spark_cross_stops.returns_stops`).
    Returns days after their order, and a few at its instant (a cancellation recorded with its order), are read."""
    from features.validation import validate_tables

    orders = _text_orders([f"2024-01-{d:02d} 10:00:00" for d in range(1, 29)])
    returns = pd.DataFrame(
        {
            "return_id": [f"R{i}" for i in range(20)],
            "customer_id": orders["customer_id"][:20],
            "order_id": orders["order_id"][:20],
            "returned_at": orders["ordered_at"][:20],
            "amount": "5.00",
        }
    )
    with pytest.raises(
        StructuralError, match="20 of the 20 returns naming an order in the data are dated at the"
    ):
        validate_tables({"orders": orders, "returns": returns})
    later = returns.assign(returned_at=[f"2024-02-{d:02d} 09:00:00" for d in range(1, 21)])
    assert len(validate_tables({"orders": orders, "returns": later}).tables["returns"]) == 20
    few = later.assign(returned_at=list(returns["returned_at"][:5]) + list(later["returned_at"][5:]))
    assert len(validate_tables({"orders": orders, "returns": few}).tables["returns"]) == 20


def test_the_spark_driver_gives_the_same_stops(tmp_path):
    """The Spark engine's side of round 35's stops, without a session (`tests/pipelines/spark_stop_driver.py`: the
    executors' row step, the bucket step and the aggregation in pandas, then the driver's stops): dates written
    year-day-month in part (`OTHER_DATE`, now every value not parsing), `churned_at` at each customer's last
    order (bit 1 of `AFTER_CHURN`, `churn_stops`): the pandas loader's message each; date-only, read by both
    (review of round 35). The returns at their order's
    instant are judged in a Spark join the harness does not run, the grouped ids' twins by `spark_input` after the
    tables streamed (`check_case_twins`, the one function): real loads gave the same stops (the report).
    """
    from tests.pipelines.spark_input_cases import CFG
    from tests.pipelines.spark_stop_driver import same_driver_stop

    days = pd.date_range("2024-01-01", periods=100, freq="D")
    iso = [f"{d.date()} 10:00:00" for d in days[:80]]
    ydm = [d.strftime("%Y-%d-%m 10:00:00") for d in days[80:]]
    orders = _text_orders(iso + ydm)
    (tmp_path / "ydm").mkdir()
    orders.to_csv(tmp_path / "ydm" / "orders.csv", index=False)
    same_driver_stop(tmp_path / "ydm", "written year-day-month", CFG)

    orders = _text_orders(iso, customers=25)  # `MIN_CHURN_AT_ORDER` (20) customers at it, or more
    last = orders.groupby("customer_id")["ordered_at"].max()
    (tmp_path / "churn").mkdir()
    orders.to_csv(tmp_path / "churn" / "orders.csv", index=False)
    pd.DataFrame({"customer_id": last.index, "churned_at": last.to_numpy()}).to_csv(
        tmp_path / "churn" / "customers.csv", index=False
    )
    same_driver_stop(tmp_path / "churn", "have it at the very instant of their last order", CFG)

    # review of round 35: the same export date-only (every customer cancelled on their last order's day) is read
    from pipelines.io import load_data
    from tests.pipelines.spark_stop_driver import driver_stops

    dated = _text_orders([f"{d.date()}" for d in days[:80]], customers=25)
    last = dated.groupby("customer_id")["ordered_at"].max()
    (tmp_path / "dated").mkdir()
    dated.to_csv(tmp_path / "dated" / "orders.csv", index=False)
    pd.DataFrame({"customer_id": last.index, "churned_at": last.to_numpy()}).to_csv(
        tmp_path / "dated" / "customers.csv", index=False
    )
    load_data(tmp_path / "dated")
    driver_stops(tmp_path / "dated", CFG)
