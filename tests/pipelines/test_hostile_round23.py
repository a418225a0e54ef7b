"""Hostile input classes closed in the twenty-third hunt: an export's status column marking rows as cancelled,
voided or test orders (and cancellation dates: row rejects; refunded orders kept beside a returns table), a
time-zone column naming another zone than `data.timezone`, dates with an ordinal day (`1st Jan 2023`) or written as a
quarter (`2023Q1`) among ISO dates, dates in another calendar's years (`2566-01-05`: Thai Buddhist era). Tiny
hand-written files; no training, no model, no Spark session (the Spark cases: the Spark engine's own steps, its
executors' row step and its driver's stops, called without a session; the hunt's log holds the Spark loads of the
demo that stopped as the pandas engine does)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.validation import StructuralError
from tests.helpers import MaskedRows, csv_data, orders_stats, raw_orders
from tests.pipelines.test_hostile_round19 import _sales_source


def _folder(where: Path, **tables: pd.DataFrame) -> Path:
    """`tests.helpers.csv_data` under `where`, made first (one test writes several data directories)."""
    where.mkdir(parents=True, exist_ok=True)
    return csv_data(where, **tables)


@pytest.mark.parametrize(
    ("written", "said"),
    [
        (
            ["1st Jan 2023", "2nd of February 2023", "23rd-Mar-2023", "4th March, 2023 10:15"],
            "'1st Jan 2023'",
        ),
        (
            ["2023Q1", "2023-Q2", "Q3 2023", "Q4/2023"],
            r"'2023Q1'.* 4 of them are no whole date \(a month or quarter",
        ),
    ],
)
def test_dates_with_an_ordinal_day_or_a_quarter_stop_as_dates_in_another_form(tmp_path, written, said):
    """A part of a date column written with the day's ordinal suffix (`1st Jan 2023`: a CRM's or a report's long
    date) or as a quarter (`2023Q1`, `Q1 2023`: a BI tool's period) among ISO dates. Was: each row rejected
    `ambiguous or unknown date format in ordered_at`, exit 0 (the demo with 5% of its orders so written lost 149
    orders, no stop). Now the stop for dates in another form (`features.date_forms._OTHER_DATE`, `_INCOMPLETE`:
    a quarter is no whole date, no day is guessed); a stray one stays that reject."""
    from pipelines.io import load_data

    orders = raw_orders(100)
    orders.loc[: len(written) - 1, "ordered_at"] = written
    with pytest.raises(StructuralError, match=rf"4 of 100 values are dates written in another form.*{said}"):
        load_data(_folder(tmp_path, orders=orders))
    stray = raw_orders(400)
    stray.loc[:1, "ordered_at"] = written[:2]
    loaded = load_data(_folder(tmp_path / "stray", orders=stray))
    assert loaded.result.report["orders"].rejected_by_reason == {
        "ambiguous or unknown date format in ordered_at": 2
    }


def test_a_status_column_marking_rows_as_no_sale_rejects_those_rows(tmp_path):
    """An export's status column outside the contract (Shopify's `Financial Status`, WooCommerce's `status`, an
    invoice's `void`) or a cancellation's date (`Cancelled at`) marking rows as cancelled, voided or test. Was
    (round 23's first rule): a stop on any such row, so no real shop export loaded, a return's own `refunded` and a
    shipment's `lost` included. Now each such row is a row reject naming its value and column (rows in = accepted +
    rejected), a return's `refunded` and an order's bare `lost` stand, an order marked refunded stands beside a
    returns table and is rejected without one, and most of a table so marked is `features.row_rules`' stop."""
    from pipelines.io import load_data

    orders = raw_orders(50).assign(**{"Financial Status": "paid", "cancelled_at": ""})
    orders.loc[3, "Financial Status"] = " Cancelled "
    orders.loc[4, "Financial Status"] = "lost"  # a shipment's status: stands
    orders.loc[5, "Financial Status"] = "refunded"
    orders.loc[7, "cancelled_at"] = "2023-01-09 10:00"
    report = load_data(_folder(tmp_path / "a", orders=orders)).result.report["orders"]
    assert report.rejected_by_reason == {
        "order marked 'cancelled' in Financial Status (no sale)": 1,
        "order marked 'refunded' in Financial Status (its refund is not in the data)": 1,
        "order marked 'set' in cancelled_at (no sale)": 1,
    }
    assert (report.rows_in, report.accepted) == (50, 47)
    returns = pd.DataFrame(
        {"return_id": ["R0"], "order_id": ["O5"], "customer_id": ["C5"], "returned_at": ["2023-02-01"]}
    ).assign(amount="5", status="refunded")
    invoices = pd.DataFrame(
        {
            "invoice_id": ["I0", "I1"],
            "customer_id": ["C0", "C1"],
            "issued_at": ["2023-01-01", "2023-01-02"],
            "due_at": ["2023-01-31", "2023-02-01"],
            "amount": ["10", "20"],
            "Invoice Status": ["Paid", "VOID"],
        }
    )
    loaded = load_data(_folder(tmp_path / "b", orders=orders, returns=returns, invoices=invoices))
    assert loaded.result.report["invoices"].rejected_by_reason == {
        "invoice marked 'void' in Invoice Status (no sale)": 1
    }
    assert loaded.result.report["orders"].accepted == 48  # the refunded order stands: its refund is a return
    assert "1 order marked refunded is kept: its refund is expected in the returns table" in loaded.notes
    # the status columns are read to judge the rows: not listed "not used" (was: "columns outside the contract,
    # not used: Financial Status, cancelled_at" above the rows they rejected)
    from pipelines.load_notes import ignored_columns_notes

    notes = "\n".join(ignored_columns_notes(loaded))
    assert "orders: Financial Status, cancelled_at read only to judge its rows" in notes
    assert "returns: status read only to judge its rows" in notes
    assert "invoices: Invoice Status read only to judge its rows" in notes
    assert "not used" not in notes
    assert loaded.result.report["returns"].accepted == 1
    orders["Financial Status"] = "test"
    with pytest.raises(
        StructuralError, match=r"50 of 50 rows would be rejected `order marked 'test' in Finan"
    ):
        load_data(_folder(tmp_path / "c", orders=orders))


def test_a_mapping_source_with_cancelled_rows_it_does_not_read_stops(tmp_path):
    """A shop's export read through a mapping, its `Status` column `cancelled` on some lines: the mapping names
    its tables' columns, so the status was never seen and the cancelled lines summed into orders. Now judged on
    the rows an orders, invoices or returns table keeps, as a source's currency column is; a `where` reading the
    column keeps its own rows."""
    from pipelines.io import load_data

    data, mapping = _sales_source(tmp_path / "data", ["EUR"])
    sales = pd.read_csv(data / "sales.csv", dtype=str).assign(Status="completed")
    sales.loc[5:9, "Status"] = "cancelled"
    sales.to_csv(data / "sales.csv", index=False)
    with pytest.raises(
        StructuralError,
        match=r"source sales \(sales.csv\), read as table 'orders': 5 of 100 rows are marked as no sale",
    ):
        load_data(data, mapping, currency="EUR")
    mapping.write_text(
        mapping.read_text().replace("source: sales\n", "source: sales\n    where: Status == 'completed'\n")
    )
    assert len(load_data(data, mapping, currency="EUR").tables["orders"]) == 95
    # its unread time-zone column is judged as a table's is, at each row's mapped date (was: not judged)
    sales = pd.read_csv(data / "sales.csv", dtype=str).assign(**{"Time Zone": "Etc/UTC"})
    sales.loc[10:12, "Time Zone"] = "Asia/Tokyo"
    sales.to_csv(data / "sales.csv", index=False)
    with pytest.raises(
        StructuralError, match=r"table 'orders', column 'Time Zone': 3 of 95 rows name another"
    ):
        load_data(data, mapping, currency="EUR")


def test_the_spark_engines_row_step_rejects_rows_marked_as_no_sale():
    """`--engine spark`: the executors' row step (`spark_input.check_rows`, a pandas function) gives a row a status
    column marks as no sale the pandas engine's reason (`features.validation._validate_table`), and its driver's
    zone stop (`spark_cross_stops.currency_stops`, from `CURRENCY`'s bit 2) raises the pandas engine's error. Judged
    here without a session."""
    import numpy as np

    from pipelines.engines.spark_checks import CURRENCY, REASON, TABLE
    from pipelines.engines.spark_cross_stops import currency_stops
    from pipelines.engines.spark_input import check_rows

    orders = raw_orders(20).assign(status="paid")
    orders.loc[4, "status"] = "Cancelled"
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}, currency="EUR"))
    orders.loc[5, "status"] = "refunded"
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}, currency="EUR"))
    assert out[REASON].tolist()[4:6] == [
        "order marked 'cancelled' in status (no sale)",
        "order marked 'refunded' in status (its refund is not in the data)",
    ]
    assert pd.Series(out[REASON]).notna().sum() == 2
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}, currency="EUR", refunds=True))
    assert pd.Series(out[REASON]).notna().sum() == 1  # beside a returns table: kept, counted in bit 1
    assert list(np.flatnonzero((out[CURRENCY].to_numpy() >> 1) & 1)) == [5]

    # bit 2: a time-zone column naming another zone than `data.timezone` (`features.zone_columns`)
    orders = raw_orders(20).assign(timezone="UTC")
    orders.loc[6, "timezone"] = "Asia/Tokyo"
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}, currency="EUR"))
    zoned = (out[CURRENCY].to_numpy() >> 2) & 1
    assert list(np.flatnonzero(zoned)) == [6]
    stats = pd.DataFrame({TABLE: ["orders"], "c0": [0], "c2": [1]})
    with pytest.raises(StructuralError, match=r"column 'timezone': 1 of 20 rows name another time zone"):
        currency_stops(stats, {"orders": MaskedRows(orders)}, {"orders": list(orders.columns)}, "EUR", "UTC")


