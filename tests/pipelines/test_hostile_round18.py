"""Hostile input classes closed in the eighteenth hunt: a report's lines above a CSV header, a mapping filling two
contract columns from one source column or building no orders, a partitioned table directory. Tiny hand-written
files; no training, no model, no Spark session."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.validation import StructuralError
from tests.helpers import raw_orders

HEADER_LINE = (
    r"its header is line {} \(order_id, customer_id, ordered_at, revenue\), below {} line\(s\) that are no"
)


def _orders_csv(folder: Path, above: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "orders.csv"
    path.write_text(above + raw_orders(5).to_csv(index=False))
    return path


@pytest.mark.parametrize(
    ("above", "line"),
    [
        ("Orders export,generated 2025-12-31\n", 2),  # was: "the rows do not match the header (2 columns)"
        ("Orders export\n\n", 3),  # a title and a blank line: the same, "(1 columns)"
        # a sheet saved as CSV pads them with commas: was "duplicate column name(s)  in the header"
        ("Orders export,,,\n,,,\n", 3),
        ("Report,From,2021-01-01,To 2025-12-31\n", 2),  # was: "its first line is a data row ... Add one"
    ],
    ids=["title-and-date", "title-blank-line", "padded-by-a-sheet", "filter-line"],
)
def test_lines_above_the_csv_header_are_named_for_what_they_are(tmp_path, above, line):
    """An ERP, BI or spreadsheet export writing its title, export date or filter above the header: the first line
    was read as the header and the run stopped with a message about something else (rows not matching a header
    of 2 columns, "an unquoted comma?" with examples showing nothing; a duplicate column name printed as nothing;
    "the file has no header line? Add one"). Now the stop names the header's line and what to remove
    (`features.headerless.header_below`, in the header check both engines call), the lines above not shown."""
    from pipelines.io import load_data

    path = _orders_csv(tmp_path / "data", above)
    with pytest.raises(StructuralError, match=HEADER_LINE.format(line, line - 1)) as err:
        load_data(path.parent)
    assert "Orders export" not in str(err.value) and "2021-01-01" not in str(err.value)


def test_a_file_without_lines_above_its_header_still_reads(tmp_path):
    """Not over-read: a blank first line (Arrow skips it), a `sep=,` hint (its own stop), a header-less file (its
    own stop: its first line "is a data row") keep their behaviour."""
    from pipelines.io import load_data, read_file

    assert len(read_file(_orders_csv(tmp_path / "a", "\n"))) == 5
    with pytest.raises(StructuralError, match="separator hint"):
        read_file(_orders_csv(tmp_path / "b", "sep=,\n"))
    headerless = tmp_path / "c" / "orders.csv"
    headerless.parent.mkdir()
    headerless.write_text(raw_orders(5).to_csv(index=False, header=False))
    with pytest.raises(StructuralError, match="its first line is a data row, not a header"):
        load_data(headerless.parent)


@pytest.mark.parametrize(
    "text",
    [
        "Kundennr,Kanal,Typ,Betrag\n1,Email,Promo,10\n",  # a channel and a kind that are contract names
        "Kunde,Kontakt1,Kontakt2,Kontakt3\nK1,Email,Phone,Web\nK2,Phone,Email,\n",
        "Land,Art,Weg\nDE,discount,email\nFR,promo,phone\n",  # lower case, a header of three
        "Tabelle,Spalte1,Spalte2\norders,order_id,customer_id\n",  # a field list: its rows name a header
    ],
    ids=["channel-and-kind", "contact-ways", "lower-case-values", "field-list"],
)
def test_a_foreign_header_above_values_named_like_contract_columns_still_reads(tmp_path, text):
    """A mapping source's own header (`Kundennr,Kanal,Typ,Betrag`) above rows whose values are contract names
    (`Email`, `Promo`, `Phone`, `discount`: a channel, a kind): was "its header is line 2 (Email, Promo), below 1
    line(s) that are no header", the file refused. A line is a header below a preamble only when it names one
    table's id or date column and holds no value, and the first line is no header above it (fewer cells, or a
    value such as a filter's date)."""
    from pipelines.io import read_file

    path = tmp_path / "kunden.csv"
    path.write_text(text)
    frame = read_file(path)
    assert list(frame.columns) == text.split("\n")[0].split(",")
    assert len(frame) == text.count("\n") - 1


