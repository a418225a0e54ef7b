"""Hostile input classes closed in the twenty-seventh hunt: invoice (refund) amounts in cents beside orders in
units, discounts as rates (notes, not stops), customer ids sharing an e-mail address. Tiny hand-written files; no training, no model, no Spark session (the Spark cases: its driver's rule
called on the batches it streams; the hunt's log holds the Spark loads of the demo)."""

from __future__ import annotations

import pandas as pd

from tests.helpers import raw_orders
from tests.pipelines.test_hostile_round24 import _folder


def _streamed(tables, parts=2):
    """The Spark driver's way, without a session: each table's batches through `StreamedCounts` (the
    accumulation of `accepted_tables`' loop), in the stream's order."""
    from pipelines.engines.spark_driver_view import StreamedCounts
    from pipelines.engines.spark_tables import SparkTables

    summed = StreamedCounts()
    for name, t in tables.items():
        for i in range(parts):
            summed.add(name, t.iloc[i * len(t) // parts : (i + 1) * len(t) // parts])
    streamed = SparkTables(
        {n: t.drop(columns=["amount", "email"], errors="ignore") for n, t in tables.items()}
    )
    streamed.positive_values, streamed.amount_totals, streamed.email_twins = summed.results()
    return streamed


def test_invoice_and_refund_amounts_in_cents_beside_orders_in_units_are_noted(tmp_path):
    """A billing system's export in cents beside a shop's orders in euros: every invoice 100 times the order it
    bills. Was: not a word (exit 0), every customer's overdue amount 100 times too large; refunds in cents without
    an `order_id` the same. Now a note of every loading command naming the table, column and factor and what to do
    (`pipelines.load_notes.amount_notes`), not a stop: a subscription business invoicing 24 times its one-off
    orders is read (the note at most). The Spark driver sums the same totals batch by batch (`StreamedCounts`)."""
    from pipelines.io import load_data
    from pipelines.load_notes import amount_notes

    orders = raw_orders(30, revenue="12.5")
    ids = {"customer_id": orders["customer_id"], "amount": ["1250"] * 30}
    invoices = pd.DataFrame(
        {"invoice_id": [f"I{i}" for i in range(30)], "issued_at": "2023-02-01", "due_at": "2023-03-01", **ids}
    )
    loaded = load_data(_folder(tmp_path / "inv", orders=orders, invoices=invoices))
    assert loaded.result.report["invoices"].accepted == 30  # read as given: a note, not a stop
    notes = amount_notes(loaded.tables)
    assert len(notes) == 1 and notes[0].startswith(
        "table 'invoices', column 'amount': 37,500.00 invoiced in all, 100 times the orders' whole revenue"
    )
    assert "written in cents (or another unit)" in notes[0] and "load again" in notes[0]
    assert amount_notes(_streamed(loaded.tables)) == notes  # the driver's streamed totals: the same note
    returns = pd.DataFrame({"return_id": [f"R{i}" for i in range(3)], "returned_at": "2023-02-01"})
    returns = returns.assign(
        customer_id=orders["customer_id"][:3], amount="1250"
    )  # a tenth refunded, in cents
    notes = amount_notes(load_data(_folder(tmp_path / "ret", orders=orders, returns=returns)).tables)
    assert len(notes) == 1 and "'returns', column 'amount': 3,750.00 refunded in all, 10 times" in notes[0]
    invoices["amount"], returns["amount"] = "15", "12.5"  # units, with tax: no note
    loaded = load_data(_folder(tmp_path / "ok", orders=orders, invoices=invoices, returns=returns))
    assert amount_notes(loaded.tables) == [] and amount_notes(_streamed(loaded.tables, 3)) == []
    invoices["amount"] = "300"  # a subscription business: 24 times its one-off orders, read, the note at most
    loaded = load_data(_folder(tmp_path / "sub", orders=orders, invoices=invoices))
    assert loaded.result.report["invoices"].accepted == 30 and len(amount_notes(loaded.tables)) <= 1


def test_a_discount_given_as_a_rate_is_noted(tmp_path):
    """`orders.discount` as the rate (0.15 for 15%) rather than the amount the contract wants, beside revenues in
    the hundreds. Was: read as amounts without a word: every discount a few cents. Now, when 99% of 20 positive
    discounts or more are at most 1 and half of those orders bring 20 or more, a note naming the share and the
    way out (`features.conventions.discount_rate_notes`, on the same streamed counts in Spark); not a stop: a 1%
    loyalty discount in cents is real and read. Discounts under 1 beside larger ones give no note."""
    from pipelines.io import load_data
    from pipelines.load_notes import amount_notes

    orders = raw_orders(30, revenue="125")
    orders["discount"] = "0.15"
    loaded = load_data(_folder(tmp_path / "rate", orders=orders))
    assert loaded.result.report["orders"].accepted == 30
    notes = amount_notes(loaded.tables)
    assert len(notes) == 1 and notes[0].startswith(
        "table 'orders', column 'discount': 30 of the 30 positive discounts (100%) are at most 1"
    )
    assert "a rate (0.15 for 15%), not an amount?" in notes[0] and "load again" in notes[0]
    assert amount_notes(_streamed(loaded.tables, 3)) == notes
    orders.loc[:9, "discount"] = "12.5"
    assert amount_notes(load_data(_folder(tmp_path / "amounts", orders=orders)).tables) == []


def test_customer_ids_sharing_an_e_mail_address_are_said_without_the_address(tmp_path):
    """The same person under two customer ids (registered twice, an account reopened): was not a word, their
    orders split between two customers. Now a note naming the ids, never the address (personal data), addresses
    compared trimmed and in lower case (`pipelines.load_notes.shared_email_notes`); each id stays a customer.
    Values without "@" ("n/a") are no address; an address of more than 5 ids (`noreply@shop.com`) is a placeholder,
    counted apart, no flood of ids. The Spark driver keeps a uint64 hash per customer as they stream
    (`StreamedCounts`, `SparkTables.email_twins`), no address."""
    from pipelines.io import load_data
    from pipelines.load_notes import shared_email_notes

    mails = ["ann@example.com", " Ann@Example.com", "bo@example.com", "", "cy@example.com", "cy@example.com"]
    mails += ["n/a"] * 8 + ["noreply@shop.com"] * 6
    customers = pd.DataFrame(
        {"customer_id": [f"C{i}" for i in range(20)], "signup_at": "2022-12-01", "email": mails}
    )
    loaded = load_data(_folder(tmp_path, orders=raw_orders(6), customers=customers))
    notes = shared_email_notes(loaded.tables)
    assert notes == [
        "4 customer ids share an e-mail address with another id ('C0' / 'C1'; 'C4' / 'C5'): one person registered "
        "twice? Each id is modelled as a customer of its own; merge them in the export if they are one",
        "6 customer ids share 1 placeholder-like e-mail address (each of more than 5 ids): not read as one person",
    ]
    streamed = _streamed({"customers": loaded.tables["customers"]}, 3)
    assert shared_email_notes(streamed) == notes
    assert streamed.email_twins is not None and "email" not in streamed["customers"].columns
    assert (
        shared_email_notes({"customers": customers.iloc[[2, 3, 4, *range(6, 14)]]}) == []
    )  # "n/a" no address