@pytest.mark.parametrize("years", [["2566-01-05", "2566-02-01 10:00", "2565-12-31"], ["1444-06-10"] * 3])
def test_dates_in_years_of_another_calendar_stop(tmp_path, years):
    """Dates written in another calendar's years: a Thai locale's Buddhist era (`2566-01-05` for 2023-01-05, 543
    years ahead), a Hijri year (`1444-06-10`). Was: each row rejected `impossible date in ordered_at`, exit 0 (the
    demo with 5% of its orders so written lost 149 orders; throughout, every order, no hint). Now, on 1% of the
    column (3 rows) or more, throughout too, a structural error naming the calendars and example rows
    (`features.date_forms.check_other_calendars`); never converted. A stray one stays that reject (a mistyped
    year)."""
    from pipelines.io import load_data

    orders = raw_orders(100)
    orders.loc[:2, "ordered_at"] = years
    with pytest.raises(StructuralError, match=r"3 of 100 values are dates in years of another calendar"):
        load_data(_folder(tmp_path / "a", orders=orders))
    orders.loc[1:2, "ordered_at"] = "2023-01-05"
    report = load_data(_folder(tmp_path / "b", orders=orders)).result.report["orders"]
    assert report.rejected_by_reason == {"impossible date in ordered_at": 1}