@pytest.mark.spark
def test_the_spark_engine_names_the_lines_above_a_header_the_same(tmp_path):
    """`--engine spark` reads a local CSV table through the same header check before Spark is asked anything
    (`spark_sources.read_source`); was Spark's own reading of the title as the header."""
    from pipelines.engines.spark_sources import Source, read_source

    path = _orders_csv(tmp_path / "data", "Orders export,,,\n")
    with pytest.raises(StructuralError, match=HEADER_LINE.format(2, 1)):
        read_source(None, "orders", Source(str(path), "csv", (path,)))  # type: ignore[arg-type]


def _orders_mapping(columns: dict, **tables) -> dict:
    base = {"order_id": "InvoiceNo", "customer_id": "CustomerID", "ordered_at": {"min": "InvoiceDate"}}
    orders = {"source": "lines", "derive": {"line": "Quantity * UnitPrice"}, "group_by": "InvoiceNo"}
    return {
        "sources": {"lines": {"file": "lines.csv"}},
        "tables": {"orders": orders | {"columns": base | columns}, **tables},
    }


@pytest.mark.parametrize(
    "columns",
    [
        {"revenue": {"sum": "line"}, "cost": {"sum": "line"}},  # every margin 0: every customer a problem
        {"revenue": {"sum": "line"}, "discount": {"sum": "line"}},
        {"revenue": {"sum": "line"}, "quantity": {"sum": "line"}},
    ],
    ids=["cost", "discount", "quantity"],
)
def test_a_mapping_filling_two_contract_columns_from_one_source_column_is_refused(tmp_path, columns):
    """`cost: {sum: line_revenue}` beside `revenue: {sum: line_revenue}` (a line copied without changing its
    source): was mapped as written, exit 0, every order's margin 0. Now the mapping is refused at load naming both
    columns (`pipelines.mapping.columns.one_source_per_column`)."""
    import yaml

    from pipelines.mapping import load_mapping

    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(_orders_mapping(columns), sort_keys=False))
    second = next(c for c in columns if c != "revenue")
    with pytest.raises(StructuralError, match=rf"columns 'revenue' and '{second}' are both \{{sum: line\}}"):
        load_mapping(path)


def test_columns_one_source_column_may_fill_together_are_kept():
    """An invoice due when issued, a ticket closed when opened, another aggregation of one column (`{count:
    InvoiceNo}` beside the key, `{min: D}` and `{max: D}`) and the shipped mappings stay valid."""
    from pipelines.mapping import Mapping, load_mapping

    Mapping.model_validate(_orders_mapping({"revenue": {"sum": "line"}, "quantity": {"count": "InvoiceNo"}}))
    Mapping.model_validate(
        {
            "sources": {"s": {"file": "s.csv"}},
            "tables": {
                "orders": {
                    "source": "s",
                    "columns": {"order_id": "I", "customer_id": "C", "ordered_at": "D", "revenue": "R"},
                },
                "invoices": {
                    "source": "s",
                    "columns": {
                        "invoice_id": "I",
                        "customer_id": "C",
                        "issued_at": "D",
                        "due_at": "D",
                        "amount": "R",
                    },
                },
            },
        }
    )
    for path in Path("configs/datasets").glob("*.yaml"):
        load_mapping(path)


