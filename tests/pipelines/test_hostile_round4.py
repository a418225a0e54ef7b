"""Hostile input classes closed in the fourth hunt: an empty `--config` or `--mapping`, ... Tiny hand-written
tables and files; no training unless a test says so."""

from __future__ import annotations

import pytest

from features.validation import StructuralError


@pytest.mark.parametrize("text", ["", "# my settings\n# horizon 90\n", "null\n", "---\n"])
def test_an_empty_config_or_mapping_file_is_refused_naming_it_not_read_as_the_defaults(tmp_path, text):
    """A user who passes `--config` means it: a file saved empty or holding only comments or `null` (was: the
    defaults, silently: a 365-day horizon where 90 was meant) exits 2 naming the file. The same for `--mapping`
    (was: pydantic's multi-line report `1 validation error for Mapping ... Input should be a valid dictionary ...
    For further information visit https://errors.pydantic.dev/...`)."""
    from pipelines.config import load_config
    from pipelines.mapping import load_mapping

    path = tmp_path / "mine.yaml"
    path.write_text(text)
    with pytest.raises(
        StructuralError, match=r"config .*mine\.yaml holds no settings .*leave the option out"
    ):
        load_config(path)
    with pytest.raises(StructuralError, match=r"mapping .*mine\.yaml holds no settings"):
        load_mapping(path)


def test_an_invalid_mapping_is_one_line_per_key_not_pydantics_report(tmp_path):
    from pipelines.mapping import load_mapping

    path = tmp_path / "map.yaml"
    path.write_text(
        "sources: {lines: {file: x.csv}}\ntables:\n  orders:\n    source: lines\n    renam: {a: b}\n"
    )
    with pytest.raises(StructuralError) as err:
        load_mapping(path)
    message = str(err.value)
    assert (
        "tables.orders.renam: unknown key" in message and "tables.orders.columns: Field required" in message
    )
    assert "\n" not in message and "pydantic" not in message


def test_a_spreadsheets_total_and_subtotal_lines_are_rejected_not_read_as_orders():
    """Excel's Data > Subtotal writes `C1 Total` in the grouped column and a `Grand Total` line; a report export
    puts `Total` in its first column; pandas' `pivot_table(margins=True)` writes `All`. Each carries the sum of the
    lines above it: was accepted as an order when it had a date (a customer's revenue doubled, or a customer
    `Grand Total` holding the company's). Ids and categories merely containing the word are kept."""
    from features.validation import validate_tables

    orders = _frame(
        order_id=["o1", "o2", "Total", "o4", "o5", "o6", "o7", "o8"],
        customer_id=["c1", "c1", "c1", "c1 Total", "Grand Total", "All", "c2", "Total Energies"],
        revenue=["10", "20", "30", "30", "60", "60", "5", "7"],
        channel=["web", "web", "", "", "", "", "Subtotal:", "Sum Ltd"],
    )
    res = validate_tables({"orders": orders})
    assert res.report["orders"].rejected_by_reason == {
        "a total or subtotal line in order_id (Total, ...)": 1,
        "a total or subtotal line in customer_id (Total, ...)": 3,
        "a total or subtotal line in channel (Total, ...)": 1,
    }
    assert res.tables["orders"]["order_id"].tolist() == ["o1", "o2", "o8"]


def _frame(**columns: list[str]):
    import pandas as pd

    n = len(next(iter(columns.values())))
    return pd.DataFrame({"ordered_at": ["2023-01-02"] * n, **columns})


