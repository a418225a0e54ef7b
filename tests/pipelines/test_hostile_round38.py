"""Hostile input classes closed in the thirty-eighth hunt: a contract column named with a unit in cents, a currency
code beyond the 28 common ones in brackets or after "in", or a bare unit after an effort or a time (`cost_cents`, `cost (THB)`,
`effort_minutes_min`, `paid_at_utc`); a date column written year first with `/` throughout (`2021/25/01`), whose
hint the Spark driver judged on its first 5 values (round 37's leftovers). Tiny hand-written frames; no training, no
model; one test on the shared Spark session (the sampled training's id twins on ~200-row frames)."""

from __future__ import annotations

import pandas as pd
import pytest

from features.validation import StructuralError
from tests.pipelines.test_hostile_round36 import _text_orders


def _stop(tables: dict[str, pd.DataFrame]) -> str:
    from features.validation import validate_tables

    with pytest.raises(StructuralError) as stop:
        validate_tables(tables)
    return str(stop.value)


def _one_invoice(paid_column: str) -> pd.DataFrame:
    """One invoice of customer C1 whose payment date is in `paid_column`."""
    return pd.DataFrame(
        {
            "invoice_id": ["I1"],
            "customer_id": ["C1"],
            "issued_at": ["2024-01-05"],
            "due_at": ["2024-02-05"],
            "amount": ["10"],
            paid_column: ["2024-01-20"],
        }
    )


def test_a_contract_column_named_with_cents_another_currency_or_a_bare_unit_stops():
    """Was: `cost_cents`, `revenue (cents)`, `cost (THB)` (a currency code outside the 28 of round 36),
    `effort_minutes_min`, `paid_at_utc`, `signup_at_local` ordinary extra columns, noted "not used", exit 0 (the cost
    dropped and a guessed margin read, every invoice unpaid, tenure from the first order), or "missing required
    column(s) revenue" with no word of `Revenue in THB`. Now round 36's stop naming the column and the contract name
    (`features.header.HEADER_UNITS`: every ISO 4217 code but English words in brackets or after "in"; `BARE_UNITS`;
    both engines' header check), its way out saying amounts are in `data.currency`, not its cents."""
    for header in ("cost_cents", "cost (cents)", "cost (THB)", "Cost in PHP", "cost in VND"):
        said = _stop(
            {"orders": _text_orders(revenue=["10", "20", "30"], **{header: ["625", "1200", "1800"]})}
        )
        assert f"with a unit after the name: '{header}' -> 'cost'" in said, said
        assert "amounts in `data.currency` (not its cents)" in said and "625" in said
    said = _stop({"orders": _text_orders(**{"Revenue in THB": ["10", "20", "30"]})})
    assert "'Revenue in THB' -> 'revenue'; rename them" in said
    orders = _text_orders(revenue=["10", "20", "30"])
    tickets = pd.DataFrame(
        {
            "ticket_id": ["T1"],
            "customer_id": ["C1"],
            "opened_at": ["2024-01-06"],
            "effort_minutes_min": ["30"],
        }
    )
    assert "'effort_minutes_min' -> 'effort_minutes'" in _stop({"orders": orders, "tickets": tickets})
    invoices = _one_invoice("paid_at_utc")
    assert "'paid_at_utc' -> 'paid_at'" in _stop({"orders": orders, "invoices": invoices})
    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "signup_at_local": ["2023-01-01", "2023-02-01"]})
    assert "'signup_at_local' -> 'signup_at'" in _stop({"orders": orders, "customers": customers})


def test_other_tails_after_a_contract_name_stay_extra_columns():
    """No false stop: a code that is an English word (`cost_all`, `revenue_top`: a total of something else), an
    offset not in brackets (`paid_at - 2`), a remark (`cost (budget)`), a currency after a column of no amount
    (`region_thb`), a unit column beside its contract column (`cost` and `cost_cents`): extra columns, as before."""
    from features.validation import validate_tables

    extra = {
        "cost_all": ["5"] * 3,
        "revenue_top": ["1"] * 3,
        "cost (budget)": ["5"] * 3,
        "cost_shp": ["2"] * 3,
    }
    orders = _text_orders(revenue=["10", "20", "30"], **extra)
    invoices = _one_invoice("paid_at - 2")
    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "region_thb": ["TH", "TH"]})
    tables = validate_tables({"orders": orders, "invoices": invoices, "customers": customers}).tables
    assert len(tables["orders"]) == 3 and len(tables["invoices"]) == 1 and len(tables["customers"]) == 2
    both = _text_orders(
        revenue=["10", "20", "30"], cost=["6", "12", "18"], cost_cents=["600", "1200", "1800"]
    )
    assert validate_tables({"orders": both}).tables["orders"]["cost"].tolist() == [6.0, 12.0, 18.0]
    from features.contract import TABLES
    from features.header import with_unit_in_name

    orders = TABLES["orders"]
    for header, meant in (("cost_shp", "cost"), ("cost_svc", "cost"), ("revenue_irr", "revenue")):
        assert with_unit_in_name(orders, pd.DataFrame({header: ["1"]}), {meant: meant}) == {}, header
    assert with_unit_in_name(orders, pd.DataFrame({"cost (IRR)": ["1"]}), {"cost": "cost"}) == {
        "cost (IRR)": "cost"
    }


