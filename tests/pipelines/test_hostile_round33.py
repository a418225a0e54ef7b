"""Hostile input classes closed in the thirty-third hunt: an export's `-1` (`-99`) or nines (`9999999`) for an
unknown cost, discount, effort or amount; the revenue copied into `orders.cost`; referrals dated after the referred
customer's first order where no `signup_at` judges them. Tiny hand-written files; no training, no model, no Spark
session (the Spark cases: its row step, its bucket step and its driver's stops called without a session)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.validation import StructuralError
from tests.helpers import MaskedRows, ReasonRows, orders_stats, raw_orders, reasons_stats
from tests.pipelines.test_hostile_round24 import _folder


def _tickets(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ticket_id": [f"T{i}" for i in range(n)],
            "customer_id": [f"C{i % 6}" for i in range(n)],
            "opened_at": [f"2023-01-{i % 28 + 1:02d}" for i in range(n)],
            "effort_minutes": ["30"] * n,
        }
    )


@pytest.mark.parametrize(
    ("table", "column", "placeholder"),
    [("orders", "cost", "-1"), ("orders", "discount", "-1"), ("tickets", "effort_minutes", "-1")],
)
def test_a_negative_placeholder_on_a_share_of_a_non_negative_column_stops(table, column, placeholder):
    """`orders.cost` (or `discount`, `tickets.effort_minutes`, `invoices.amount`, `customers.acquisition_cost`)
    written `-1` for an unknown value on 1% of the rows or more (3 rows), under the half the sign convention's
    stop takes. Was: each row rejected `negative <column>` with the whole row, exit 0 (the demo with `cost` -1 on
    10% of its orders: 316 orders and their revenue gone; `effort_minutes` -1 on 2%: 15 of 701 tickets). Now a
    structural error naming the table, column, the values and example rows (`features.conventions.
    check_negative_values`); a stray one stays a row reject."""
    from features.conventions import check_negative_values
    from features.row_rules import row_rules
    from features.validation import _Rejector

    t = pd.DataFrame({column: [4.0] * 100})
    t.loc[[3, 50, 97], column] = float(placeholder)
    said = rf"table '{table}', column '{column}': negative on 3 of 100 rows \(-1 \(3\)\): an export's -1"
    with pytest.raises(StructuralError, match=said):
        check_negative_values(table, t)
    t.loc[[3, 50], column] = 4.0  # a stray one: no stop, the row's reject as before
    check_negative_values(table, t)
    full = (
        raw_orders(100).assign(revenue=10.0, cost=4.0, discount=1.0) if table == "orders" else _tickets(100)
    )
    rej = _Rejector(100)
    row_rules(table, full.assign(**{column: t[column]}), rej)
    assert pd.Series(rej.reason).value_counts().to_dict() == {f"negative {column}": 1}


@pytest.mark.parametrize(
    ("table", "column", "advice"),
    [
        (
            "invoices",
            "amount",
            r"Credit notes are not invoices: route them out with a mapping \(`where: amount",
        ),
        ("orders", "discount", r"a surcharge or fee written as a negative discount belongs in the revenue"),
    ],
)
def test_the_negative_values_stop_gives_each_columns_way_out(table, column, advice):
    """Mend of round 33: the stop advised "Export them positive" for every column, wrong for an invoices export's
    credit notes and a negative discount's surcharges. Now each column's advice (`conventions.NEGATIVE_ADVICE`),
    credit notes routed by a mapping as the revenue's stop routes refunds."""
    from features.conventions import check_negative_values

    t = pd.DataFrame({column: [-5.0, -5.0, -5.0] + [10.0] * 97})
    with pytest.raises(StructuralError, match=advice) as stop:
        check_negative_values(table, t)
    assert "Export them positive" not in str(stop.value)


