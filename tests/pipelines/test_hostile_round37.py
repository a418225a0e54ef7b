"""Round 37's hostile input: an orders export ending a year or more before the other tables. The tickets (returns,
invoices) run on past the last order; each of their rows more than a year after it was rejected "a mistyped year?"
with exit 0 and a warning, hundreds of them: the reason was wrong (an orders export that stopped, not hundreds of
typos) and the rows lost. Now a structural stop naming the table, the column, the dates and the way out
(`features.crossrefs.check_orders_ended`), both engines; a few such rows stay row rejects."""

from __future__ import annotations

import pandas as pd
import pytest

from features.validation import StructuralError
from pipelines.io import load_data
from tests.pipelines.spark_input_cases import CFG, _write
from tests.pipelines.spark_stop_driver import driver_stops

CUSTOMERS = pd.DataFrame({"customer_id": [f"C{i}" for i in range(1, 7)]})
#: a year of orders, the last on 2018-12-20
ORDERS = pd.DataFrame(
    {
        "order_id": [f"O{i}" for i in range(12)],
        "customer_id": [f"C{1 + i % 6}" for i in range(12)],
        "ordered_at": [f"2018-{m:02d}-20" for m in range(1, 13)],
        "revenue": ["10"] * 12,
    }
)


def _tickets(opened: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ticket_id": [f"T{i}" for i in range(len(opened))],
            "customer_id": [f"C{1 + i % 6}" for i in range(len(opened))],
            "opened_at": opened,
            "effort_minutes": ["5"] * len(opened),
        }
    )


#: a ticket every fortnight from 2018-01-01 for three and a half years: 39 of its 91 rows after 2019-12-21
RAN_ON = _tickets([str((pd.Timestamp("2018-01-01") + pd.Timedelta(days=14 * i)).date()) for i in range(91)])
MESSAGE = (
    r"table 'tickets', column 'opened_at': 39 of the 91 rows are dated more than a year after the last order "
    r"\(2018-12-20\), up to 2021-06-14: the orders export ends a year or more before the tickets export"
)


def test_tables_running_a_year_past_the_orders_stop_naming_the_dates_and_the_way_out(tmp_path):
    """Was: 39 tickets rejected `opened_at more than a year after the last order (2018-12-20): a mistyped year?`,
    exit 0. Now a structural error (exit 2 at the CLI) with the way out and example rows."""
    data = _write(tmp_path / "data", customers=CUSTOMERS, orders=ORDERS, tickets=RAN_ON)
    with pytest.raises(StructuralError, match=MESSAGE) as got:
        load_data(data)
    said = str(got.value)
    assert "Export the orders again for the whole period, or cut the tickets" in said
    assert "at the orders' end (2018-12-20)" in said and "Example rows" in said and "T52" in said


def test_the_spark_driver_gives_the_same_stop(tmp_path):
    """The Spark engine: from its counts per reason (the bucket step's `reject_far_future_closings`), then the
    rows on the driver (`spark_cross_stops.cross_table_stops`): the pandas loader's message."""
    data = _write(tmp_path / "data", customers=CUSTOMERS, orders=ORDERS, tickets=RAN_ON)
    with pytest.raises(StructuralError, match=MESSAGE) as expected:
        load_data(data, currency=CFG.data.currency)
    with pytest.raises(StructuralError) as got:
        driver_stops(data, CFG)
    assert str(got.value) == str(expected.value)


def test_a_few_mistyped_years_stay_row_rejects(tmp_path):
    """Three tickets dated 2098 among 60 of the orders' year: typos, each rejected as before (no stop)."""
    opened = [f"2018-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(57)] + ["2098-03-01"] * 3
    data = _write(tmp_path / "data", customers=CUSTOMERS, orders=ORDERS, tickets=_tickets(opened))
    result = load_data(data)
    reasons = result.result.rejects["tickets"]["reason"].tolist()
    assert reasons == ["opened_at more than a year after the last order (2018-12-20): a mistyped year?"] * 3
    assert len(result.tables["tickets"]) == 57
    driver_stops(data, CFG)  # nor on the Spark driver


def _invoices(issued: list[str], due: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "invoice_id": [f"I{i}" for i in range(len(issued))],
            "customer_id": [f"C{1 + i % 6}" for i in range(len(issued))],
            "issued_at": issued,
            "due_at": due,
            "amount": ["10"] * len(issued),
        }
    )


def _stays_row_rejects(data, table: str, reason: str, rejected: int, rows: int) -> None:
    result = load_data(data)
    assert result.result.rejects[table]["reason"].tolist() == [reason] * rejected
    assert len(result.tables[table]) == rows - rejected
    driver_stops(data, CFG)  # nor on the Spark driver


def test_far_due_dates_of_invoices_issued_in_the_orders_year_stay_row_rejects(tmp_path):
    """100 invoices issued in 2018, 30 of them due 2020-12-20: the due dates are the rows' own (typos, a long
    term), not an orders export that stopped. Was (round 37's first): exit 2 "the orders export ends ..."."""
    issued = [f"2018-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(100)]
    due = ["2020-12-20"] * 30 + [str((pd.Timestamp(d) + pd.Timedelta(days=30)).date()) for d in issued[30:]]
    data = _write(tmp_path / "data", customers=CUSTOMERS, orders=ORDERS, invoices=_invoices(issued, due))
    reason = "due_at more than a year after the last order (2018-12-20): a mistyped year?"
    _stays_row_rejects(data, "invoices", reason, 30, 100)


def test_a_clump_of_far_dates_with_the_year_after_the_orders_empty_stays_row_rejects(tmp_path):
    """75 tickets opened in 2018 and 25 on 2021-03-01 (a batch with a wrong year, scheduled work): nothing in the
    year after the last order, so no orders export that stopped. Was (round 37's first): exit 2."""
    opened = [f"2018-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(75)] + ["2021-03-01"] * 25
    data = _write(tmp_path / "data", customers=CUSTOMERS, orders=ORDERS, tickets=_tickets(opened))
    reason = "opened_at more than a year after the last order (2018-12-20): a mistyped year?"
    _stays_row_rejects(data, "tickets", reason, 25, 100)