def _slashed(order: str, n: int = 336) -> pd.DataFrame:
    """`n` orders of 2021 (12 months of 28 days, in date order) written year/day/month or year/month/day."""
    days = [(m, d) for m in range(1, 13) for d in range(1, 29)][:n]
    text = [f"2021/{d:02d}/{m:02d}" if order == "ydm" else f"2021/{m:02d}/{d:02d}" for m, d in days]
    return pd.DataFrame(
        {"order_id": [f"O{i}" for i in range(n)], "customer_id": "C1", "ordered_at": text, "revenue": "10"}
    )


def test_dates_written_year_first_with_slashes_throughout_name_their_order():
    """`2021/25/01` (year/day/month: a writer's `yyyy/dd/MM`) or `2021/01/25` on every row. Was: "no value parses
    as a date" with the general hint and its example `'%d/%m/%Y'`, which reads none of them. Now the order the values
    show (a day above 12 in the middle, or at the end) and the format to declare
    (`features.year_day_month.slashed_dates_hint`); no day above 12: that it cannot be told. The declared format
    reads the column."""
    from features.validation import validate_tables

    said = _stop({"orders": _slashed("ydm")})
    assert "The values are written year/day/month (2021/13/01)" in said
    assert '`data.date_formats: {orders.ordered_at: "%Y/%d/%m"}`' in said and "'%d/%m/%Y'" not in said
    said = _stop({"orders": _slashed("ymd")})
    assert "The values are written year/month/day (2021/01/13)" in said and '"%Y/%m/%d"' in said
    said = _stop({"orders": _slashed("ymd", n=12)})
    assert "no day above 12 in the middle or at the end telling year/month/day from year/day/month" in said
    declared = {"orders.ordered_at": "%Y/%d/%m"}
    read = validate_tables({"orders": _slashed("ydm")}, date_formats=declared).tables["orders"]["ordered_at"]
    assert read.iloc[40] == pd.Timestamp("2021-02-13")


def test_year_first_slashed_dates_with_a_time_get_the_whole_format():
    """`2021/13/01 10:30` on every row, a placeholder (`NA`) among them. Was (the first review): `"%Y/%d/%m"` and
    "(then the time's, ` %H:%M:%S`)", neither of which reads the column. Now the whole format from the values (the
    time's parts as written), kept when a placeholder is in the column; declared, it reads every dated row."""
    from features.validation import validate_tables

    orders = _slashed("ydm", n=40)
    orders["ordered_at"] = orders["ordered_at"] + " 10:30"
    orders.loc[3, "ordered_at"] = "NA"
    said = _stop({"orders": orders})
    assert '`data.date_formats: {orders.ordered_at: "%Y/%d/%m %H:%M"}`' in said, said
    assert "The values are written year/day/month (2021/13/01 10:30)" in said and "then the time" not in said
    declared = {"orders.ordered_at": "%Y/%d/%m %H:%M"}
    read = validate_tables({"orders": orders}, date_formats=declared).tables["orders"]["ordered_at"]
    assert read.notna().sum() == 39 and str(read.max())[:16] == "2021-02-12 10:30"


def test_the_spark_driver_judges_the_slashed_form_on_more_than_five_values():
    """The Spark driver reads the first given values of a column none of which parses and stops as pandas does
    (`spark_checks.check_head`). Was: the first 5 (`2021/01/01` ... `2021/05/01`: no day above 12, the general hint
    on a column whose 13th value shows its order). Now a date column's first `HINT_VALUES` (1,000): the same words
    as pandas (`spark_checks.head_rows`: the rows `_check_throughout` reads)."""
    from features.contract import TABLES
    from pipelines.engines.spark_checks import check_head, head_rows

    read = head_rows(TABLES["orders"].column("ordered_at"))
    assert read >= 100 and head_rows(TABLES["orders"].column("revenue")) == 5
    orders = _slashed("ydm")
    raw = orders["ordered_at"].head(read)
    stats = pd.DataFrame({"g0": [len(orders)], "p0": [0]})
    with pytest.raises(StructuralError) as stop:
        check_head(TABLES["orders"], 0, raw, stats, "UTC", {})
    assert "The values are written year/day/month (2021/13/01)" in str(stop.value)
    assert str(stop.value) == _stop({"orders": orders})