def test_the_spark_engines_driver_stops_on_a_negative_placeholder_from_its_sums():
    """`--engine spark`: the executors' row step marks the negative values (`NEGATIVE`) and the driver's stops
    (`spark_stops.table_stops`, from the bits' sums, `placeholder_words.share_floor`) raise the pandas engine's error
    (was: the sums read for a column mostly negative only, each row rejected, exit 0). Judged without a session."""
    from features.contract import TABLES
    from pipelines.engines.spark_checks import NEGATIVE, REASON
    from pipelines.engines.spark_input import check_rows
    from pipelines.engines.spark_stops import table_stops

    orders = raw_orders(100).assign(cost="4")
    orders.loc[[3, 50, 97], "cost"] = "-1"
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}))
    names = list(orders.columns)
    at = names.index("cost")
    marked = (out[NEGATIVE].to_numpy() >> at) & 1
    assert list(np.flatnonzero(marked)) == [3, 50, 97]

    class Rows(MaskedRows):  # `spark_stops.TableRows`: its parsed table too
        def parsed(self) -> pd.DataFrame:
            return orders.assign(cost=pd.to_numeric(orders["cost"]), revenue=10.0)

    stats = orders_stats(names, 100, **{f"n{at}": int(marked.sum()), f"z{at}": 100})
    with pytest.raises(StructuralError, match=r"column 'cost': negative on 3 of 100 rows"):
        table_stops(TABLES["orders"], names, stats, Rows(orders, out), lambda i: None, {})
    stats = orders_stats(names, 100, **{f"n{at}": 2, f"z{at}": 100}).assign(**{REASON: None})  # two: no stop
    table_stops(TABLES["orders"], names, stats, Rows(orders, out), lambda i: None, {})


def test_nines_for_an_unknown_amount_are_rejected_and_on_a_share_stop(tmp_path):
    """`9999999` (`9999999.99`, `99999999`) written for an unknown revenue, cost, discount, quantity, invoice or
    refund amount or acquisition cost: below the sanity bounds (`data.max_values`, 1e9), so read as a customer's
    order of ten million. Was: accepted, exit 0 (the demo with `cost` 9999999 on 2% of its orders: 70 orders at a
    loss of ten million each). Now a row reject `placeholder number in <column> (...)` (`features.row_rules.nines`:
    seven nines or more before the point, zeros or nines after it) and on 1% of the table (3 rows) the row rules'
    convention stop; `999999.99` (a price) and `9999998` are read."""
    from features.row_rules import nines
    from pipelines.io import load_data

    values = pd.Series(
        [
            9999999,
            9999999.99,
            99999999.0,
            9999999.5,
            999999.99,
            9999998,
            19999999,
            np.nan,
            -9999999,
            1e300,
            1e16,
        ]
    )
    assert nines(values).tolist() == [True, True, True] + [False] * 8
    orders = raw_orders(100).assign(cost="4")
    orders.loc[[3, 50, 97], "cost"] = "9999999"
    said = r"table 'orders': 3 of 100 rows would be rejected `placeholder number in cost \(9999999: nines"
    with pytest.raises(StructuralError, match=said) as stop:
        load_data(_folder(tmp_path / "a", orders=orders))
    assert "order_id" in str(stop.value) and "O3" in str(stop.value)  # the rows' keys (review of round 33)
    orders.loc[[3, 50], "cost"] = "999999.99"
    report = load_data(_folder(tmp_path / "b", orders=orders)).result.report["orders"]
    assert report.rejected_by_reason == {
        "placeholder number in cost (9999999: nines for an unknown value)": 1
    }


