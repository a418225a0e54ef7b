"""Hostile input classes closed in the twenty-fourth hunt: a table given with a header and no rows (a failed export
read as "no tickets" for every customer), a status column marking most of a table as no sale with several values
(`cancelled` 30% + `voided` 25%), a CSV quoted with single quotes. Tiny hand-written files; no training, no model,
no Spark session (the Spark cases: its driver's stops called without a session; the hunt's log holds the Spark
loads of the demo that stopped as the pandas engine does)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.validation import StructuralError
from tests.helpers import MaskedRows, ReasonRows, csv_data, orders_stats, raw_orders, reasons_stats
from tests.pipelines.test_hostile_round19 import _sales_source


def _folder(where: Path, **tables: pd.DataFrame) -> Path:
    """`tests.helpers.csv_data` under `where`, made first (one test writes several data directories)."""
    where.mkdir(parents=True, exist_ok=True)
    return csv_data(where, **tables)


def test_a_source_file_with_a_header_and_no_rows_stops(tmp_path):
    """A side table (tickets, returns, invoices, referrals, assignments) or the orders given as a header line only,
    or as a Parquet file of no row, also a mapping's source file: a failed or cut export. Was: exit 0, read as "no
    tickets" for every customer (a perfect base; the orders: `validate` exit 0 on no order). Now a structural
    error naming the table and its file, and the way out: export it again, or remove the file when the company
    truly has none (`features.table_rows.check_source_rows`, both engines). The FILES are judged, not the tables a
    mapping builds: a `where` keeping no row of its table (Online Retail's lines without a cancellation) is a note
    naming the table and the `where` (the review of round 24: it stopped, naming the returns table)."""
    from pipelines.io import load_data

    orders = raw_orders(20)
    tickets = pd.DataFrame(columns=["ticket_id", "customer_id", "opened_at", "effort_minutes"])
    said = r"table 'tickets' has no usable row \(a header and no rows in tickets\.csv\).*remove the file"
    with pytest.raises(StructuralError, match=said):
        load_data(_folder(tmp_path / "csv", orders=orders, tickets=tickets))
    data = _folder(tmp_path / "parquet", orders=orders)
    tickets.to_parquet(data / "tickets.parquet", index=False)
    with pytest.raises(StructuralError, match=r"no rows in tickets\.parquet\)"):
        load_data(data)
    with pytest.raises(StructuralError, match=r"table 'orders' has no usable row \(a header and no rows in"):
        load_data(_folder(tmp_path / "orders", orders=orders.iloc[:0]))
    tickets.loc[0] = ["T1", "C1", "2023-01-05", "5"]  # one ticket: read
    assert len(load_data(_folder(tmp_path / "one", orders=orders, tickets=tickets)).tables["tickets"]) == 1

    data, mapping = _sales_source(tmp_path / "src", ["EUR"])
    returns = "  returns:\n    source: sales\n    where: Amount == 'x'\n    columns: {return_id: 'No', "
    mapping.write_text(
        mapping.read_text() + returns + "customer_id: Customer, returned_at: Date, amount: Amount}\n"
    )
    loaded = load_data(data, mapping)  # a `where` keeping no row: a note, the orders read
    assert len(loaded.tables["orders"]) == 100 and len(loaded.tables["returns"]) == 0
    assert loaded.notes == [
        "mapping table 'returns' keeps no row of its source (tables.returns.where = \"Amount == 'x'\" matched "
        "none): the data has no returns"
    ]
    pd.read_csv(data / "sales.csv").iloc[:0].to_csv(data / "sales.csv", index=False)
    said = r"mapping source 'sales' \(for table\(s\) orders, returns\) has no usable row \(a header and no rows in sales\.csv"
    with pytest.raises(StructuralError, match=said):
        load_data(data, mapping)


def test_scoring_with_a_model_trained_with_a_header_only_table_says_the_way_out_that_works():
    """Scoring with a model trained with tickets, on a tickets file of a header only: the stop said "remove the
    file", after which the model's inputs stop ("trained on data with table(s) tickets, which this data lacks").
    Now the load's error (`EmptySourceError`, which `cvp score` turns with the model's recorded inputs:
    `pipelines.engines.run.run_score`) says to export the table again or to train without it; a model without
    the table keeps the way out of training."""
    from features.table_rows import EmptySourceError, SourceRows, check_source_rows

    with pytest.raises(EmptySourceError) as caught:
        check_source_rows([SourceRows("tickets.csv", 0, True, ("tickets",))])
    assert "remove the file" in str(caught.value)
    said = str(caught.value.for_model({"orders": {"revenue": 1.0}, "tickets": {"effort_minutes": 0.9}}))
    assert "The model was trained with tickets: export the table again" in said and "remove" not in said
    assert caught.value.for_model({"orders": {"revenue": 1.0}}) is caught.value


def test_status_values_marking_most_of_a_table_as_no_sale_are_counted_together(tmp_path):
    """An export's status column marking 30% of the orders `cancelled` and 25% `voided`. Was: each value counted
    apart against the half (`features.row_rules`), no stop: exit 0 with 55% of the orders rejected. Now the no-sale
    marks of a table are judged together (`row_rules._groups`), the stop naming each reason; under half stays row
    rejects."""
    from pipelines.io import load_data

    orders = raw_orders(20).assign(status="paid")
    orders.loc[:5, "status"] = "cancelled"
    orders.loc[6:10, "status"] = "voided"
    said = r"11 of 20 rows would be rejected `order marked 'cancelled' in status \(no sale\)`, `order marked 'voided'"
    with pytest.raises(StructuralError, match=said):
        load_data(_folder(tmp_path / "most", orders=orders))
    orders.loc[9:10, "status"] = "paid"
    report = load_data(_folder(tmp_path / "few", orders=orders)).result.report["orders"]
    assert (report.rows_in, report.rejected) == (20, 9)


def test_the_spark_engines_driver_stops_on_an_empty_table_and_most_rows_marked_no_sale():
    """`--engine spark`: the driver's stops (`spark_stops.table_stops` from the counts per reason, `cross_table_stops`
    from each table's rows in) raise the pandas engine's errors (was: each no-sale value counted apart, a table of
    no row read as none). Judged without a session; Spark loads of the demo so damaged stopped as the pandas engine
    does (the hunt's log, round 24)."""
    from features.contract import TABLES
    from pipelines.engines.spark_cross_stops import cross_table_stops
    from pipelines.engines.spark_stops import table_stops

    orders = raw_orders(20)
    reasons = [None] * 9 + ["order marked 'cancelled' in status (no sale)"] * 6
    reasons += ["order marked 'voided' in status (no sale)"] * 5

    names = list(orders.columns)
    stats = reasons_stats("orders", names, reasons)
    with pytest.raises(StructuralError, match=r"11 of 20 rows would be rejected `order marked 'cancelled'"):
        table_stops(TABLES["orders"], names, stats, ReasonRows(orders, reasons), lambda i: None, {})
    files = {"orders": ("orders.csv", True), "returns": ("returns", True)}  # a directory of CSV parts
    with pytest.raises(
        StructuralError, match=r"table 'returns' has no usable row \(a header and no rows in returns\)"
    ):
        cross_table_stops(stats, {"orders": (20, 20), "returns": (0, 0)}, {}, files)
    said = r"table 'returns' has exactly 65,535 rows in returns, with its header 65,536"
    with pytest.raises(StructuralError, match=said):
        cross_table_stops(stats, {"orders": (20, 20), "returns": (65_535, 65_535)}, {}, files)
    parquet = files | {"returns": ("returns.parquet", False)}  # a Parquet source never went through a sheet
    cross_table_stops(stats, {"orders": (20, 20), "returns": (65_535, 65_535)}, {}, parquet)


@pytest.mark.parametrize("rows", [1_048_575, 65_535])
def test_a_csv_file_of_exactly_a_spreadsheets_last_row_stops(rows):
    """A CSV file of exactly 1,048,575 rows (1,048,576 with its header: Excel's and LibreOffice's last row) or
    65,535 (Excel 97-2003's): the file went through a spreadsheet that dropped every row after it (the last months,
    or some customers' orders). Was: read as it is, exit 0. Now a structural error naming the limit and the way
    out (`features.table_rows.check_source_rows`, both engines); a row more or fewer is read, and so is a Parquet
    file of that size (it never went through a sheet)."""
    from features.table_rows import SourceRows, check_source_rows

    said = rf"table 'orders' has exactly {rows:,} rows in orders.csv, with its header.*or as Parquet"
    with pytest.raises(StructuralError, match=said):
        check_source_rows(
            [SourceRows("t.csv", 5, True, ("tickets",)), SourceRows("orders.csv", rows, True, ("orders",))]
        )
    check_source_rows(
        [SourceRows("o.csv", rows - 1, True, ("orders",)), SourceRows("t.csv", rows + 1, True, ("tickets",))]
    )
    check_source_rows([SourceRows("orders.parquet", rows, False, ("orders",))])


def test_the_row_limit_judges_the_csv_files_read_not_parquet_nor_a_mappings_tables(tmp_path, monkeypatch):
    """The review of round 24: the row limit counted the tables, so a mapping's orders grouped from invoice lines
    into exactly 65,535 orders stopped (and 1,048,575 lines grouped into fewer orders did not), as did any Parquet
    file of that size. Now the CSV files read are judged: a table's CSV file and a mapping's CSV source; not a
    Parquet file, not the table a mapping builds. The limit set to 20 data rows here (`SHEET_ROW_LIMITS`)."""
    import features.table_rows as table_rows
    from pipelines.io import load_data

    monkeypatch.setattr(table_rows, "SHEET_ROW_LIMITS", {21: "a small sheet's"})
    orders = raw_orders(20)
    with pytest.raises(StructuralError, match=r"table 'orders' has exactly 20 rows in orders\.csv"):
        load_data(_folder(tmp_path / "csv", orders=orders))
    data = _folder(tmp_path / "pq", orders=orders.iloc[:1])
    orders.to_parquet(data / "orders.parquet", index=False)
    (data / "orders.csv").unlink()
    assert len(load_data(data).tables["orders"]) == 20
    data, mapping = _sales_source(tmp_path / "src", ["EUR"])
    sales = pd.read_csv(data / "sales.csv", dtype=str)
    sales.iloc[:20].to_csv(data / "sales.csv", index=False)
    with pytest.raises(
        StructuralError, match=r"mapping source 'sales' \(for table\(s\) orders\) has exactly 20"
    ):
        load_data(data, mapping)
    sales.iloc[:40].assign(
        No=[f"S{i // 2}" for i in range(40)], Customer=[f"C{i // 2}" for i in range(40)]
    ).to_csv(data / "sales.csv", index=False)
    grouped = mapping.read_text().replace(
        "    columns: {order_id: 'No'", "    group_by: 'No'\n    columns: {order_id: 'No'"
    )
    mapping.write_text(
        grouped.replace(
            "ordered_at: Date, revenue: Amount", "ordered_at: {min: Date}, revenue: {sum: Amount}"
        )
    )
    assert len(load_data(data, mapping).tables["orders"]) == 20  # 40 lines grouped into 20 orders: read


def test_a_csv_quoted_with_single_quotes_says_so(tmp_path):
    """A CSV whose fields are quoted with single quotes (`'order_id','customer_id',...`: a script's or a database
    client's quote setting). Was: "missing required column(s) ... did you mean "'order_id'" -> 'order_id'? (column
    names are case-sensitive)". Now the header check names the single quotes and the way out
    (`pipelines.csv_reading._check_single_quotes`, both engines' header check)."""
    from pipelines.io import load_data

    data = tmp_path / "data"
    data.mkdir()
    lines = ["'order_id','customer_id','ordered_at','revenue'", "'O1','C1','2023-01-05','10'"]
    (data / "orders.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(
        StructuralError, match=r"orders\.csv: the header's names are written in single quotes"
    ):
        load_data(data)
    (data / "orders.csv").write_text("order_id,customer_id,ordered_at,revenue\nO'1,C1,2023-01-05,10\n")
    assert len(load_data(data).tables["orders"]) == 1  # an apostrophe inside a value is kept


@pytest.mark.parametrize(
    ("written", "said"),
    [('="{}"', "ids written as a spreadsheet formula"), ("#REF!", "error"), ("#N/A", "error")],
)
def test_ids_written_as_a_spreadsheet_formula_on_a_share_stop(tmp_path, written, said):
    """A part of an id column written as a spreadsheet formula (`="C0042"`: a script keeping a spreadsheet's
    leading zeros; `'C0042`) or a failed formula's error (`#REF!`: a lookup whose range moved; `#N/A`: a lookup
    that found nothing, in a required id). Was: each row rejected `spreadsheet formula or text prefix in
    customer_id` (`a spreadsheet error value in ...`, `placeholder ...`), exit 0: the demo with 10% of its orders'
    customer ids written `="C000001"` lost 298 orders. Now, on 1% of the column (3 rows) or more, the numbers' stop
    (`features.number_forms.check_number_form`, `id_formula` and `sheet`: `features.ids.sheet_error_ids`; the review of
    round 24: `#N/A` on 5% was still rejects only); fewer stay row rejects."""
    from pipelines.io import load_data

    orders = raw_orders(100)
    orders.loc[:2, "customer_id"] = [written.format(c) for c in orders.loc[:2, "customer_id"]]
    with pytest.raises(StructuralError, match=rf"column 'customer_id': 3 of 100 values are .*{said}"):
        load_data(_folder(tmp_path / "a", orders=orders))
    orders.loc[2, "customer_id"] = "C1"
    report = load_data(_folder(tmp_path / "b", orders=orders)).result.report["orders"]
    assert report.rejected == 2


def test_the_spark_engines_masks_mark_ids_written_as_formulas():
    """`--engine spark`: the executors' row step marks an id written `="C1"` in `FORMULA` and `#REF!` in `SHEET`
    (`spark_masks`), which the driver's column stops sum and judge with the pandas engine's function, the ids'
    wording (`spark_stops.table_stops`)."""
    import numpy as np

    from features.contract import TABLES
    from pipelines.engines.spark_checks import FORMULA, SHEET
    from pipelines.engines.spark_input import check_rows
    from pipelines.engines.spark_stops import table_stops

    orders = raw_orders(100)
    orders.loc[[3, 5, 8], "customer_id"] = '="C1"'
    orders.loc[[4, 6, 7], "customer_id"] = ["#REF!", "#REF!", "#N/A"]  # `#N/A`: a required id's too
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}))
    names = list(orders.columns)
    at = names.index("customer_id")
    formula = (out[FORMULA].to_numpy() >> at) & 1
    assert list(np.flatnonzero(formula)) == [3, 5, 8]
    assert list(np.flatnonzero((out[SHEET].to_numpy() >> at) & 1)) == [4, 6, 7]

    stats = orders_stats(names, 100, **{f"Q{at}": int(formula.sum())})
    with pytest.raises(StructuralError, match=r"3 of 100 values are ids written as a spreadsheet formula"):
        table_stops(TABLES["orders"], names, stats, MaskedRows(orders, out), lambda i: None, {})