@pytest.mark.spark
def test_spark_sampled_training_judges_id_twins_on_the_whole_base(spark, request):
    """`cvp train / backtest --engine spark --sample-customers N` with ids exported a second time respelled: one
    in lower case (`c0001`), one without its leading zeros (`42` for `00042`), one with its digits grouped
    (`7,007`, `7\u00a0008` with a no-break space). Was: not judged (the driver holds the sample's ids only; round 35
    judged the no-sample path), each trained as two customers, exit 0. Now a Spark aggregation over the whole base's
    ids (`spark_training.check_id_twins_spark`, before the sample is brought), worded by
    `features.crossrefs.stop_case_twins`: `check_case_twins`' stop word for word, for the customers' ids and (no
    customers table) the orders'; the ids without the respelled ones pass."""
    from types import SimpleNamespace

    from features.crossrefs import check_case_twins
    from pipelines.engines.spark_checks import TABLE, VAL
    from pipelines.engines.spark_training import check_id_twins_spark

    base = [f"C{n:04d}" for n in range(100)] + ["00042"] + [str(7000 + n) for n in range(95)]
    ids = base + ["c0001", "42", "7\u00a0008"]
    shuffled = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "2")  # 200 ids: 2 partitions, not 200 tasks a shuffle
    request.addfinalizer(lambda: spark.conf.set("spark.sql.shuffle.partitions", shuffled))
    for table, values in (("customers", ids), ("orders", ids + ids[:50]), ("customers", base)):
        frame = spark.createDataFrame(pd.DataFrame({TABLE: table, f"{table}|{VAL}customer_id": values}))
        reports = {table: SimpleNamespace(rows_in=len(values))}
        if values is base:
            check_case_twins(table, "customer_id", pd.Series(values), len(values))
            check_id_twins_spark(frame, {table}, reports)
            continue
        with pytest.raises(StructuralError) as pandas_stop:
            check_case_twins(table, "customer_id", pd.Series(values), len(values))
        with pytest.raises(StructuralError) as spark_stop:
            check_id_twins_spark(frame, {table}, reports)
        assert str(spark_stop.value) == str(pandas_stop.value)
        assert all(twin in str(spark_stop.value) for twin in ("'c0001'", "'42'", repr("7\u00a0008"))), table


def test_an_end_written_as_a_date_on_its_start_day_is_not_before_it():
    """A help desk exporting `opened_at` with its time and `closed_at` as a date (`2023-02-01 10:30`, `2023-02-01`),
    a billing system's payment or due date as a date (a bank's value date, due on receipt), a cancellation on the
    signup day. Was: each same-day end read as midnight, before its start: `closed_at before opened_at`, `paid before
    issued`, `due_at before issued_at`, `churned_at before signup_at` rejects (10 of these 40 tickets, their effort
    lost, exit 0). Now a date without its time is compared by its day (`features.row_rules.earlier_than`, the one
    row rule of both engines); an end with its time before its start, or a day before, is still rejected."""
    from features.validation import validate_tables

    orders = _text_orders(revenue=["10", "20", "30"])
    days = [f"2024-02-{d % 28 + 1:02d}" for d in range(40)]
    closed = [d if i % 4 == 0 else f"{d} 18:00" for i, d in enumerate(days)]
    closed[1], closed[2] = f"{days[1]} 09:00", days[0]  # truly before: the same day earlier, a day earlier
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"T{i}" for i in range(40)],
            "customer_id": "C1",
            "opened_at": [f"{d} 10:30" for d in days],
            "closed_at": closed,
            "effort_minutes": "30",
        }
    )
    invoices = pd.DataFrame(
        {
            "invoice_id": [f"I{i}" for i in range(40)],
            "customer_id": "C1",
            "issued_at": [f"{d} 10:30" for d in days],
            "due_at": days,
            "amount": "10",
            "paid_at": days,
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "signup_at": ["2024-01-01 09:00", "2024-01-02"],
            "churned_at": ["2024-01-01", ""],
        }
    )
    result = validate_tables(
        {"orders": orders, "tickets": tickets, "invoices": invoices, "customers": customers}
    )
    assert result.report["tickets"].rejected_by_reason == {"closed_at before opened_at": 2}
    assert result.report["invoices"].rejected_by_reason == {}
    assert result.report["customers"].rejected_by_reason == {}
    assert len(result.tables["tickets"]) == 38 and len(result.tables["invoices"]) == 40