def test_nines_are_judged_against_the_columns_configured_bound(tmp_path):
    """Mend of round 33: a weak currency's real price `9999999` (IDR: Rp 9.999.999), its company's bounds raised
    to the column's scale (`data.max_values` 1e13). Was: 3% of such orders stopped the run as nines, naming no
    setting; fewer were rejected. Now nines count only at or above a thousandth of the column's configured bound
    (`row_rules.NINES_OF_BOUND`), read under the raised bound, and the stop under the default bound names the
    setting to raise. The Spark engine's row step runs the same `_validate_table` with the same bounds."""
    from features.row_rules import nines
    from pipelines.io import load_data

    orders = raw_orders(100)
    orders.loc[[3, 50, 97], "revenue"] = "9999999"
    data = _folder(tmp_path, orders=orders)
    raised = {"orders.revenue": 1e13}
    assert load_data(data, max_values=raised).result.report["orders"].rejected == 0
    assert nines(pd.Series([9999999.0, 99999999999.0]), 1e13).tolist() == [False, True]
    said = (
        r"at or above 0.001 of data.max_values.orders.revenue: if they are real amounts .* raise that bound"
    )
    with pytest.raises(StructuralError, match=said):
        load_data(data, max_values={"orders.revenue": 1e9})


def test_the_spark_engines_driver_stops_on_nines_from_its_counts_per_reason():
    """`--engine spark`: the executors run the same row rules; the driver's stop (`spark_stops.table_stops`, from
    its counts per reason through `row_rules.fires`) raises the pandas engine's error. Judged without a session."""
    from features.contract import TABLES
    from features.row_rules import NINES_REASON
    from pipelines.engines.spark_stops import table_stops

    orders = raw_orders(100).assign(cost=4.0, revenue=10.0)
    orders.loc[[3, 50, 97], "cost"] = 9999999.0
    reasons = [NINES_REASON.format(column="cost") if i in (3, 50, 97) else None for i in range(100)]

    names = list(orders.columns)
    stats = reasons_stats("orders", names, reasons)
    with pytest.raises(StructuralError, match=r"3 of 100 rows would be rejected `placeholder number in cost"):
        table_stops(TABLES["orders"], names, stats, ReasonRows(orders, reasons), lambda i: None, {})


def test_a_cost_equal_to_the_revenue_on_most_orders_stops_as_a_cost_above_it(tmp_path):
    """`orders.cost` filled with the order's revenue (an export lacking the cost copies the sale's amount into it).
    Was: exit 0, every order's margin 0, every customer's profit its discounts, returns and cost to serve taken
    away (the demo so: nothing said). Now the stop of a cost above the revenue on most orders, counting costs at
    or above it (`features.conventions.no_margin`, both engines: the Spark row step's `ABOVE` mask) and saying the
    revenue looks copied; a few orders sold at cost are the data."""
    from features.contract import TABLES
    from pipelines.engines.spark_checks import ABOVE
    from pipelines.engines.spark_input import check_rows
    from pipelines.engines.spark_stops import table_stops
    from pipelines.io import load_data

    orders = raw_orders(10).assign(cost="10")
    said = (
        r"column 'cost': equal to the order's revenue on 10 of the 10 orders with both .* copied into a cost"
    )
    with pytest.raises(StructuralError, match=said):
        load_data(_folder(tmp_path / "a", orders=orders))
    orders.loc[6:, "cost"] = "4"  # 6 of 10 at cost: the stop says those bring no margin, not every order
    with pytest.raises(StructuralError, match=r"read so, those orders bring no margin.*a marketplace"):
        load_data(_folder(tmp_path / "c", orders=orders))
    orders.loc[3:, "cost"] = "4"  # three orders sold at cost: read
    assert load_data(_folder(tmp_path / "b", orders=orders)).result.report["orders"].accepted == 10

    orders = raw_orders(10).assign(cost="10")
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}))
    names = list(orders.columns)
    at = names.index("cost")
    marked = (out[ABOVE].to_numpy() >> at) & 1
    assert marked.sum() == 10  # was 0: only a cost above the revenue was marked

    class Rows(MaskedRows):
        def parsed(self) -> pd.DataFrame:
            return orders.assign(cost=10.0, revenue=10.0)

    stats = orders_stats(names, 10, **{f"a{at}": int(marked.sum()), f"w{at}": 10})
    with pytest.raises(StructuralError, match=said):
        table_stops(TABLES["orders"], names, stats, Rows(orders, out), lambda i: None, {})


