"""Two tables' own checks at once on two threads (issue 14, seventeenth part: `features.validation._each_table`):
the same tables, rejects and report as one after another, and the same error first when several tables are bad."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

import features.validation as validation
from features.validation import StructuralError, validate_tables

ORDERS = {
    "order_id": ["o1", "o2", "o3", "o4"],
    "customer_id": ["C1", "C2", "C1", "C9"],
    "ordered_at": ["2023-01-02", "2023-01-03", "2023-02-01", "2023-02-02"],
    "revenue": ["10", "-5", "20", "7"],
}
CUSTOMERS = {"customer_id": ["C1", "C2", "C2"], "signup_at": ["2022-01-01", "2022-02-01", "2022-03-01"]}
TICKETS = {
    "ticket_id": ["t1", "t2"],
    "customer_id": ["C1", "C1"],
    "opened_at": ["2023-01-05", "2023-01-06"],
    "kind": ["billing", "nonsense"],
    "effort_minutes": ["5", "7"],
}


def _tables(**changed: dict) -> dict[str, pd.DataFrame]:
    tables = {"customers": CUSTOMERS, "orders": ORDERS, "tickets": TICKETS} | changed
    return {name: pd.DataFrame(columns) for name, columns in tables.items()}


def _equal(a, b) -> None:
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
        pd.testing.assert_frame_equal(a.rejects[name], b.rejects[name])
        assert a.report[name] == b.report[name]


def test_two_threads_check_other_tables_beside_each_other_with_the_same_result(monkeypatch):
    where: dict[str, str] = {}
    both_running = threading.Barrier(2, timeout=20)
    inner = validation._validate_table

    def recorded(table, frame, *args, **kwargs):
        where[table.name] = threading.current_thread().name
        if table.name in ("customers", "orders"):
            both_running.wait()  # the first two tables are checked at the same time, or this times out
        return inner(table, frame, *args, **kwargs)

    monkeypatch.setattr(validation, "_validate_table", recorded)
    two = validate_tables(_tables(), threads=2)
    assert set(where.values()) <= {f"validate_{i}" for i in range(2)}, where
    monkeypatch.setattr(validation, "_validate_table", inner)
    one = validate_tables(_tables(), threads=1)
    _equal(one, two)
    assert two.report["orders"].rejected_by_reason == {"negative revenue": 1, "unknown customer_id": 1}
    assert two.report["customers"].rejected_by_reason == {"duplicate customer_id": 1}


@pytest.mark.parametrize("threads", [1, 2])
def test_of_two_bad_tables_the_first_stops_even_when_the_later_fails_first(threads, monkeypatch):
    """customers and tickets both structurally bad: the customers' error, as when the tables ran in order, even
    when the tickets' check is done long before the customers' (the verdicts are read in the tables' order)."""
    inner = validation._validate_table
    tickets_failed = threading.Event()

    def slow_customers(table, frame, *args, **kwargs):
        if table.name == "customers" and threads > 1:
            assert tickets_failed.wait(20), "the tickets were not checked beside the customers"
        try:
            return inner(table, frame, *args, **kwargs)
        finally:
            if table.name == "tickets":
                tickets_failed.set()

    monkeypatch.setattr(validation, "_validate_table", slow_customers)
    bad = _tables(
        customers={"customer_id": ["C1", "C2"], "signup_at": ["not a date", "never"]},
        tickets={**TICKETS, "effort_minutes": ["lots", "many"]},
    )
    with pytest.raises(StructuralError, match="'customers', column 'signup_at'"):
        validate_tables(bad, threads=threads)
    assert not [t for t in threading.enumerate() if t.name.startswith("validate")]  # no thread left running
    bad_tickets_only = _tables(tickets={**TICKETS, "effort_minutes": ["lots", "many"]})
    with pytest.raises(StructuralError, match="'tickets', column 'effort_minutes'"):
        validate_tables(bad_tickets_only, threads=threads)


def test_a_table_taken_from_the_mapping_in_order_on_the_callers_thread():
    """A `ReadAhead` checks a table (its currency) when it is first asked for: on the caller's thread, in order."""
    asked: list[tuple[str, str]] = []

    class Recorded(dict):
        def __getitem__(self, name):
            asked.append((name, threading.current_thread().name))
            return super().__getitem__(name)

    validate_tables(Recorded(_tables()), threads=2)
    caller = threading.current_thread().name
    assert asked[:3] == [(name, caller) for name in ("customers", "orders", "tickets")]
    assert {thread for _, thread in asked} == {caller}  # (the rejects take their rows as read later)