def test_a_refund_column_without_a_returns_table_stops(tmp_path):
    """Orders with a refund column outside the contract (Stripe's `Amount Refunded`, Shopify's `Refunded Amount`)
    holding refunds, and no returns table. Was: exit 0, the column "not used", each refunded order's whole amount
    counted as paid. Now a structural error naming the column, how many rows and the way out (a returns table, or
    the amount netted in a mapping's `derive`) (`features.refund_columns`), also on a mapping's source column it
    does not read; beside a returns table the refunds are expected there (read as before); zeros judge nothing."""
    from pipelines.io import load_data

    orders = raw_orders(20).assign(**{"Amount Refunded": "0.00"})
    orders.loc[[2, 7, 9], "Amount Refunded"] = ["10", "12,50", "$2.50"]  # the number parsers' forms count
    said = (
        r"table 'orders', column 'Amount Refunded': 3 of 20 rows hold a refund, and the data has no returns"
    )
    with pytest.raises(StructuralError, match=said):
        load_data(_folder(tmp_path / "a", orders=orders))
    few = orders.assign(**{"Amount Refunded": ["0,00"] * 19 + ["-2.50"]})  # under 3 rows (1%): a note
    assert load_data(_folder(tmp_path / "few", orders=few)).notes == [
        "table 'orders': 1 of 20 rows hold a refund in 'Amount Refunded' and the data has no returns table: the "
        "column is not read, those rows count their whole amount as paid"
    ]
    returns = pd.DataFrame({"return_id": ["R1"], "customer_id": ["C2"], "returned_at": ["2023-01-09"]})
    data = _folder(tmp_path / "b", orders=orders, returns=returns.assign(amount="10"))
    assert len(load_data(data).tables["orders"]) == 20
    zeros = orders.assign(**{"Amount Refunded": "0.00"})
    assert len(load_data(_folder(tmp_path / "c", orders=zeros)).tables["orders"]) == 20
    data, mapping = _sales_source(tmp_path / "src", ["EUR"])
    sales = pd.read_csv(data / "sales.csv", dtype=str).assign(**{"Amount Refunded": "0"})
    sales.loc[3:5, "Amount Refunded"] = "12.50"
    sales.to_csv(data / "sales.csv", index=False)
    with pytest.raises(StructuralError, match=r"column 'Amount Refunded': 3 of 100 rows hold a refund"):
        load_data(data, mapping, currency="EUR")
    sales.loc[4:5, "Amount Refunded"] = "0"
    sales.to_csv(data / "sales.csv", index=False)
    assert (
        load_data(data, mapping, currency="EUR")
        .notes[0]
        .startswith("table 'orders': 1 of 100 rows hold a refund in 'Amount Refunded'")
    )