def test_a_mapping_building_no_orders_table_says_so(tmp_path):
    """A mapping of returns only (or of no table): was "required table 'orders' is missing (expected orders.csv or
    orders.parquet)", pointing at files a mapping never reads. Now the mapping is refused naming what it builds."""
    import yaml

    from pipelines.mapping import load_mapping

    path = tmp_path / "m.yaml"
    returns = {
        "source": "lines",
        "columns": {"return_id": "I", "customer_id": "C", "returned_at": "D", "amount": "A"},
    }
    path.write_text(yaml.safe_dump({"sources": {"lines": {"file": "l.csv"}}, "tables": {"returns": returns}}))
    with pytest.raises(StructuralError, match=r"the mapping builds no orders table \(it builds: returns\)"):
        load_mapping(path)


def test_a_partitioned_table_directory_is_named_for_what_it_is(tmp_path):
    """`orders/year=2024/part-0.parquet` (Spark's `partitionBy`, a data lake's layout) given to `--engine spark`: was
    "holds 2 file(s) that are not .csv or .parquet part files: year=2024, year=2025; ... Uncompress the parts, or
    move the other files out", which would lose the folders' rows. Now the stop says the table is partitioned and
    how to write it (`spark_sources._part_files`, local and remote listings); no Spark session is needed."""
    from pipelines.engines.spark_sources import find_sources

    for year in (2024, 2025):
        folder = tmp_path / "orders" / f"year={year}"
        folder.mkdir(parents=True)
        raw_orders(3).to_parquet(folder / "part-0.parquet", index=False)
    with pytest.raises(
        StructuralError, match=r"is partitioned into folders \(year=2024, year=2025\): the values of year"
    ):
        find_sources(None, str(tmp_path))  # type: ignore[arg-type]


def test_a_where_comparing_a_csv_date_column_with_a_date_compares_instants():
    """`InvoiceDate >= '2011-01-01'` on a CSV source (every column text) compared the text: `'9/30/2010 10:00'`
    came after `'2011-01-01'` and `'2011-01-05 09:00+05:00'` was judged by its characters, rows routed by their
    first digit with exit 0 (a Parquet date column compared instants). Now an ordering comparison of a text column
    with a date literal parses both as the contract parses dates (`pipelines.mapping.expressions.as_dates`), and
    text that is no ISO date is the mapping's structural error naming the column."""
    import pandas as pd

    from pipelines.mapping.expressions import ExpressionError, evaluate, parse

    iso = pd.DataFrame({"D": ["2010-12-01 08:26", "2011-01-05 09:00+05:00", "", "2011-01-01T00:00Z"]})
    assert evaluate(parse("D >= '2011-01-01'"), iso).tolist() == [False, True, False, True]
    assert evaluate(parse("D > '2011-01-05 05:00'"), iso).tolist() == [
        False,
        False,
        False,
        False,
    ]  # 04:00 UTC
    assert evaluate(parse("'2011-01-01' <= D"), iso).tolist() == [False, True, False, True]
    us = pd.DataFrame({"D": ["12/1/2010 8:26", "9/30/2010 10:00"]})  # the UCI file's own form, as text
    with pytest.raises(
        ExpressionError, match=r"compares dates \(ISO 8601.*column 'D' holds text that is not one"
    ):
        evaluate(parse("D >= '2011-01-01'"), us)
    assert evaluate(parse("D >= '5'"), us).tolist() == [False, True]  # text with text: as before


