"""Hostile input classes closed in the thirty-sixth hunt: `orders.cost`, `orders.discount` or
`customers.acquisition_cost` alone in another unit from a day on, a table of exactly a report tool's row limit (round
35's leftovers); a contract column named with a unit after it (`cost (EUR)`). Tiny hand-written frames; no
training, no model, no Spark session (the Spark case: the driver's streamed month sums, without a session)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.validation import StructuralError
from tests.pipelines.test_hostile_round34 import _monthly_orders, _validated


def _with_costs(factor_from: dict[str, float]) -> pd.DataFrame:
    """Round 34's 200 orders over 2023-01..08 in units, a cost of 60% of the revenue and a discount of a tenth of it;
    from each month named in `factor_from` on, the cost and the discount times its factor (the revenue in units)."""
    orders = _validated(_monthly_orders({}))
    factor = pd.Series(1.0, index=orders.index)
    for start, f in factor_from.items():
        factor[orders["ordered_at"] >= start] = f
    return orders.assign(cost=0.6 * orders["revenue"] * factor, discount=0.1 * orders["revenue"] * factor)


def test_cost_or_discount_in_another_unit_from_a_month_on_are_noted():
    """The orders' cost and discount in cents from 2023-05 on, the revenue in units (a purchasing or pricing system
    migrated; round 35 left it: `features.unit_steps` judged the revenue and the invoices' and returns' amounts only).
    Was: read as given, exit 0 (the demo so from 2024-07: 1,476 of its 2,980 orders sold at 100 times their cost, under
    the half the cost-above-revenue stop needs). Now the unit-step note on `orders.cost` and `orders.discount` too
    (`features.unit_steps.STEP_COLUMNS`, the one rule). The Spark driver keeps no cost nor discount: it sums them by
    month as they stream (`StreamedCounts`, `MonthSums`), the same notes. Steady costs: no note."""
    from pipelines.engines.spark_driver_view import StreamedCounts
    from pipelines.engines.spark_tables import SparkTables
    from pipelines.load_notes import amount_notes

    orders = _with_costs({"2023-05": 100.0})
    said = [n for n in amount_notes({"orders": orders}) if "typical" in n]
    assert len(said) == 2, said
    assert said[0].startswith(
        "table 'orders', column 'cost': from 2023-05 on the typical order's cost is 100 times what it was before"
    )
    assert (
        "100 of the 200 orders with a cost from 2023-05 on" in said[0] and "in cents from then on" in said[0]
    )
    assert said[1].startswith(
        "table 'orders', column 'discount': from 2023-05 on the typical discount is 100 times"
    )
    # each column's own words for the cause and the real change (review of round 36: was the revenue's)
    assert "(a purchasing or ERP system migrated" in said[0] and "the goods really cost" in said[0]
    assert "(a pricing or shop system migrated" in said[1] and "really discounts" in said[1]
    assert not any("billing" in n or "changed what it sells" in n for n in said)
    summed = StreamedCounts()
    for part in (orders.iloc[:70], orders.iloc[70:]):  # two batches, as the driver streams them
        summed.add("orders", part)
    streamed = SparkTables({"orders": orders[["ordered_at", "revenue"]]})  # the driver's (`driver_columns`)
    streamed.month_amounts = summed.months.results()
    assert [n for n in amount_notes(streamed) if "typical" in n] == said
    assert "orders.revenue" not in streamed.month_amounts  # kept whole by the driver: not streamed twice
    assert [n for n in amount_notes({"orders": _with_costs({})}) if "typical" in n] == []


def test_acquisition_costs_in_another_unit_from_a_month_on_are_noted():
    """`customers.acquisition_cost` in cents for the customers who signed up from 2023-05 on (a marketing system's
    export migrated). Was: read as given, exit 0, every later customer's acquisition 100 times its cost in
    `cvp profile`'s payback. Now the unit-step note, the customers dated by `signup_at`, saying what reads them.
    Customers without a `signup_at` are not judged; the same costs throughout: no note."""
    from pipelines.load_notes import amount_notes

    orders = _validated(_monthly_orders({}))
    signup = pd.to_datetime(orders["ordered_at"]) - pd.Timedelta(days=1)
    cost = 40.0 + (orders.index % 7)
    customers = pd.DataFrame(
        {
            "customer_id": [f"N{i}" for i in range(len(orders))],
            "signup_at": signup,
            "acquisition_cost": cost.where(signup < "2023-05-01", cost * 100),
        }
    )
    said = [n for n in amount_notes({"orders": orders, "customers": customers}) if "typical" in n]
    assert len(said) == 1 and said[0].startswith(
        "table 'customers', column 'acquisition_cost': from 2023-05 on the typical acquisition cost is 100 times"
    )
    assert "per customer" in said[0] and "the acquisition payback (`cvp profile`) reads them so" in said[0]
    assert "(a marketing system or CRM migrated" in said[0] and "winning a customer really costs" in said[0]
    steady = customers.assign(acquisition_cost=cost)
    assert [n for n in amount_notes({"orders": orders, "customers": steady}) if "typical" in n] == []


def _orders_csv(path, n: int) -> None:
    """`n` orders of 40 customers, one every 6 hours from 2024-01-01, as `orders.csv` in `path`."""
    times = pd.date_range("2024-01-01", periods=n, freq="6h")
    pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(n)],
            "customer_id": [f"C{i % 40}" for i in range(n)],
            "ordered_at": times.strftime("%Y-%m-%d %H:%M"),
            "revenue": [f"{10 + i % 9}.50" for i in range(n)],
        }
    ).to_csv(path / "orders.csv", index=False)


def test_a_table_of_exactly_a_report_tools_row_limit_is_noted(tmp_path):
    """An export cut at a report tool's or SQL client's row limit (round 35's leftover): `orders.csv` of exactly
    1,000 rows (SQL Server Management Studio's "Select Top 1000 Rows", MySQL Workbench's LIMIT 1000), 30,000 (Power
    BI's CSV export), 100,000 (Salesforce's, Dynamics 365's export to Excel), 150,000, 1,000,000 (Metabase). Was:
    read as whole, exit 0, no word (only a spreadsheet's last row, 1,048,575 CSV rows, was judged). Now a note of
    every loading command naming the table, the count and the tool (`features.table_rows.row_cap_notes`, from the
    rows in both engines report: `pipelines.load_notes.row_cap_notes` in `print_load_report`); a mapping's
    sources are judged, not its built tables. A note, not a stop: a table may hold exactly so many rows. 999 and
    1,001 rows: no note."""
    from rich.console import Console

    from pipelines.io import load_data
    from pipelines.loading import print_load_report

    def printed(n: int) -> str:
        data = tmp_path / str(n)
        data.mkdir()
        _orders_csv(data, n)
        console = Console(record=True, width=400)
        print_load_report(load_data(data), console, None, [])
        return console.export_text()

    said = printed(1000)
    assert (
        "note: table 'orders' has exactly 1,000 rows, the row limit of SQL Server Management Studio's" in said
    )
    assert "was the export cut there?" in said
    from features.table_rows import row_cap_notes  # the rule, and its reading of a mapping's sources
    from pipelines.load_notes import row_cap_notes as load_notes_caps

    assert row_cap_notes({"orders": 999, "customers": 1001, "tickets": 29_999}) == []
    for n, tool in (
        (30_000, "Power BI's"),
        (100_000, "Salesforce"),
        (150_000, "Power BI's"),
        (10**6, "Metabase"),
    ):
        (note,) = row_cap_notes({"tickets": n})
        assert note.startswith(f"table 'tickets' has exactly {n:,} rows, the row limit of") and tool in note
    mapped = {"rows": {"orders": {"in": 1000}}, "source_rows": {"lines": {"in": 30_000}, "x": {"in": 5}}}
    (note,) = load_notes_caps(mapped)
    assert note.startswith("mapping source 'lines' has exactly 30,000 rows, the row limit of Power BI's")


def _text_orders(**extra: list[str]) -> pd.DataFrame:
    """Three orders as a CSV reads them (text), with the `extra` columns."""
    base = {
        "order_id": ["O1", "O2", "O3"],
        "customer_id": ["C1", "C2", "C1"],
        "ordered_at": ["2024-01-05", "2024-02-05", "2024-03-05"],
    }
    return pd.DataFrame(base | extra)


def test_a_contract_column_named_with_a_unit_after_it_stops():
    """A header naming a contract column with its unit, currency, zone or a remark after it, as BI tools and
    spreadsheets write them: `cost (EUR)`, `Cost €`, `cost [EUR]`, `cost_eur`, `cost in EUR`, `Revenue (EUR)`,
    `effort_minutes (min)`. Was:
    `cost (EUR)` an ordinary extra column, noted "not used" with exit 0, the cost dropped and a guessed margin read
    in its place (`Cost €` with a "did you mean" only); `Revenue (EUR)` "missing required column(s) revenue" with no
    word of it. Now a structural error naming each such column and the contract name to give it
    (`features.header.with_unit_in_name`, in `structural_checks`, both engines' header check). A contract column
    present beside such a column, a personal column so named (`name (full)`), a currency after a column of no
    amount (`region_usd`), a column of no contract name (`Shipping (EUR)`) are read as before."""
    from features.validation import validate_tables

    for header in ("cost (EUR)", "Cost €", "cost [EUR]", "cost_eur", "cost in EUR", "cost (in usd)"):
        frame = _text_orders(revenue=["10", "20", "30"], **{header: ["6.25", "12", "18"]})
        with pytest.raises(StructuralError, match=r"with a unit after the name: '.*' -> 'cost'") as stop:
            validate_tables({"orders": frame})
        assert "6.25" in str(stop.value)  # the example rows show the column named (review of round 36)
        assert "If one holds something else (a forecast, a budget, an old value)" in str(stop.value)
    with pytest.raises(StructuralError, match=r"'Revenue \(EUR\)' -> 'revenue'; rename them"):
        validate_tables({"orders": _text_orders(**{"Revenue (EUR)": ["10", "20", "30"]})})
    for header in ("ordered_at (UTC)", "ordered_at (UTC+2)", "ordered_at (local time)"):
        frame = _text_orders(revenue=["10", "20", "30"]).rename(columns={"ordered_at": header})
        with pytest.raises(StructuralError, match=r"after the name: '.*' -> 'ordered_at'"):
            validate_tables({"orders": frame})
    tickets = pd.DataFrame(
        {
            "ticket_id": ["T1"],
            "customer_id": ["C1"],
            "opened_at": ["2024-01-06"],
            "effort_minutes (min)": ["30"],
        }
    )
    with pytest.raises(StructuralError, match=r"'effort_minutes \(min\)' -> 'effort_minutes'"):
        validate_tables({"orders": _text_orders(revenue=["10", "20", "30"]), "tickets": tickets})
    fine = _text_orders(
        revenue=["10", "20", "30"], **{"revenue (gross)": ["12", "24", "36"], "Shipping (EUR)": ["1"] * 3}
    )
    assert len(validate_tables({"orders": fine}).tables["orders"]) == 3
    customers = pd.DataFrame(
        {"customer_id": ["C1", "C2"], "name (full)": ["Ann Smith", "Bo Li"], "region_usd": ["US", "US"]}
    )
    assert len(validate_tables({"orders": fine, "customers": customers}).tables["customers"]) == 2


def test_a_contract_column_named_with_a_remark_after_it_is_an_extra_column():
    """Review of round 36: the unit-in-name stop took any bracketed tail for a unit, so `churned_at (predicted)` (a
    forecast), `cost (budget)`, `segment (old)`, `discount (%)`, `quantity (pcs)` stopped with exit 2, and its only
    way out, "rename them", would have read a forecast as the actual churn date. Now only the units of the column's
    kind count (`features.header.HEADER_UNITS`: currencies after an amount, minutes or hours after an effort,
    zones after a time); any other remark names another column: read as an extra column, as on main."""
    from features.validation import validate_tables

    extra = {
        "cost (budget)": ["5", "5", "5"],
        "discount (%)": ["10", "0", "5"],
        "quantity (pcs)": ["1", "2", "1"],
    }
    orders = _text_orders(revenue=["10", "20", "30"], **extra)
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "churned_at (predicted)": ["2025-03-01", ""],
            "segment (old)": ["b2b", "b2c"],
        }
    )
    tables = validate_tables({"orders": orders, "customers": customers}).tables
    assert len(tables["orders"]) == 3 and len(tables["customers"]) == 2
    assert "churned_at" not in tables["customers"] or tables["customers"]["churned_at"].isna().all()
    assert "cost" not in tables["orders"] or tables["orders"]["cost"].isna().all()


def _orders_by_quantity(cost_per_unit: bool = False, price_per_unit: bool = False) -> pd.DataFrame:
    """30 orders at each quantity 1-6 (180), 12.00-16.00 a unit, the cost of goods 60% of the revenue; the cost
    (the revenue) divided by the quantity when given per unit."""
    quantity = np.repeat(np.arange(1, 7), 30).astype(float)
    unit_price = 12.0 + np.tile(np.arange(30), 6) % 5
    revenue = unit_price * quantity
    cost = 0.6 * revenue
    return pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(len(quantity))],
            "customer_id": [f"C{i % 25}" for i in range(len(quantity))],
            "ordered_at": pd.date_range("2024-01-01", periods=len(quantity), freq="D"),
            "revenue": revenue / quantity if price_per_unit else revenue,
            "cost": cost / quantity if cost_per_unit else cost,
            "quantity": quantity,
        }
    )


def test_a_cost_given_per_unit_is_noted():
    """`orders.cost` given per unit (an ERP's order lines: `UnitCost` mapped as the cost, not `UnitCost * Quantity`):
    each cost alone is plausible, and below the revenue. Was: read as given, exit 0, every order of several units far
    more profitable than it is (the 3,000-customer demo so: its cost share 63% at one unit, 2% at 23). Now a note of
    every loading command (`features.unit_costs.per_unit_notes`, in `load_notes.amount_notes`): the cost's share of
    the revenue falls as 1/quantity (a slope of -1 on logs; the demo's own costs: -0.02). The revenue per unit beside
    the order's cost: the note the other way round. The Spark driver, which keeps neither cost nor quantity, sums the
    shares by quantity as the orders stream (`MonthSums`, `quantity_sums`): the same note. Costs of the order: none;
    one quantity only: not judged."""
    from pipelines.engines.spark_driver_view import StreamedCounts
    from pipelines.engines.spark_tables import SparkTables
    from pipelines.load_notes import amount_notes

    def said(orders) -> list[str]:
        return [n for n in amount_notes({"orders": orders}) if "against 'quantity'" in n]

    per_unit = _orders_by_quantity(cost_per_unit=True)
    (note,) = said(per_unit)
    assert note.startswith(
        "table 'orders', columns 'cost' and 'revenue' against 'quantity': the cost's share of the revenue falls as "
        "the quantity grows (60% of the revenue at 1 unit(s), 10% at 6): the cost of one unit given as the order's "
        "cost?"
    )
    assert "`UnitCost * Quantity`" in note
    summed = StreamedCounts()
    for part in (per_unit.iloc[:100], per_unit.iloc[100:]):  # two batches, as the driver streams them
        summed.add("orders", part)
    streamed = SparkTables({"orders": per_unit[["ordered_at", "revenue"]]})  # the driver's (`driver_columns`)
    streamed.month_amounts = summed.months.results()
    assert [n for n in amount_notes(streamed) if "against 'quantity'" in n] == [note]
    (price,) = said(_orders_by_quantity(price_per_unit=True))
    assert (
        "the cost's share of the revenue grows with the quantity" in price
        and "`UnitPrice * Quantity`" in price
    )
    assert said(_orders_by_quantity()) == []
    assert said(per_unit[per_unit["quantity"] == 1]) == []


def test_a_discount_holding_the_price_before_it_is_noted():
    """`orders.discount` holding the price before the discount (a list price, the gross amount) or swapped with the
    revenue: at or above the order's revenue on most positive discounts. Was: read, exit 0, every customer's
    `price_discount_rate_365d` 50% or more (the 3,000-customer demo so: 1,948 of 1,948 customers above the
    `discount_abuse` flag's 0.4, against 0.1% with its own discounts). Now a note of every loading command
    (`features.conventions.discount_rate_notes`, from `amount_totals`' counts, which the Spark driver sums as the
    orders stream: the same note). Real discounts, a few of them half off or more: no note."""
    from features.conventions import amount_totals, discount_rate_notes
    from pipelines.engines.spark_driver_view import StreamedCounts
    from pipelines.engines.spark_tables import SparkTables
    from pipelines.load_notes import amount_notes

    orders = _with_costs({})
    gross = orders.assign(discount=orders["revenue"] + orders["discount"])
    said = [n for n in amount_notes({"orders": gross}) if "at or above their order's revenue" in n]
    assert len(said) == 1 and said[0].startswith(
        "table 'orders', column 'discount': 200 of the 200 positive discounts (100%) are at or above their order's "
        "revenue (half off or more): the price before the discount"
    )
    assert "(a trade or dealer discount off the list price" in said[0]  # a B2B shop's way out
    summed = StreamedCounts()
    for part in (gross.iloc[:90], gross.iloc[90:]):  # two batches, as the driver streams them
        summed.add("orders", part)
    streamed = SparkTables({"orders": gross[["ordered_at", "revenue"]]})
    streamed.positive_values, streamed.amount_totals, streamed.email_twins = summed.results()
    assert [n for n in amount_notes(streamed) if "at or above their order's revenue" in n] == said
    few = orders.assign(discount=orders["discount"].where(orders.index % 10 != 0, orders["revenue"] * 2))
    assert discount_rate_notes(amount_totals({"orders": few})) == []


def test_signups_stamped_with_one_instant_are_noted():
    """`customers.signup_at` stamped with a CRM's migration date on every customer it brought over (183 of 300
    at 2023-01-01 00:00). Was: read, exit 0, no word of the stamp (round 18's note judged the event tables only),
    while each customer cancelled before it was rejected `churned_at before signup_at` with all their orders (the
    3,000-customer demo so: 61 customers and 324 orders lost, 96 referrals). Now the stamped-dates note on
    `customers.signup_at` too, saying what else it costs (`features.stamped_dates.STAMPED_COLUMNS`; the Spark
    driver keeps the customers' signups and judges them on its frame). Signups spread over their days: none."""
    from features.stamped_dates import stamped_date_notes

    days = pd.date_range("2021-01-01 09:00", periods=300, freq="4D")  # to 2024-04: 183 of them before 2023
    stamped = days.where(days >= "2023-01-01", pd.Timestamp("2023-01-01"))
    customers = pd.DataFrame({"customer_id": [f"C{i}" for i in range(300)], "signup_at": stamped})
    (note,) = stamped_date_notes({"customers": customers})
    assert note.startswith(
        "customers.signup_at: 183 of the 300 dates (61.0%) are 2023-01-01 00:00:00, one instant"
    )
    assert "a customer cancelled before it rejected `churned_at before signup_at`" in note
    assert stamped_date_notes({"customers": customers.assign(signup_at=days)}) == []
