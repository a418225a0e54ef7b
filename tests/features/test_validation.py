"""Contract validation: schema unit tests per table on hand-written rows, and rows in = accepted + rejected."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.contract import TABLES
from features.dates import parse_timestamps
from features.validation import StructuralError, validate_tables


def _raw(**cols: list) -> pd.DataFrame:
    return pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in cols.items()})


ORDERS = _raw(
    order_id=["o1", "o2", "o3"],
    customer_id=["007", "007", "010"],
    ordered_at=["2024-01-01", "2024-01-02 10:30:00", "2024-01-03T00:00:00+02:00"],
    revenue=["10.5", "20", "0"],
)
CUSTOMERS = _raw(customer_id=["007", "010"], segment=["retail", "b2b"], name=["Ann", "Bob"])


def reasons(result, table: str) -> list[str]:
    return result.rejects[table]["reason"].tolist()


def test_valid_orders_are_typed_and_ids_keep_leading_zeros():
    res = validate_tables({"orders": ORDERS}, timezone="UTC")
    o = res.tables["orders"]
    assert o["customer_id"].tolist() == ["007", "007", "010"]
    assert str(o["ordered_at"].dtype) == "datetime64[ns]"
    assert o["revenue"].tolist() == [10.5, 20.0, 0.0]
    # an offset is converted to the configured zone, then kept as naive wall-clock time
    assert o["ordered_at"].iloc[2] == pd.Timestamp("2024-01-02 22:00:00")
    assert res.report["orders"].rows_in == 3 and res.report["orders"].accepted == 3


def test_timezone_conversion_of_offsets_only():
    s = pd.Series(["2024-06-01 12:00", "2024-06-01T12:00:00Z"], dtype="str")
    out = parse_timestamps(s, "Europe/Berlin")
    assert out.tolist() == [pd.Timestamp("2024-06-01 12:00"), pd.Timestamp("2024-06-01 14:00")]


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("ordered_at", "2024-13-45", "unparseable ordered_at"),
        ("ordered_at", "1066-10-14", "impossible date in ordered_at"),
        ("revenue", "-5", "negative revenue"),
        ("revenue", "ten", "unparseable revenue"),
        ("customer_id", "", "missing customer_id"),
        ("order_id", "o1", "duplicate order_id"),
    ],
)
def test_order_row_problems_are_rejected_with_reason(column, value, reason):
    bad = ORDERS.copy()
    bad.loc[1, column] = value
    res = validate_tables({"orders": bad})
    assert reasons(res, "orders") == [reason]
    assert res.rejects["orders"]["source_row"].tolist() == [1]
    # the rejected row is the original row, as read
    assert res.rejects["orders"].loc[0, column] == value
    assert res.report["orders"].accepted == 2


def test_returns_tickets_invoices_referrals_rules():
    raw = {
        "orders": ORDERS,
        "customers": CUSTOMERS,
        "returns": _raw(
            return_id=["r1", "r2", "r3"],
            customer_id=["007", "999", "010"],
            returned_at=["2024-02-01"] * 3,
            amount=["5", "5", "0"],
        ),
        "tickets": _raw(
            ticket_id=["t1", "t2", "t3", "t4", "t5"],
            customer_id=["007"] * 5,
            opened_at=["2024-02-01 10:00"] * 5,
            effort_minutes=["30", "-1", "10", "10", "10"],
            closed_at=["2024-02-01 11:00", "", "2024-01-01", "", ""],
            kind=["Complaint", "request", "request", "rant", "billing"],
            satisfaction=["5", "", "", "", "7"],
            escalated=["yes", "no", "", "false", "maybe"],
        ),
        "invoices": _raw(
            invoice_id=["i1", "i2", "i3"],
            customer_id=["007", "007", "010"],
            issued_at=["2024-01-01", "2024-01-01", "2024-01-10"],
            due_at=["2024-01-31", "2023-12-01", "2024-02-10"],
            amount=["10", "10", "10"],
            paid_at=["2024-02-05", "", "2024-01-05"],
        ),
        "referrals": _raw(
            referrer_id=["007", "010"], referred_id=["010", "010"], referred_at=["2024-01-01"] * 2
        ),
    }
    res = validate_tables(raw)
    assert reasons(res, "returns") == ["unknown customer_id", "non-positive return amount"]
    assert reasons(res, "tickets") == [
        "negative effort_minutes",
        "closed_at before opened_at",
        "unknown ticket kind",
        "unparseable escalated",
    ]
    t = res.tables["tickets"]
    assert t["kind"].tolist() == ["complaint"]
    assert t["escalated"].tolist() == [True]
    assert reasons(res, "invoices") == ["due_at before issued_at", "paid before issued"]
    assert pd.isna(res.tables["invoices"]).sum().sum() == 0  # i1 was paid (late), so nothing missing
    assert reasons(res, "referrals") == ["self-referral"]
    for r in res.report.values():
        assert r.rows_in == r.accepted + r.rejected


def test_satisfaction_out_of_range_is_rejected():
    raw = {
        "orders": ORDERS,
        "tickets": _raw(
            ticket_id=["t1", "t2"],
            customer_id=["007"] * 2,
            opened_at=["2024-01-01"] * 2,
            effort_minutes=["1", "1"],
            satisfaction=["3", "7"],
        ),
    }
    assert reasons(validate_tables(raw), "tickets") == ["satisfaction outside 1-5"]


def test_missing_required_column_is_structural_and_names_table_and_column():
    with pytest.raises(StructuralError, match=r"'orders'.*customer_id") as exc:
        validate_tables({"orders": ORDERS.drop(columns=["customer_id"])})
    assert "o1" in str(exc.value)  # example rows are shown


def test_missing_orders_and_unknown_table_are_structural():
    with pytest.raises(StructuralError, match="orders"):
        validate_tables({"customers": CUSTOMERS})
    with pytest.raises(StructuralError, match="unknown table"):
        validate_tables({"orders": ORDERS, "ordrs": ORDERS})


def test_column_of_wrong_type_throughout_is_structural():
    bad = ORDERS.assign(ordered_at=["soon", "later", "never"])
    with pytest.raises(StructuralError, match=r"'orders', column 'ordered_at'.*wrong type throughout"):
        validate_tables({"orders": bad})


def test_optional_tables_and_columns_may_be_absent():
    res = validate_tables({"orders": ORDERS})
    assert set(res.tables) == {"orders"}
    assert list(res.tables["orders"].columns) == ["order_id", "customer_id", "ordered_at", "revenue"]


def test_unknown_columns_are_reported_not_kept():
    res = validate_tables({"orders": ORDERS.assign(notes=["a", "b", "c"])})
    assert "notes" not in res.tables["orders"].columns
    assert res.report["orders"].ignored_columns == ("notes",)


# --- property: random corruptions lose no row and never change accepted rows ---------------------------------

N = 12
BASE = _raw(
    order_id=[f"o{i:03d}" for i in range(N)],
    customer_id=[f"{i % 4 + 1:05d}" for i in range(N)],  # 00000 is a placeholder id (rejected)
    ordered_at=[f"2024-0{1 + i % 9}-1{i % 10} 08:00" for i in range(N)],
    revenue=[str(10 + i) for i in range(N)],
    discount=[str(i % 3) for i in range(N)],
    promo=["true" if i % 2 else "false" for i in range(N)],
)
CORRUPTIONS = ["", "not a date", "-1", "abc", "o000", "2200-01-01", "maybe", "  "]


@pytest.fixture(scope="module")
def clean_base() -> pd.DataFrame:
    """`BASE` validated once, by order id (was: validated again in every example, half of each one's time)."""
    clean = validate_tables({"orders": BASE}).tables["orders"]
    assert clean.index.tolist() == list(range(N))  # every row accepted, in order: row i is BASE's row i
    return clean.set_index("order_id")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, N - 1), st.sampled_from(list(BASE.columns)), st.sampled_from(CORRUPTIONS)),
        max_size=10,
    )
)
def test_corruptions_conserve_rows(clean_base, corruptions):
    raw = BASE.copy()
    for row, col, value in corruptions:
        raw.loc[row, col] = value
    try:
        res = validate_tables({"orders": raw})
    except StructuralError as exc:
        # the stops these corruptions can earn are a column's: `MIN_ROWS` rows or more given the order_id of an
        # earlier row with other values (`features.keys.check_one_row_per_key`: two numberings meeting), e.g. rows
        # 1-3 given row 0's `o000`; or one column corrupted on `share_floor` of the rows or more, an export's way
        # rather than a few wrong rows (`features.conventions.check_negative_values`: `-1` in `discount` on 3 of
        # the 12 rows). A stop naming a column corrupted on fewer rows is a row problem taken for a structural one
        # (was: the second kind, which Hypothesis draws now and then, failed the test on the product's
        # right answer)
        from features.keys import MIN_ROWS
        from features.placeholder_words import share_floor

        ids = raw["order_id"].str.strip()
        repeats = int((ids.ne("") & ids.duplicated()).sum())
        if repeats >= MIN_ROWS and "column 'order_id'" in str(exc):
            return
        named = [c for c in BASE.columns if f"column {c!r}" in str(exc)]
        assert named, str(exc)
        changed = int(raw[named[0]].ne(BASE[named[0]]).sum())
        assert changed >= share_floor(N), str(exc)
        return
    rep = res.report["orders"]
    assert rep.rows_in == N == rep.accepted + rep.rejected
    assert res.rejects["orders"]["reason"].notna().all()
    assert res.rejects["orders"]["reason"].str.len().gt(0).all()
    touched = {row for row, _, _ in corruptions}
    rejected = set(res.rejects["orders"]["source_row"])
    # every untouched row is accepted (except duplicates created by a corruption), unchanged
    acc = res.tables["orders"].set_index("order_id")
    for i in range(N):
        if i in touched or i in rejected:
            continue
        order_id = clean_base.index[i]
        pd.testing.assert_series_equal(acc.loc[order_id], clean_base.loc[order_id])