def test_a_stale_model_is_named_and_refused_with_strict(trained, tmp_path):
    """A champion whose training data ends years before the as-of (a model nobody retrained, scoring data
    exported since) scored with exit 0 and not a word: the scores of a shifted copy of the demo three years on were
    the same as today's. Now a warning and `stale_model` in the manifest; `--strict` refuses before reading data."""
    from typer.testing import CliRunner

    from features.contract import model_age_note
    from pipelines.cli import app
    from tests.pipelines.score_helpers import score_cli_args

    cutoffs = ["2024-11-01", "2024-12-01"]
    assert model_age_note(cutoffs, 365, "2026-12-01", 365) is None  # a year after its labels end: fine
    note = model_age_note(cutoffs, 365, "2026-12-02", 365)
    assert note is not None and "ends on 2025-12-01" in note and "366 days before" in note
    assert model_age_note(cutoffs, 365, "2030-01-01", None) is None  # `max_model_age_days: null`: never
    assert model_age_note([], 365, "2030-01-01", 365) is None  # a model without recorded cutoffs

    out = tmp_path / "s.parquet"
    res = CliRunner().invoke(app, score_cli_args(trained, out, "2099-01-01", None, "--strict"))
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "the model is stale" in text and "scoring.max_model_age_days (365)" in text and "--strict" in text
    assert not out.exists()


def test_cost_above_revenue_on_most_orders_is_structural_not_a_company_of_losses():
    """Cost and revenue swapped (or cost 1.3 times revenue: a list price) on every order of the demo: was exit 0,
    2,190 of 3,060 customers `problem`, none great, a drift warning at scoring only (`cvp train` said nothing). A
    few orders sold below cost (clearance) are the data."""
    from features.validation import validate_tables

    swapped = _frame(order_id=["o1", "o2", "o3", "o4"], customer_id=["c1"] * 4, revenue=["6", "5", "9", "10"])
    swapped["cost"] = ["10", "8", "12", "7"]
    with pytest.raises(StructuralError, match=r"'cost': above the order's revenue on 3 of the 4 orders"):
        validate_tables({"orders": swapped})
    swapped["cost"] = ["1", "8", "12", "7"]  # two of four: not most
    assert validate_tables({"orders": swapped}).report["orders"].accepted == 4


def test_a_currency_column_naming_several_currencies_is_structural_not_ignored(tmp_path):
    """An orders export with a `Currency` column, a fifth of its rows in USD, the data read as EUR: was exit 0,
    the column listed among those "not used", every USD amount summed as euros. A column naming the configured
    currency on every row (any case, `€`) is fine."""
    from pipelines.config import load_config
    from pipelines.loading import load_configured

    rows = ["order_id,customer_id,ordered_at,revenue,Currency"]
    rows += [f"o{i},c{i % 3},2023-01-0{1 + i % 9},10,{'USD' if i % 5 == 0 else 'eur'}" for i in range(10)]
    (tmp_path / "orders.csv").write_text("\n".join(rows) + "\n")
    cfg = load_config()
    assert cfg.data.currency == "EUR"
    with pytest.raises(
        StructuralError, match=r"column 'Currency': amounts in EUR \(8 rows\), USD \(2 rows\)"
    ):
        load_configured(tmp_path, None, cfg)
    (tmp_path / "orders.csv").write_text("\n".join(r.replace("USD", "€") for r in rows) + "\n")
    assert load_configured(tmp_path, None, cfg).result.report["orders"].accepted == 10