def test_the_spark_engines_row_step_marks_refunds_without_a_returns_table():
    """`--engine spark`: the executors' row step sets `CURRENCY`'s bit 3 on a row whose refund column holds a
    refund when the data has no returns table (`features.refund_columns.refund_rows`), and the driver's stop
    (`spark_cross_stops.currency_stops`, from the bit's sum) raises the pandas engine's error. Without a session."""
    import numpy as np

    from pipelines.engines.spark_checks import CURRENCY, TABLE
    from pipelines.engines.spark_cross_stops import currency_stops
    from pipelines.engines.spark_input import check_rows

    orders = raw_orders(20).assign(**{"Refunded Amount": "0"})
    orders.loc[[4, 9, 11], "Refunded Amount"] = ["5", "5,00", "€5"]
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}, currency="EUR"))
    assert list(np.flatnonzero((out[CURRENCY].to_numpy() >> 3) & 1)) == [4, 9, 11]
    out_beside = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}, currency="EUR", refunds=True))
    assert not ((out_beside[CURRENCY].to_numpy() >> 3) & 1).any()  # beside a returns table: not marked

    stats = pd.DataFrame({TABLE: ["orders"], "c3": [3]})
    with pytest.raises(StructuralError, match=r"column 'Refunded Amount': 3 of 20 rows hold a refund"):
        currency_stops(stats, {"orders": MaskedRows(orders)}, {"orders": list(orders.columns)}, "EUR", "UTC")


