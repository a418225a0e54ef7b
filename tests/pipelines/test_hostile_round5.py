"""Hostile input classes closed in the fifth hunt: a table given in a form not read (`customers.csv.gz`,
`customers.xlsx`), mapping expressions too long or too deeply nested, a file whose first line is a data row.
Tiny hand-written files; no training."""

from __future__ import annotations

import gzip
import io

import pandas as pd
import pytest

from features.validation import StructuralError

ORDERS = "order_id,customer_id,ordered_at,revenue\nO1,C1,2023-01-05,10.5\nO2,C2,2023-01-06,20\n"


@pytest.mark.parametrize(
    "name", ["customers.csv.gz", "customers.xlsx", "Customers.CSV.zip", "customers.json", "customers.tsv"]
)
def test_a_table_given_compressed_or_as_a_spreadsheet_is_refused_not_skipped(tmp_path, name):
    """`customers.csv.gz`, `customers.xlsx` (was: a note among the files not read, and every command ran without
    the customers table, exit 0). Beside `customers.csv` it is a second file of the table."""
    from pipelines.io import find_table_files

    (tmp_path / "orders.csv").write_text(ORDERS)
    (tmp_path / name).write_bytes(gzip.compress(b"customer_id\nC1\n"))
    with pytest.raises(
        StructuralError, match=r"looks like the 'customers' table, but .*(uncompress|save it)"
    ):
        find_table_files(tmp_path, [])
    (tmp_path / "customers.csv").write_text("customer_id\nC1\nC2\n")
    with pytest.raises(StructuralError, match=r"table 'customers' has two files: customers\.csv and "):
        find_table_files(tmp_path, [])


def test_a_table_file_name_that_is_a_directory_of_part_files_is_named_so(tmp_path):
    """`orders.csv/` holding `part-00000.csv` (a Spark or Hadoop export) was listed as the orders table and then
    failed to read with Python's `IsADirectoryError`; the Spark engine, which reads part files, still takes it."""
    from pipelines.io import find_table_files

    (tmp_path / "orders.csv").mkdir()
    (tmp_path / "orders.csv" / "part-00000.csv").write_text(ORDERS)
    with pytest.raises(StructuralError, match=r"orders\.csv in .* is a directory \(a Spark or Hadoop output"):
        find_table_files(tmp_path, [])
    assert find_table_files(tmp_path, [], table_dirs=True) == {"orders": tmp_path / "orders.csv"}


def test_backups_and_lock_files_stay_notes(tmp_path):
    from pipelines.io import find_table_files

    (tmp_path / "orders.csv").write_text(ORDERS)
    for name in (".~lock.orders.csv#", "~$customers.xlsx", "orders.csv.bak", "orders.txt"):
        (tmp_path / name).write_text("x\n")
    assert list(find_table_files(tmp_path, [])) == ["orders"]


@pytest.mark.parametrize(
    "expr",
    [
        "-" * 5000
        + "Quantity",  # Python's parser: RecursionError, an `unexpected` exit 1 with a traceback log
        "not " * 400 + "(Quantity > 0)",
        " + ".join(["Quantity"] * 150),
        "(" * 90 + "Quantity" + ")" * 90 + " + " + " + ".join(["UnitPrice"] * 120),
    ],
)
def test_a_very_long_or_deeply_nested_mapping_expression_is_refused_in_one_line(tmp_path, expr):
    from pipelines.mapping import load_mapping

    path = tmp_path / "map.yaml"
    path.write_text(
        "sources: {lines: {file: lines.csv}}\ntables:\n  orders:\n    source: lines\n"
        f"    derive: {{line_revenue: '{expr}'}}\n    columns: {{order_id: InvoiceNo, customer_id: CustomerID, "
        "ordered_at: InvoiceDate, revenue: line_revenue}\n"
    )
    with pytest.raises(StructuralError, match=r"derive\.line_revenue = .* is refused: expression") as err:
        load_mapping(path)
    assert len(str(err.value)) < 400  # the expression is cut, not echoed whole


def test_a_long_sum_of_columns_is_still_allowed(tmp_path):
    import pandas as pd

    from pipelines.mapping.expressions import evaluate, parse

    frame = pd.DataFrame({"a": ["1", "2"]})
    assert evaluate(parse(" + ".join(["a"] * 90)), frame).tolist() == [90.0, 180.0]


def test_a_file_without_its_header_line_is_named_so_and_its_personal_values_not_printed(tmp_path):
    """An export saved without headers: the first customer read as the header (was: "missing required column(s)
    customer_id; columns present: C000001, ..., Noah Brennan, noah.brennan@example.com, +1-555-0102" and the
    next five customers' names, e-mails and phones under "First rows", in the terminal and batch logs)."""
    from pipelines.io import load_data

    (tmp_path / "orders.csv").write_text(ORDERS)
    (tmp_path / "customers.csv").write_text(
        "C1,2022-01-03T00:46:04,B2C,Noah Brennan,noah.brennan@example.com,+1-555-0102\n"
        "C2,2022-01-04T00:00:00,B2B,Lena Castillo,lena@example.com,+1-555-0147\n"
    )
    with pytest.raises(StructuralError, match=r"table 'customers': its first line is a data row") as err:
        load_data(tmp_path)
    message = str(err.value)
    assert "'2022-01-03T00:46:04'" in message and "1 e-mail address" in message
    for personal in ("Noah", "noah.brennan", "555", "Lena", "lena@"):
        assert personal not in message
    (tmp_path / "customers.csv").write_text(
        "customer,2022,2023\nC1,1,2\n"
    )  # a pivot's year columns: a header
    with pytest.raises(StructuralError, match=r"missing required column\(s\) customer_id; columns present"):
        load_data(tmp_path)


@pytest.mark.parametrize("label", ["Customer ID", "customer id", "Customer_Id", "Customer number", "ID "])
def test_a_line_of_column_labels_under_the_header_is_a_row_reject_not_a_customer(tmp_path, label):
    """A BI or CRM export: technical names, then a line of labels (was: a customer `Customer ID` accepted, scored
    and reported, or an account manager `Manager ID` with a page of its own). A real id is untouched."""
    from features.validation import validate_tables

    customers = pd.DataFrame(
        {"customer_id": [label, "C1", "C2", "Customer ID"], "segment": ["Segment", "B2B", "B2C", "B2C"]}
    )
    managers = pd.DataFrame({"account_manager_id": ["Manager ID", "AM1"], "name": ["Name", "Ann"]})
    orders = pd.read_csv(io.StringIO(ORDERS), dtype=str)
    result = validate_tables({"orders": orders, "customers": customers, "account_managers": managers})
    assert result.tables["customers"]["customer_id"].tolist() == ["C1", "C2", "Customer ID"]  # row 4: data
    assert result.tables["account_managers"]["account_manager_id"].tolist() == ["AM1"]
    reasons = result.rejects["customers"]["reason"].tolist()
    assert reasons == ["a second header line (column labels under the header)"]