def test_a_date_decades_before_every_other_is_a_mistyped_year_not_a_century_of_tenure():
    """`1921-01-05` among orders of 2021-2025 (a mistyped year): was accepted, the customer's tenure 37,250 days.
    Now a reject; a company whose records start years apart (more than 0.1% of the rows early) is the data."""
    from features.validation import validate_tables

    n = 200
    dates = [f"2021-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(n)]
    orders = _frame(order_id=[f"o{i}" for i in range(n)], customer_id=["c1"] * n, revenue=["10"] * n)
    orders["ordered_at"] = ["1921-01-05", *dates[1:]]
    res = validate_tables({"orders": orders})
    assert res.report["orders"].rejected_by_reason == {
        "ordered_at 5 years or more before every other (mistyped year?)": 1
    }
    orders["ordered_at"] = ["2011-01-05"] * 20 + dates[20:]  # a tenth of the rows: an older history
    assert validate_tables({"orders": orders}).report["orders"].accepted == n


def test_returns_of_one_order_adding_up_past_its_revenue_are_rejected_from_the_one_that_passes_it():
    """The same refund exported twice under two return ids (each below the order's revenue, so the single-return
    rule kept both): was accepted, the customer charged with 120 refunded on an order of 100."""
    import pandas as pd

    from features.validation import validate_tables

    orders = _frame(
        order_id=["o1", "o2", "o3"], customer_id=["c1", "c1", "c2"], revenue=["100", "100", "100"]
    )
    returns = pd.DataFrame(
        {
            "return_id": ["r2", "r1", "r3", "r4", "r5"],
            "customer_id": ["c1", "c1", "c1", "c1", "c2"],
            "order_id": ["o1", "o1", "o2", "o2", "o3"],
            "returned_at": ["2023-01-05", "2023-01-04", "2023-01-04", "2023-01-05", "2023-01-04"],
            "amount": ["60", "60", "30", "30", "100"],
        }
    )
    res = validate_tables({"orders": orders, "returns": returns})
    assert res.report["returns"].rejected_by_reason == {
        "returns of its order add up to more than the order's revenue (refunded twice?)": 1
    }
    assert res.rejects["returns"]["return_id"].tolist() == ["r2"]  # the later one, whatever the file order


def test_quantity_zero_on_many_orders_is_structural_not_their_revenue_dropped():
    """An export writing 0 for an unknown quantity (a third of the demo's orders): was 9,527 orders rejected
    `non-positive quantity`, their revenue with them, exit 0. A stray zero stays a reject."""
    from features.validation import validate_tables

    orders = _frame(order_id=[f"o{i}" for i in range(9)], customer_id=["c1"] * 9, revenue=["10"] * 9)
    orders["quantity"] = ["0", "2", "1"] * 3
    with pytest.raises(StructuralError, match=r"'quantity': 0 or negative on 3 of 9 orders"):
        validate_tables({"orders": orders})
    orders["quantity"] = ["0"] + ["1"] * 8
    assert validate_tables({"orders": orders}).report["orders"].rejected_by_reason == {
        "non-positive quantity": 1
    }


def test_a_signup_date_after_years_of_orders_does_not_make_a_customer_new():
    """`signup_at` written as a CRM's migration date (every customer created in the new system last month, their
    orders going back years): was `new` for each lapsed one, listed among the manager's new customers with a
    newcomer's lookalike score. A customer whose first order is within the window stays new."""
    import pandas as pd

    from features.early_life import early_life_features

    tables = {
        "customers": pd.DataFrame(
            {
                "customer_id": ["old", "fresh", "none"],
                "signup_at": pd.to_datetime(["2024-05-01", "2024-05-01", "2024-05-20"]),
            }
        ),
        "orders": pd.DataFrame(
            {
                "order_id": ["o1", "o2"],
                "customer_id": ["old", "fresh"],
                "ordered_at": pd.to_datetime(["2021-03-01", "2024-04-25"]),
                "revenue": [10.0, 20.0],
            }
        ),
    }
    got = early_life_features(tables, pd.Timestamp("2024-06-01"), 120, [])
    assert sorted(got.index) == ["fresh", "none"]


def test_data_currency_is_an_iso_code_in_upper_case(tmp_path):
    """`currency: eur` was another currency than a EUR model's (scoring refused: "amounts in EUR, the config says
    eur"); `currency: Euro` was accepted and printed on every amount of the pages."""
    from pipelines.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text("data: {currency: ' eur'}\n")
    assert load_config(path).data.currency == "EUR"
    path.write_text("data: {currency: Euro}\n")
    with pytest.raises(StructuralError, match=r"data.currency = 'Euro': should be a three-letter ISO 4217"):
        load_config(path)


def test_without_a_customers_table_side_tables_spelling_the_orders_ids_otherwise_are_structural():
    """No customers file; tickets name `6` for the orders' `C000006` (another export dropped the prefix and
    zeros): was exit 0, every ticket given to a customer `6` without orders, the real customers' service effort
    lost. A ticket of a customer with no order yet (another id) is still kept."""
    import pandas as pd

    from features.validation import validate_tables

    orders = _frame(
        order_id=["o1", "o2", "o3"], customer_id=["C000006", "C000020", "C000031"], revenue=["1"] * 3
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2", "t3", "t4"],
            "customer_id": ["6", "20", "31", "C000099"],
            "opened_at": ["2023-01-03"] * 4,
            "effort_minutes": ["10"] * 4,
        }
    )
    with pytest.raises(
        StructuralError, match=r"'tickets', column 'customer_id': 3 of 4 rows name a customer the "
    ):
        validate_tables({"orders": orders, "tickets": tickets})
    tickets["customer_id"] = ["C000006", "C000020", "C000031", "C000099"]
    assert validate_tables({"orders": orders, "tickets": tickets}).report["tickets"].accepted == 4