def test_a_data_file_given_as_the_mapping_or_config_is_named_never_printed(tmp_path):
    """`--mapping customers.csv` (an option taken for another): an unquoted CSV is one YAML text, and the invalid
    mapping's message printed it whole, every customer's name, e-mail and phone with it (447 KB for 5,000 Online
    Retail lines). Now a data file's suffix, or a document that is not keys and values, is refused without its
    content, and a config given as the mapping (or the other way round) is named as such
    (`pipelines.yamlfile.read_yaml_settings`, the one reader of `--config` and `--mapping`)."""
    from tests.helpers import csv_data, cvp

    data = csv_data(tmp_path, orders=raw_orders(5))
    people = "customer_id,name,email\nC1,Ann Smith,ann.smith@example.com\nC2,Bo Li,bo.li@example.com\n"
    for name in ("customers.csv", "customers.txt"):
        (tmp_path / name).write_text(people)
        for option in ("--mapping", "--config"):
            res = cvp("validate", "--data", data, option, tmp_path / name)
            assert res.exit_code == 2, res.output
            assert "example.com" not in res.output and "Ann Smith" not in res.output
    res = cvp("validate", "--data", data, "--mapping", tmp_path / "customers.csv")
    assert "names a data file (.csv), not a mapping" in " ".join(res.output.split())
    res = cvp("validate", "--data", data, "--mapping", tmp_path / "customers.txt")
    assert "holds 84 characters of text, not settings" in " ".join(res.output.split())
    res = cvp("validate", "--data", data, "--config", Path("configs/datasets/online_retail.yaml").resolve())
    assert "is a mapping (it has sources, tables), given as --config: give it as --mapping" in " ".join(
        res.output.split()
    )


def _tickets_data(folder: Path) -> Path:
    import pandas as pd

    folder.mkdir(parents=True)
    raw_orders(10).to_csv(folder / "orders.csv", index=False)
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"T{i}" for i in range(10)],
            "customer_id": [f"C{i}" for i in range(10)],
            "opened_at": ["2023-01-20"] * 10,
            "effort_minutes": ["30", "45", "4", "60", "25", "90", "3", "40", "35", "50"],
        }
    )
    tickets.to_csv(folder / "tickets.csv", index=False)
    return folder


BOUND_STOP = (
    r"table 'tickets': 8 of 10 rows would be rejected `effort_minutes above the configured maximum 5 "
    r"\(data.max_values.tickets.effort_minutes\)`, and the table lost: the bound"
)


def test_a_sanity_bound_below_most_of_a_column_stops_not_the_table_lost(tmp_path):
    """`data.max_values: {tickets.effort_minutes: 5}` (meant as hours): 8 of 10 tickets above it were each
    rejected, the table lost with exit 0 and a warning (the demo: 686 of 701 tickets). Now a bound rejecting
    most of a table is the row rules' convention stop, naming the bound and the units
    (`features.row_rules.convention_reasons`, `BOUND_REASON`); a few values above it stay row rejects."""
    from pipelines.io import load_data

    data = _tickets_data(tmp_path / "data")
    with pytest.raises(StructuralError, match=BOUND_STOP):
        load_data(data, max_values={"tickets.effort_minutes": 5})
    loaded = load_data(data, max_values={"tickets.effort_minutes": 55})
    assert loaded.result.report["tickets"].rejected_by_reason == {
        "effort_minutes above the configured maximum 55 (data.max_values.tickets.effort_minutes)": 2
    }


@pytest.mark.spark
def test_the_spark_engine_stops_on_a_bound_below_most_of_a_column_the_same(spark, tmp_path):
    """`--engine spark` judges the bound from its counts per reason (`spark_stops`, `convention_reasons`), then
    the pandas function on the table's rows: the same message."""
    from pipelines.config import load_config
    from pipelines.engines.spark_engine import mapped_errors
    from pipelines.engines.spark_input import load_spark
    from pipelines.io import load_data

    data = _tickets_data(tmp_path / "data")
    config = tmp_path / "bound.yaml"
    config.write_text("data:\n  max_values: {tickets.effort_minutes: 5}\n")
    with pytest.raises(StructuralError, match=BOUND_STOP) as expected:
        load_data(data, max_values={"tickets.effort_minutes": 5})
    with pytest.raises(StructuralError) as got, mapped_errors():
        load_spark(spark, data, load_config(config), tmp_path / "rejects")
    assert str(got.value) == str(expected.value)
    # the same Spark session: one instant stamped on a quarter of the orders, the note of the driver's tables
    from features.stamped_dates import stamped_date_notes

    stamped = _stamped_orders(tmp_path / "stamped")
    got_loaded, _ = load_spark(spark, stamped, load_config(None), tmp_path / "stamped-rejects")
    notes = stamped_date_notes(got_loaded.tables)
    assert notes == stamped_date_notes(load_data(stamped).tables) and len(notes) == 1