def test_every_contract_table_has_a_schema_that_accepts_its_validated_form():
    from features.schemas import table_schema

    for name in TABLES:
        assert set(table_schema(name).columns) == set(TABLES[name].column_names)


def test_customers_managers_assignments_rules():
    raw = {
        "orders": ORDERS,
        "customers": _raw(
            customer_id=["007", "010", "011", "007"],
            account_manager_id=["AM1", "AM9", "", "AM1"],
            signup_at=["2023-01-01", "2023-02-01", "2023-03-01", "2023-01-01"],
            email=["a@x.io", "b@x.io", "c@x.io", "a@x.io"],
        ),
        "account_managers": _raw(
            account_manager_id=["AM1", "AM2"],
            started_at=["2020-01-01", "2022-01-01"],
            left_at=["", "2021-01-01"],
        ),
        "assignments": _raw(
            customer_id=["007", "010", "999"],
            account_manager_id=["AM1", "AM1", "AM1"],
            assigned_at=["2023-01-01", "2023-02-01", "2023-02-01"],
        ),
    }
    res = validate_tables(raw)
    assert reasons(res, "customers") == ["unknown account_manager_id", "duplicate customer_id"]
    assert reasons(res, "account_managers") == ["left_at before started_at"]
    # 010's customer row was rejected (unknown manager), so it is unknown here too; 999 never existed
    assert reasons(res, "assignments") == ["unknown customer_id", "unknown customer_id"]
    assert res.rejects["assignments"]["customer_id"].tolist() == ["010", "999"]
    assert res.tables["customers"]["customer_id"].tolist() == ["007", "011"]
    assert reasons(res, "orders") == [
        "unknown customer_id"
    ]  # 010's customer row was rejected, so is its order
    assert pd.isna(res.tables["customers"]["account_manager_id"].iloc[1])
    for r in res.report.values():
        assert r.rows_in == r.accepted + r.rejected
