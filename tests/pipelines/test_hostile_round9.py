"""Hostile input classes closed in the ninth hunt: model-read categories (`customers.region`, `tickets.kind`, ...)
written with a placeholder for a missing value or in Unicode compatibility forms. Tiny hand-written tables; no
training, no model."""

from __future__ import annotations

import pandas as pd
import pytest

from features.validation import StructuralError, validate_tables
from tests.helpers import raw_orders as _orders


def _customers(**columns: list[str]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)], **columns})


@pytest.mark.parametrize("none", ["NULL", "N/A", "None", "nan", "#N/A", "-", "?"])
def test_a_placeholder_as_a_model_read_category_is_structural_on_many_rows_a_reject_on_a_few(none):
    """`customers.region` written `NULL` (`-`, ...) for every customer without one (was: read as a region of its
    own, the model learning a region "NULL", exit 0). On 1% of the rows: a structural stop naming the table, column,
    word and example rows; a few: row rejects with the placeholder reason, as a stray placeholder date is."""
    n = 300
    regions = [none if i % 3 == 0 else "North" for i in range(n)]
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": _orders(n), "customers": _customers(region=regions)})
    message = str(got.value)
    assert message.startswith(f"table 'customers', column 'region': 100 of 300 rows hold {none!r}")
    assert "rejected as not a category" in message and "Export missing values as empty cells" in message
    assert "\n0 " in message and "\n3 " in message  # example rows by source row
    regions = [none if i in (0, 1) else "North" for i in range(n)]  # two of 300: under 1%
    res = validate_tables({"orders": _orders(n), "customers": _customers(region=regions)})
    assert res.report["customers"].rejected_by_reason == {
        "placeholder for a missing value in region (NULL, N/A, -, ...)": 2
    }
    assert none not in set(res.tables["customers"]["region"].dropna())


def test_a_placeholder_ticket_kind_is_named_so_and_category_codes_stay():
    """`tickets.kind` (model-read) written `N/A`: the placeholder reason, not a category (nor an unknown kind);
    a category written as a number (`0`, a size class's code) or holding a dash (`10-50`) is kept."""
    n = 300
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"T{i}" for i in range(n)],
            "customer_id": [f"C{i}" for i in range(n)],
            "opened_at": ["2023-02-01"] * n,
            "effort_minutes": ["5"] * n,
            "kind": ["N/A" if i == 0 else "complaint" for i in range(n)],
        }
    )
    sizes = ["0" if i % 2 else "10-50" for i in range(n)]
    res = validate_tables({"orders": _orders(n), "customers": _customers(size=sizes), "tickets": tickets})
    assert res.report["tickets"].rejected_by_reason == {
        "placeholder for a missing value in kind (NULL, N/A, -, ...)": 1
    }
    assert res.report["customers"].rejected == 0
    assert set(res.tables["customers"]["size"]) == {"0", "10-50"}


def test_fullwidth_letters_and_non_breaking_spaces_in_a_category_are_the_same_category():
    """`Ｂ２Ｂ` (fullwidth) and `North\\u00a0East` (a non-breaking space) in model-read categories are `B2B` and
    `North East` (was: a second segment and region, unseen by the model); ids and personal text stay exact."""
    n = 4
    customers = _customers(
        segment=["Ｂ２Ｂ", "B2B", "B2B", "ｂ２ｃ"],
        region=["North\u00a0East", "North East", "North East", "South"],
        name=["Ａnn", "Bob", "Cy", "Di"],
    )
    res = validate_tables({"orders": _orders(n), "customers": customers})
    got = res.tables["customers"]
    assert got["segment"].tolist() == ["B2B", "B2B", "B2B", "b2c"]
    assert got["region"].tolist() == ["North East", "North East", "North East", "South"]
    assert got["name"].tolist() == ["Ａnn", "Bob", "Cy", "Di"]  # personal, never read by the model: as given


def test_ids_written_42_and_42_0_in_one_column_are_structural():
    """`orders.customer_id` holding `42` and `42.0` (a float export mixed with text; no customers table to name
    them respelled) stops the run naming the table, column, both forms and example rows (was: two customers,
    exit 0). A column written `42.0` throughout is one spelling; a stray `42.0` is a row reject (round 10)."""
    n = 300
    orders = _orders(n).assign(
        customer_id=[f"{i % 50 + 1}.0" if i % 4 == 0 else str(i % 50 + 1) for i in range(n)]
    )
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": orders})
    message = str(got.value)
    assert message.startswith(
        "table 'orders', column 'customer_id': 75 of 300 rows write the id as a decimal number ('1.0' beside '1'"
    )
    assert "and 225 as a whole number" in message and "Export the ids as text" in message
    assert "\n0 " in message and "\n4 " in message  # example rows by source row
    throughout = _orders(n).assign(customer_id=[f"{i % 50 + 1}.0" for i in range(n)])
    assert validate_tables({"orders": throughout}).report["orders"].rejected == 0
    stray = _orders(n).assign(customer_id=["7.0" if i == 0 else str(i % 50 + 1) for i in range(n)])
    assert validate_tables({"orders": stray}).report["orders"].rejected_by_reason == {
        "id written as a decimal number (42.0) among whole-number ids in customer_id": 1
    }