def _referrals_data(tmp_path, late: list[int], signup: bool | None, days: int = 500):
    """A customers table of 6 (with or without `signup_at`; `signup` None: no customers table), an order each on
    2023-01-0<i+1>, and 5 referrals of C1..C5 by C0 dated the day of their first order, the `late` ones `days`
    after it."""
    orders = raw_orders(6)
    customers = pd.DataFrame({"customer_id": orders["customer_id"]})
    if signup:
        customers["signup_at"] = orders["ordered_at"]
    at = pd.to_datetime(orders["ordered_at"][1:]).reset_index(drop=True)
    at[late] += pd.Timedelta(days=days)
    referrals = pd.DataFrame(
        {
            "referrer_id": "C0",
            "referred_id": [f"C{i}" for i in range(1, 6)],
            "referred_at": at.dt.strftime("%F"),
        }
    )
    if signup is None:
        return _folder(tmp_path, orders=orders, referrals=referrals)
    return _folder(tmp_path, orders=orders, customers=customers, referrals=referrals)


def test_a_late_referral_is_judged_by_the_first_order_without_a_customers_table(
    tmp_path,
):
    """Mend of round 33: one rule (`referral_rules.referrals_against_signup`) dates a referral against the
    referred customer's start, their `signup_at`, else their first order. Was: with no customers table at all,
    referrals 14 days after the referred customer's first order were all accepted, exit 0 (the demo without its
    customers and managers: both engines judged only with a customers table). Now rejected by the first order,
    most of them the referrals' stop, whose text fits data without signups."""
    from features.referral_rules import AFTER_REFERRED_FIRST_ORDER
    from pipelines.io import load_data

    data = _referrals_data(tmp_path / "a", [0], signup=None, days=14)
    report = load_data(data).result.report["referrals"]
    assert report.rejected_by_reason == {AFTER_REFERRED_FIRST_ORDER: 1}
    said = r"dated after the referred customer's first order .* signup_at, else their first order\)"
    with pytest.raises(StructuralError, match=said):
        load_data(_referrals_data(tmp_path / "b", [0, 2, 4], signup=None, days=14))


@pytest.mark.parametrize("signup", [False, None])
def test_the_spark_engines_bucket_step_rejects_a_referral_after_the_first_order(tmp_path, signup):
    """`--engine spark`: the bucket step (`spark_checks.check_bucket`), where a referral's referred copy meets its
    customer's row and orders, gives the referred copy the same verdict. Run in pandas, without a session."""
    from features.contract import TABLES
    from features.referral_rules import AFTER_REFERRED_FIRST_ORDER
    from pipelines.engines.spark_checks import REF, ROLE, TABLE, VAL, _wide, bucket_rows, check_bucket
    from pipelines.engines.spark_input import check_rows
    from pipelines.engines.spark_masks import checked_columns
    from tests.pipelines.spark_stop_driver import _as_spark_reads

    data = _referrals_data(tmp_path, [0, 2], signup=signup)  # None: no customers table (the mend)
    judged, columns = [], {}
    for name in ("orders", "customers", "referrals") if signup is not None else ("orders", "referrals"):
        raw = _as_spark_reads(data / f"{name}.csv")
        columns[name] = checked_columns(TABLES[name], list(raw.columns))
        out = bucket_rows(next(check_rows(iter([raw]), name, 0, "UTC", {}, {})), name, [0])
        wide = {c: _wide(name, c) for c in out.columns if c.startswith(VAL)}
        judged.append(out.rename(columns=wide).assign(**{TABLE: name}))
    got = check_bucket(pd.concat(judged, ignore_index=True), columns, False, signup is not None)
    referred = got[(got[TABLE] == "referrals") & (got[ROLE] == 0)]
    late = referred[REF].to_numpy(dtype=object) == AFTER_REFERRED_FIRST_ORDER
    assert late.tolist() == [True, False, True, False, False]
