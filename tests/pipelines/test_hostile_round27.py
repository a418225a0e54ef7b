"""Hostile input classes closed in the twenty-seventh hunt: invoice (refund) amounts in cents beside orders in
units. Tiny hand-written files; no training, no model, no Spark session (the Spark cases: its driver's rule
called on the batches it streams; the hunt's log holds the Spark loads of the demo)."""

from __future__ import annotations

import pandas as pd
import pytest

from features.validation import StructuralError
from tests.helpers import raw_orders
from tests.pipelines.test_hostile_round24 import _folder


def test_invoice_and_refund_amounts_in_cents_beside_orders_in_units_stop(tmp_path):
    """A billing system's export in cents beside a shop's orders in euros: every invoice 100 times the order it
    bills. Was: read without a word (exit 0), every customer's overdue amount 100 times too large; refunds in cents
    without an `order_id` the same (with one, `amount above its order's revenue` stopped already). Now the accepted
    totals against the orders' revenue (`features.conventions.check_amount_units`): invoiced more than 20 times
    what was sold, refunded more than was sold, stop naming the table, column and factor; the Spark driver sums
    the same totals batch by batch as its tables stream in (`amount_totals`, `SparkTables.amount_totals`)."""
    from features.conventions import amount_totals, check_amount_units
    from pipelines.io import load_data

    orders = raw_orders(30, revenue="12.5")
    ids = {"customer_id": orders["customer_id"], "amount": ["1250"] * 30}
    invoices = pd.DataFrame(
        {"invoice_id": [f"I{i}" for i in range(30)], "issued_at": "2023-02-01", "due_at": "2023-03-01", **ids}
    )
    said = (
        r"table 'invoices', column 'amount': 37,500.00 invoiced in all, 100 times the orders' whole revenue"
    )
    with pytest.raises(StructuralError, match=said):
        load_data(_folder(tmp_path / "inv", orders=orders, invoices=invoices))
    returns = pd.DataFrame({"return_id": [f"R{i}" for i in range(30)], "returned_at": "2023-02-01", **ids})
    returns["amount"] = ["1250"] * 3 + [""] * 27  # a tenth of the orders refunded whole, in cents: 10 times
    returns = returns[returns["amount"] != ""]
    with pytest.raises(
        StructuralError, match=r"'returns', column 'amount': 3,750.00 refunded in all, 10 times"
    ):
        load_data(_folder(tmp_path / "ret", orders=orders, returns=returns))
    invoices["amount"], returns["amount"] = "15", "12.5"  # units, with tax: read
    loaded = load_data(_folder(tmp_path / "ok", orders=orders, invoices=invoices, returns=returns))
    assert loaded.result.report["invoices"].accepted == 30
    tables = {name: t for name, t in loaded.tables.items() if name != "customers"}
    # the Spark driver's way: the totals of each streamed batch added up, the same rule
    halves = [amount_totals({n: t.iloc[i::2] for n, t in tables.items()}) for i in (0, 1)]
    summed = {k: (halves[0][k][0] + halves[1][k][0], halves[0][k][1] + halves[1][k][1]) for k in halves[0]}
    whole = amount_totals(tables)
    assert {k: (n, round(v, 6)) for k, (n, v) in summed.items()} == {
        k: (n, round(v, 6)) for k, (n, v) in whole.items()
    }
    summed["invoices.amount"] = (30, 100 * summed["invoices.amount"][1])
    with pytest.raises(StructuralError, match=r"'invoices', column 'amount': .* 120 times"):
        check_amount_units(summed, lambda name: tables[name])


def test_a_discount_given_as_a_rate_stops(tmp_path):
    """`orders.discount` as the rate (0.15 for 15%) rather than the amount the contract wants, beside revenues in
    the hundreds. Was: read as amounts, exit 0: every discount a few cents, every customer's discount rate near 0.
    Now, when 99% of 20 positive discounts or more are at most 1 and half of those orders bring 20 or more
    (`features.conventions.check_discount_rates`, on the same streamed counts in Spark), a stop; discounts under 1
    beside larger ones are amounts (the demo: 27% of its discounts under 1) and read."""
    from pipelines.io import load_data

    orders = raw_orders(30, revenue="125")
    orders["discount"] = "0.15"
    said = (
        r"table 'orders', column 'discount': 30 of the 30 positive discounts are at most 1 .* a rate \(0.15"
    )
    with pytest.raises(StructuralError, match=said):
        load_data(_folder(tmp_path / "rate", orders=orders))
    orders.loc[:9, "discount"] = "12.5"
    assert load_data(_folder(tmp_path / "amounts", orders=orders)).result.report["orders"].accepted == 30


def test_customer_ids_sharing_an_e_mail_address_are_said_without_the_address(tmp_path):
    """The same person under two customer ids (registered twice, an account reopened): was not a word, their
    orders split between two customers. Now a note naming the ids, never the address (personal data), addresses
    compared trimmed and in lower case (`pipelines.load_notes.shared_email_notes`); each id stays a customer. The
    Spark driver keeps no personal column: it reads the same rule on the customers as they stream
    (`SparkTables.email_twins`)."""
    from pipelines.engines.spark_tables import SparkTables
    from pipelines.io import load_data
    from pipelines.load_notes import email_twins, shared_email_notes

    customers = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(6)],
            "signup_at": "2022-12-01",
            "email": [
                "ann@example.com",
                " Ann@Example.com",
                "bo@example.com",
                "",
                "cy@example.com",
                "cy@example.com",
            ],
        }
    )
    loaded = load_data(_folder(tmp_path, orders=raw_orders(6), customers=customers))
    notes = shared_email_notes(loaded.tables)
    assert len(notes) == 1 and notes[0].startswith(
        "4 customer ids share an e-mail address with another id ('C0' / "
    )
    assert "example" not in notes[0] and "'C2'" not in notes[0] and "'C3'" not in notes[0]
    streamed = SparkTables(orders=loaded.tables["orders"])
    streamed.email_twins = email_twins(loaded.tables["customers"])
    assert shared_email_notes(streamed) == notes
    assert shared_email_notes({"customers": customers.iloc[2:5]}) == []