def test_the_spark_engines_masks_count_another_calendars_dates_and_its_driver_stops():
    """`--engine spark`: the executors' row step marks a date in another calendar's year (`CALENDAR`, from
    `features.date_forms.other_calendar_dates`) and the driver's column stops (`spark_stops.table_stops`, from the
    bits' sums) raise the pandas engine's error (was: no mask, each row `impossible date`, exit 0). Judged without
    a session; a Spark load of the demo with 5% of its orders in Buddhist-era years (and throughout, and Hijri
    years, and 2% of its signups) stopped as the pandas engine does (the hunt's log, round 23)."""
    import numpy as np

    from features.contract import TABLES
    from pipelines.engines.spark_checks import CALENDAR
    from pipelines.engines.spark_input import check_rows
    from pipelines.engines.spark_stops import table_stops

    orders = raw_orders(100)
    orders.loc[[3, 5, 8], "ordered_at"] = "2566-01-05"
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}))
    names = list(orders.columns)
    at = names.index("ordered_at")
    marked = (out[CALENDAR].to_numpy() >> at) & 1
    assert list(np.flatnonzero(marked)) == [3, 5, 8]

    stats = orders_stats(names, 100, **{f"C{at}": int(marked.sum())})
    with pytest.raises(StructuralError, match=r"3 of 100 values are dates in years of another calendar"):
        table_stops(TABLES["orders"], names, stats, MaskedRows(orders, out), lambda i: None, {})