def test_returns_in_another_unit_than_their_orders_are_structural_not_all_rejected():
    """Refunds in cents against orders in units (the demo's returns x100): was every return rejected `amount
    above its order's revenue` (2,561 of 2,561), exit 0, every customer's profit overstated."""
    import pandas as pd

    from features.validation import validate_tables

    orders = _frame(
        order_id=["o1", "o2", "o3", "o4"], customer_id=["c1"] * 4, revenue=["10", "20", "30", "40"]
    )
    returns = pd.DataFrame(
        {
            "return_id": ["r1", "r2", "r3", "r4"],
            "customer_id": ["c1"] * 4,
            "order_id": ["o1", "o2", "o3", "o4"],
            "returned_at": ["2023-01-05"] * 4,
            "amount": ["500", "1000", "1500", "40"],
        }
    )
    with pytest.raises(StructuralError, match=r"'amount': above its order's revenue on 3 of the 4 returns"):
        validate_tables({"orders": orders, "returns": returns})
    returns["amount"] = ["500", "10", "15", "40"]  # one: a reject
    assert validate_tables({"orders": orders, "returns": returns}).report["returns"].accepted == 3


@pytest.mark.parametrize(("factor", "unit"), [(60, "seconds"), (1 / 60, "hours")])
def test_ticket_effort_in_seconds_or_hours_is_structural(factor, unit):
    """`effort_minutes` exported in seconds (the demo's median ticket 36 minutes read as 36 hours: every customer's
    cost to serve 60 times too large) or in hours: was exit 0 (at scoring only a model's recorded scale caught it)."""
    import pandas as pd

    from features.validation import validate_tables

    tickets = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2", "t3", "t4"],
            "customer_id": ["c1"] * 4,
            "opened_at": ["2023-01-03"] * 4,
            "effort_minutes": [f"{m * factor:g}" for m in (36, 20, 45, 0)],
        }
    )
    orders = _frame(order_id=["o1"], customer_id=["c1"], revenue=["10"])
    with pytest.raises(StructuralError, match=rf"'effort_minutes': the median ticket .* in {unit}\?"):
        validate_tables({"orders": orders, "tickets": tickets})
    tickets["effort_minutes"] = ["36", "20", "45", "0"]
    assert validate_tables({"orders": orders, "tickets": tickets}).report["tickets"].accepted == 4


def test_a_payment_or_close_dated_years_after_the_export_is_a_mistyped_year():
    """`paid_at 2099-03-01` for 2019 (or a ticket closed in 2099): was accepted, the invoice unpaid and overdue at
    every cutoff (the customer a late payer), the ticket open. A payment within the year after the last order is
    kept (an export taken after it)."""
    import pandas as pd

    from features.validation import validate_tables

    orders = _frame(order_id=["o1", "o2"], customer_id=["c1", "c2"], revenue=["10", "20"])
    invoices = pd.DataFrame(
        {
            "invoice_id": ["i1", "i2"],
            "customer_id": ["c1", "c2"],
            "issued_at": ["2023-01-02"] * 2,
            "due_at": ["2023-02-01"] * 2,
            "amount": ["10", "20"],
            "paid_at": ["2099-03-01", "2023-06-01"],
        }
    )
    res = validate_tables({"orders": orders, "invoices": invoices})
    assert res.report["invoices"].rejected_by_reason == {
        "paid_at more than a year after the last order (2023-01-02): a mistyped year?": 1
    }