def test_a_small_demo_company_writes_no_table_of_a_header_only(tmp_path):
    """`cvp generate --customers 5` drew no referral: it wrote `referrals.csv` of its header only, which the loader
    now stops on (a failed export). The demo writes no file for a side table of no row, and removes an earlier
    company's (`pipelines.demo.write.write_company`); the company loads."""
    from pipelines.demo import generate_company, write_company
    from pipelines.io import load_data

    (tmp_path / "referrals.csv").write_text("referrer_id,referred_id,referred_at\nC1,C2,2021-02-01\n")
    company = generate_company(5, "2021-01-01", "2025-12-31", 7)
    assert company.tables["referrals"].empty
    paths = write_company(company, tmp_path, fmt="csv")
    assert "referrals" not in paths and not (tmp_path / "referrals.csv").exists()
    assert len(load_data(tmp_path).tables["orders"]) == len(company.tables["orders"])


def test_a_crms_deal_stage_and_a_payments_denied_or_expired_status_mark_no_sale(tmp_path):
    """HubSpot's `Deal Stage` (`closedlost`), Dynamics 365's `Status Reason` (`Out-Sold`: a deal lost to a
    competitor), PayPal's `Denied`, Shopify's `expired` financial status (an authorization that lapsed unpaid).
    Was: the column "not used" or the value read as a sale, exit 0 (the demo with 10% of its orders `closedlost`
    counted each as revenue). Now each such row is round 23's no-sale reject (`features.sale_status.STATUS_COLUMNS`,
    `STAGE_COLUMNS`, `_NOT_A_SALE`). `expired` in a payment or financial status column only (`PAYMENT_COLUMNS`):
    in a generic `status` it may be a subscription's or a quote's after a paid sale (the review of round 24: it
    rejected those), and is read."""
    from pipelines.io import load_data

    orders = raw_orders(20).assign(
        **{
            "Deal Stage": "closedwon",
            "Payment Status": "Completed",
            "Status Reason": "Won",
            "status": "active",
        }
    )
    orders.loc[2, "Deal Stage"] = "Closed Lost"
    orders.loc[[4, 5], "Payment Status"] = ["Denied", "expired"]
    orders.loc[6, "Status Reason"] = "Out-Sold"
    orders.loc[7, "status"] = "expired"  # a subscription's: the sale stands
    report = load_data(_folder(tmp_path, orders=orders)).result.report["orders"]
    assert report.rejected_by_reason == {
        "order marked 'closed lost' in Deal Stage (no sale)": 1,
        "order marked 'denied' in Payment Status (no sale)": 1,
        "order marked 'expired' in Payment Status (no sale)": 1,
        "order marked 'out-sold' in Status Reason (no sale)": 1,
    }


@pytest.mark.parametrize(
    ("column", "written", "said"),
    [
        ("promo", ["x", "", "x"], r"The values are marks \(`x`"),
        ("discount", ["15%"] * 3, r"The values are percentages"),
    ],
)
def test_a_column_of_checkbox_marks_or_percentages_throughout_says_so(tmp_path, column, written, said):
    """A true/false column written as a spreadsheet's checkbox marks (`x` for true, empty for false) or a number
    column of percentages (`15%`) throughout. Was: "no value parses as true/false (wrong type throughout)", no
    more. Now the stop names the form (`features.unparsed_columns.wrong_type_hint`, from the first 5 given values: the rows
    the Spark engine's check gathers, so both engines say the same)."""
    from pipelines.io import load_data

    orders = raw_orders(3).assign(**{column: written})
    with pytest.raises(StructuralError, match=rf"wrong type throughout\). {said}"):
        load_data(_folder(tmp_path, orders=orders))