def _stamped_orders(folder: Path) -> Path:
    """120 orders at their own times, 30 of them (25%) stamped `2022-01-01 00:00:00` (orders before a go-live)."""
    folder.mkdir(parents=True)
    orders = raw_orders(120)
    orders["ordered_at"] = [
        f"2022-{m:02d}-{d:02d} 10:{i % 60:02d}"
        for i, (m, d) in enumerate((1 + i // 28 % 12, 1 + i % 28) for i in range(120))
    ]
    orders.loc[:29, "ordered_at"] = "2022-01-01"
    orders.to_csv(folder / "orders.csv", index=False)
    return folder


def test_one_instant_stamped_on_many_orders_is_named_by_a_note(tmp_path):
    """The orders before a system's go-live stamped with its date (the demo: 716 of 2,980 at 2023-04-01 00:00):
    was read as given with exit 0, the history before it gone, only some returns rejected as dated before their
    order. Now every loading command's note names the instant, its share and the next most frequent
    (`features.stamped_dates`); monthly billing (twelve instants of one size) and a busy day are no stamp."""
    from features.stamped_dates import stamped_date_notes
    from tests.helpers import cvp

    res = cvp("validate", "--data", _stamped_orders(tmp_path / "data"))
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert (
        "note: orders.ordered_at: 30 of the 120 dates (25.0%) are 2022-01-01 00:00:00, one instant (1 at"
        in text
    )
    import pandas as pd

    monthly = pd.Series(pd.to_datetime([f"2022-{m:02d}-01" for m in range(1, 13)] * 10))
    busy = pd.Series(
        pd.to_datetime(["2022-11-25"] * 30 + ["2022-12-01"] * 10 + [f"2022-03-{d:02d}" for d in range(1, 29)])
    )
    for dates in (monthly, busy):
        assert stamped_date_notes({"orders": pd.DataFrame({"ordered_at": dates})}) == []


def test_a_derive_reads_the_derives_written_above_it_in_order():
    """`net: line - Discount` below `line: Quantity * UnitPrice` stopped with "column 'line' does not exist": every
    derive was evaluated on the source's columns alone. Now derives are evaluated in the order written, each
    seeing those above it; one naming a derive written below it (or itself) is a structural error saying so."""
    import pandas as pd

    from pipelines.mapping import Mapping, apply_mapping

    lines = pd.DataFrame(
        {
            "InvoiceNo": ["1", "1", "2"],
            "CustomerID": ["C1", "C1", "C2"],
            "InvoiceDate": ["2011-01-01 10:00"] * 3,
            "Quantity": ["2", "1", "3"],
            "UnitPrice": ["5", "4", "2"],
            "Discount": ["1", "0", "0.5"],
        }
    )
    raw = _orders_mapping({"revenue": {"sum": "net"}})
    raw["tables"]["orders"]["derive"] = {"line": "Quantity * UnitPrice", "net": "line - Discount"}
    tables, _, report = apply_mapping(Mapping.model_validate(raw), {"lines": lines})
    assert tables["orders"].set_index("order_id")["revenue"].to_dict() == pytest.approx({"1": 13.0, "2": 5.5})
    assert report["lines"] == {"rows_in": 3, "to orders": 3}
    assert "net" not in lines.columns and "line" not in lines.columns  # the source frame is not changed

    raw["tables"]["orders"]["derive"] = {"net": "line - Discount", "line": "Quantity * UnitPrice"}
    with pytest.raises(
        StructuralError, match=r"derive\.net = 'line - Discount' reads derive line, which is not"
    ):
        apply_mapping(Mapping.model_validate(raw), {"lines": lines})