def test_a_customer_assigned_to_two_managers_at_one_instant_is_rejected_not_guessed(tmp_path):
    """Two `assignments` rows of one customer at one `assigned_at` naming two managers (a team's two owners as two
    rows, a reassignment written with the old row's date). Was: both accepted, exit 0, the owner at every later
    cutoff the one sorting last (`AM2`), and a manager change counted. Now both rows rejected `assigned to another
    manager at the same assigned_at too` (`features.assignment_ties`), in both engines' one rule site
    (`features.manager_checks.reject_assignments_outside_tenure`); one manager twice, or one later, is kept."""
    from features.assignment_ties import SAME_INSTANT
    from pipelines.io import load_data

    orders = raw_orders(6)
    customers = pd.DataFrame({"customer_id": orders["customer_id"], "account_manager_id": "AM1"})
    managers = pd.DataFrame({"account_manager_id": ["AM1", "AM2"]})
    assignments = pd.DataFrame(
        {
            "customer_id": ["C0", "C0", "C1", "C1", "C2"],
            "account_manager_id": ["AM1", "AM2", "AM1", "AM2", "AM1"],
            "assigned_at": ["2022-06-01", "2022-06-01", "2022-06-01", "2022-07-01", "2022-06-01"],
        }
    )
    tables = {
        "orders": orders,
        "customers": customers,
        "account_managers": managers,
        "assignments": assignments,
    }
    loaded = load_data(_folder(tmp_path, **tables))
    assert loaded.result.report["assignments"].rejected_by_reason == {SAME_INSTANT: 2}
    assert sorted(loaded.tables["assignments"]["customer_id"]) == ["C1", "C1", "C2"]


def test_an_event_tables_time_zone_column_naming_another_zone_stops(tmp_path):
    """An orders export writing each row's local time and, beside it, its zone's name (`timezone:
    America/New_York`): the column is outside the contract, and dates without an offset are read in
    `data.timezone`. Was: exit 0, the column listed as "not used", each such order read 5 hours off. Now a
    structural error naming the zones (`features.zone_columns`); the configured zone written otherwise (`utc`,
    `Etc/UTC` for UTC) and a customer's `Time Zone` (a CRM's profile attribute) load as before."""
    from features.zone_columns import check_zone_columns
    from pipelines.io import load_data

    orders = raw_orders(30).assign(timezone="Etc/UTC")
    orders.loc[[2, 9], "timezone"] = "America/New_York"
    with pytest.raises(
        StructuralError, match=r"column 'timezone': 2 of 30 rows name another time zone \('America/New_York'"
    ):
        load_data(_folder(tmp_path / "a", orders=orders))
    orders["timezone"] = "utc"
    customers = pd.DataFrame({"customer_id": orders["customer_id"], "Time Zone": "Europe/Berlin"})
    loaded = load_data(_folder(tmp_path / "b", orders=orders.assign(note="x"), customers=customers))
    assert len(loaded.tables["orders"]) == 30
    # the zone column is read (to judge the rows), not "not used"; the customers' `Time Zone` is not read
    from pipelines.load_notes import ignored_columns_notes

    assert ignored_columns_notes(loaded) == [
        "customers: columns outside the contract, not used: Time Zone",
        "orders: timezone read only to judge its rows (a status marking no sale, a time zone), not a model input",
        "orders: columns outside the contract, not used: note",
    ]
    # the review's probes (the rule's first form stopped on each): a sales region in a bare `zone`, the configured
    # zone's offset or another name of it (`+00:00` under UTC, `CET` under Europe/Berlin, London's winter under
    # UTC: compared by the UTC offset at the row's own time), dates carrying their own offset: all load
    probes = [
        (orders.assign(timezone=None, zone="North"), "UTC"),
        (orders.assign(timezone="+00:00"), "UTC"),
        (orders.assign(timezone="CET"), "Europe/Berlin"),
        (orders.assign(timezone="Europe/London"), "UTC"),  # raw_orders' dates are in January: GMT = UTC
        (orders.assign(timezone="Europe/London", ordered_at=orders["ordered_at"] + "T10:00:00+02:00"), "UTC"),
    ]
    for probe, zone in probes:  # the loader's check (`pipelines.io._check_columns_outside`), on the raw table
        check_zone_columns({"orders": probe}, zone)
    orders.loc[4, "timezone"] = "+01:00"  # an offset alone is a zone too; "1 row", not "(1 rows)"
    with pytest.raises(StructuralError, match=r"1 of 30 rows name another time zone \('\+01:00' \(1 row\)\)"):
        check_zone_columns({"orders": orders}, "UTC")
