"""Hand-computed feature rows for every group on a tiny company, plus missing-table behaviour and the manifest.

Cutoff 2024-07-01; windows 90d = [2024-04-02, 2024-07-01), 365d = [2023-07-02, 2024-07-01); trend 90d compares
[2024-04-02, 2024-07-01) with [2024-01-03, 2024-04-02). Customers A, B, C, D are known before the cutoff
(D only through signup); E only appears after it and must not get a row.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from features.config import FeatureConfig
from features.registry import GROUPS, feature_registry
from features.table import build_feature_table, build_feature_table_with_manifest
from tests.settings import defaults, override

CUTOFF = pd.Timestamp("2024-07-01")
NAN = np.nan
IDS = ["A", "B", "C", "D"]


def _ts(values: list[str | None]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, format="ISO8601")).astype("datetime64[ns]")


def _ids(values: list[str | None]) -> pd.Series:
    return pd.Series(values, dtype="str")


def _bool(values: list[bool | None]) -> pd.Series:
    return pd.Series(values, dtype="boolean")


def tiny_tables() -> dict[str, pd.DataFrame]:
    orders = pd.DataFrame(
        {
            "order_id": _ids(["o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8"]),
            "customer_id": _ids(["A", "A", "A", "A", "B", "C", "E", "A"]),
            "ordered_at": _ts(
                ["2023-01-10", "2024-01-15", "2024-05-01 09:00", "2024-05-01 15:00", "2024-06-20", "2022-06-01",
                 "2024-08-01", "2024-07-01"]
            ),
            "revenue": [100.0, 200.0, 300.0, 50.0, 80.0, 40.0, 500.0, 1000.0],
            "cost": [60.0, 120.0, NAN, 30.0, 40.0, 20.0, 100.0, 0.0],  # o3 falls back to 30% margin = 90
            "discount": [0.0, 20.0, 0.0, 10.0, 0.0, 0.0, 0.0, 0.0],
            "promo": _bool([False, True, False, True, False, None, True, True]),
        }
    )  # fmt: skip
    returns = pd.DataFrame(
        {
            "return_id": _ids(["r1", "r2", "r3"]),
            "customer_id": _ids(["A", "C", "A"]),
            "returned_at": _ts(["2024-06-01", "2022-07-01", "2024-07-05"]),
            "amount": [30.0, 10.0, 999.0],
        }
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": _ids(["t1", "t2", "t3", "t4"]),
            "customer_id": _ids(["A", "A", "B", "B"]),
            "opened_at": _ts(["2024-06-10", "2023-03-01", "2024-06-25", "2024-07-02"]),
            "effort_minutes": [90.0, 30.0, 0.0, 600.0],
            "kind": _ids(["complaint", "request", "billing", "complaint"]),
            "escalated": _bool([True, False, None, True]),
            "satisfaction": [2.0, 4.0, NAN, 1.0],
        }
    )
    invoices = pd.DataFrame(
        {
            "invoice_id": _ids(["i1", "i2", "i3", "i4", "i5", "i6"]),
            "customer_id": _ids(["A", "A", "A", "A", "B", "C"]),
            "issued_at": _ts(
                ["2024-01-01", "2024-05-01", "2024-06-01", "2024-06-15", "2024-05-01", "2024-06-01"]
            ),
            "due_at": _ts(
                ["2024-01-31", "2024-05-31", "2024-06-21", "2024-07-15", "2024-06-01", "2024-06-30"]
            ),
            "paid_at": _ts(["2024-01-20", "2024-06-10", None, None, "2024-07-10", "2024-06-05"]),
            "amount": [100.0, 200.0, 50.0, 70.0, 80.0, 20.0],
            "disputed": _bool([False, True, False, False, None, False]),
        }
    )
    referrals = pd.DataFrame(
        {
            "referrer_id": _ids(["A", "A", "B"]),
            "referred_id": _ids(["B", "C", "D"]),
            "referred_at": _ts(["2024-06-19", "2022-05-01", "2024-07-15"]),
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": _ids(["A", "B", "C", "D", "E"]),
            "signup_at": _ts(["2022-12-01", "2024-06-01", None, "2024-03-01", "2024-07-20"]),
            "segment": _ids(["smb", "enterprise", "smb", None, "smb"]),
            "region": _ids(["north", "south", "north", "south", "east"]),
            "account_manager_id": _ids(["M1", "M2", "M3", None, "M2"]),
            "churned_at": _ts([None, None, "2023-01-01", None, None]),
            "name": _ids(["Ann", "Bob", "Cat", "Dan", "Eve"]),
            "email": _ids(["a@x", "b@x", "c@x", "d@x", "e@x"]),
        }
    )
    account_managers = pd.DataFrame(
        {
            "account_manager_id": _ids(["M1", "M2", "M3"]),
            "started_at": _ts(["2020-01-01", "2024-01-01", "2021-01-01"]),
            "left_at": _ts(["2024-05-15", None, "2024-01-01"]),
        }
    )
    return {
        "orders": orders,
        "returns": returns,
        "tickets": tickets,
        "invoices": invoices,
        "referrals": referrals,
        "customers": customers,
        "account_managers": account_managers,
    }


def _assignments() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": _ids(["A", "A", "A", "A", "B"]),
            "account_manager_id": _ids(["M3", "M1", "M1", "M2", "M2"]),
            "assigned_at": _ts(["2021-06-01", "2024-01-02", "2024-02-01", "2024-06-01", "2024-07-05"]),
        }
    )


def _expected(columns: dict[str, list[float]]) -> pd.DataFrame:
    index = pd.Index(IDS, name="customer_id", dtype="str")
    return pd.DataFrame(columns, index=index, dtype="float64")


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return build_feature_table(tiny_tables(), CUTOFF, defaults().features)


def _check(table: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(table[list(expected.columns)], expected, check_exact=False, rtol=1e-9)


def test_rows_are_customers_known_before_cutoff(table: pd.DataFrame) -> None:
    assert list(table.index) == IDS
    assert table.index.name == "customer_id"
    assert table.index.dtype == "str"


def test_profit_group(table: pd.DataFrame) -> None:
    expected = _expected(
        {
            "profit_revenue_90d": [350, 80, 0, 0],
            "profit_revenue_365d": [550, 80, 0, 0],
            "profit_revenue_lifetime": [650, 80, 40, 0],
            "profit_margin_90d": [110, 40, 0, 0],
            "profit_margin_lifetime": [230, 40, 20, 0],
            "profit_discount_365d": [30, 0, 0, 0],
            "profit_returns_90d": [30, 0, 0, 0],
            "profit_returns_lifetime": [30, 0, 10, 0],
            "profit_cost_to_serve_90d": [95, 5, 0, 0],
            "profit_cost_to_serve_lifetime": [130, 5, 0, 0],
            "profit_net_90d": [-15, 35, 0, 0],
            "profit_net_365d": [65, 35, 0, 0],
            "profit_net_lifetime": [70, 35, 10, 0],
            "profit_avg_order_value_lifetime": [162.5, 80, 40, NAN],
            "profit_margin_trend_90d": [30, 40, 0, 0],
            "profit_revenue_share_90d": [350 / 430, 80 / 430, 0, 0],
            "profit_revenue_share_365d": [550 / 630, 80 / 630, 0, 0],
        }
    )
    _check(table, expected)


def test_tenure_group(table: pd.DataFrame) -> None:
    expected = _expected(
        {
            "tenure_days": [578, 30, 761, 122],
            "recency_days": [61 - 15 / 24, 11, 761, NAN],  # A's last order was 2024-05-01 15:00
            "orders_count_90d": [2, 1, 0, 0],
            "orders_count_365d": [3, 1, 0, 0],
            "orders_count_lifetime": [4, 1, 1, 0],
            "orders_purchase_days_90d": [1, 1, 0, 0],
            "orders_purchase_days_lifetime": [3, 1, 1, 0],
            "orders_gap_mean_days": [238.5, NAN, NAN, NAN],
            "orders_gap_cv": [131.5 / 238.5, NAN, NAN, NAN],
            "orders_overdue_ratio": [(61 - 15 / 24) / 238.5, NAN, NAN, NAN],
        }
    )
    _check(table, expected)


def test_referral_group(table: pd.DataFrame) -> None:
    expected = _expected(
        {
            "referral_made_90d": [1, 0, 0, 0],
            "referral_made_lifetime": [2, 0, 0, 0],  # B's referral of D is after the cutoff
            "referral_active_referred": [1, 0, 0, 0],  # B ordered recently, C last ordered 761 days ago
            "referral_referred_net_profit_lifetime": [35 + 10, 0, 0, 0],
            "referral_was_referred": [0, 1, 1, 0],
        }
    )
    _check(table, expected)


def test_service_effort_group(table: pd.DataFrame) -> None:
    expected = _expected(
        {
            "service_tickets_90d": [1, 1, 0, 0],
            "service_tickets_lifetime": [2, 1, 0, 0],
            "service_effort_hours_90d": [1.5, 0, 0, 0],
            "service_effort_hours_lifetime": [2.0, 0, 0, 0],
            "service_complaints_365d": [1, 0, 0, 0],
            "service_escalations_lifetime": [1, 0, 0, 0],
            "service_effort_hours_per_1k_revenue_90d": [1.5 / 350 * 1000, 0, NAN, NAN],
            "service_effort_hours_per_1k_revenue_365d": [1.5 / 550 * 1000, 0, NAN, NAN],
            "service_satisfaction_mean_lifetime": [3.0, NAN, NAN, NAN],
            "service_days_since_complaint": [21, NAN, NAN, NAN],
        }
    )
    _check(table, expected)


def test_payment_group(table: pd.DataFrame) -> None:
    # B's invoice was paid after the cutoff: at the cutoff it is unpaid and 30 days past due.
    expected = _expected(
        {
            "payment_invoices_due_lifetime": [3, 1, 1, 0],
            "payment_late_share_lifetime": [2 / 3, 1, 0, NAN],
            "payment_days_late_mean_lifetime": [20 / 3, 30, 0, NAN],
            "payment_overdue_amount": [50, 80, 0, 0],
            "payment_disputes_lifetime": [1, 0, 0, 0],
            "payment_dispute_share_lifetime": [0.25, 0, 0, NAN],
        }
    )
    _check(table, expected)


def test_invoices_without_payment_dates_give_no_lateness_features() -> None:
    # Without invoices.paid_at nobody knows which invoice was paid: the lateness and overdue features are not
    # measured (was: every invoice read as unpaid, every customer 100% late with every amount overdue).
    tables = tiny_tables()
    tables["invoices"] = tables["invoices"].drop(columns=["paid_at"])
    got, manifest = build_feature_table_with_manifest(tables, CUTOFF, defaults().features)
    unknown = ("payment_late_share", "payment_days_late_mean", "payment_overdue_amount")
    assert not [c for c in got.columns if c.startswith(unknown)]
    expected = _expected(
        {
            "payment_invoices_due_lifetime": [3, 1, 1, 0],
            "payment_disputes_lifetime": [1, 0, 0, 0],
            "payment_dispute_share_lifetime": [0.25, 0, 0, NAN],
        }
    )
    _check(got, expected)
    assert any("invoices.paid_at absent" in note for note in manifest.notes)


def test_price_sensitivity_group(table: pd.DataFrame) -> None:
    expected = _expected(
        {
            "price_promo_order_share_90d": [0.5, 0, NAN, NAN],
            "price_promo_order_share_365d": [2 / 3, 0, NAN, NAN],
            "price_promo_order_share_lifetime": [0.5, 0, 0, NAN],
            "price_discount_rate_90d": [10 / 360, 0, NAN, NAN],
            "price_discount_rate_lifetime": [30 / 680, 0, 0, NAN],
            "price_return_rate_value_365d": [30 / 550, 0, NAN, NAN],
            "price_return_rate_value_lifetime": [30 / 650, 0, 0.25, NAN],
            "price_return_rate_count_90d": [0.5, 0, NAN, NAN],
            "price_return_rate_count_lifetime": [0.25, 0, 1, NAN],
        }
    )
    _check(table, expected)


def test_relationship_group_from_customers(table: pd.DataFrame) -> None:
    expected = _expected(
        {
            "relationship_manager_departed_90d": [1, 0, 0, 0],  # M1 left 2024-05-15; M3 left 2024-01-01
            "relationship_manager_tenure_days": [1643, 182, 1277, NAN],
        }
    )
    _check(table, expected)
    assert "relationship_manager_changes_lifetime" not in table.columns


def test_relationship_group_from_assignments() -> None:
    tables = {**tiny_tables(), "assignments": _assignments()}
    got = build_feature_table(tables, CUTOFF, defaults().features)
    expected = _expected(
        {
            # A: M3 -> M1 -> M1 -> M2 is two changes; M1 left 2024-05-15 while in charge; now M2 (since 06-01).
            "relationship_manager_departed_90d": [1, 0, 0, 0],
            "relationship_manager_changes_lifetime": [2, 0, 0, 0],
            "relationship_manager_tenure_days": [182, NAN, NAN, NAN],
            "relationship_manager_assigned_days": [30, NAN, NAN, NAN],
        }
    )
    _check(got, expected)


def test_profile_group_is_categorical_and_never_personal(table: pd.DataFrame) -> None:
    assert isinstance(table["profile_segment"].dtype, pd.CategoricalDtype)
    assert list(table["profile_segment"].cat.categories) == ["enterprise", "smb"]
    assert table["profile_segment"].tolist()[:3] == ["smb", "enterprise", "smb"]
    assert pd.isna(table["profile_segment"].iloc[3])
    assert table["profile_region"].tolist() == ["north", "south", "north", "south"]
    assert "profile_size" not in table.columns  # the customers table has no size column
    for col in table.columns:
        assert not any(word in col for word in ("name", "email", "phone", "address", "_id"))


def test_numeric_columns_are_float64(table: pd.DataFrame) -> None:
    non_profile = [c for c in table.columns if not c.startswith("profile_")]
    assert (table[non_profile].dtypes == "float64").all()


def test_inputs_are_not_mutated() -> None:
    tables = tiny_tables()
    before = {k: v.copy(deep=True) for k, v in tables.items()}
    build_feature_table(tables, CUTOFF, defaults().features)
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, before[name])


def test_orders_only_removes_optional_groups_and_manifest_says_why() -> None:
    tables = {"orders": tiny_tables()["orders"]}
    got, manifest = build_feature_table_with_manifest(tables, CUTOFF, defaults().features)
    assert list(got.index) == ["A", "B", "C"]  # D was only known through customers.signup_at
    assert manifest.groups_present == ("profit", "tenure", "price_sensitivity", "season")
    assert set(manifest.groups_absent) == {"referral", "service_effort", "payment", "relationship", "profile"}
    assert manifest.tables_used == ("orders",)
    assert manifest.cutoff == CUTOFF
    assert manifest.n_customers == 3
    assert any("no cost to serve" in note for note in manifest.notes)
    assert list(manifest.features) == list(got.columns)
    prefixes = ("referral_", "service_", "payment_", "relationship_", "profile_", "profit_cost_to_serve")
    assert not [c for c in got.columns if c.startswith(prefixes)]
    assert not [c for c in got.columns if "return" in c]
    # Without tickets, net profit is margin minus returns (no returns table here either).
    np.testing.assert_allclose(got["profit_net_lifetime"], got["profit_margin_lifetime"])


def test_orders_without_cost_use_margin_rate() -> None:
    orders = tiny_tables()["orders"].drop(columns=["cost", "discount", "promo"])
    got, manifest = build_feature_table_with_manifest({"orders": orders}, CUTOFF, defaults().features)
    np.testing.assert_allclose(got["profit_margin_lifetime"], [650 * 0.3, 80 * 0.3, 40 * 0.3])
    assert "price_sensitivity" in manifest.groups_absent
    assert any("no cost column" in note for note in manifest.notes)


def test_a_cost_column_of_nulls_is_said_to_be_missing_on_every_row() -> None:
    """A Parquet export's all-null `cost` was described as "missing on some rows" in the feature manifest."""
    orders = tiny_tables()["orders"].assign(cost=np.nan)
    got, manifest = build_feature_table_with_manifest({"orders": orders}, CUTOFF, defaults().features)
    np.testing.assert_allclose(got["profit_margin_lifetime"], [650 * 0.3, 80 * 0.3, 40 * 0.3])
    assert any("orders.cost missing on every row" in note for note in manifest.notes)
    assert not any("some rows" in note for note in manifest.notes)


@pytest.mark.parametrize(
    "drop", ["returns", "tickets", "invoices", "referrals", "customers", "account_managers"]
)
def test_each_missing_table_removes_exactly_its_columns(drop: str) -> None:
    full = build_feature_table(tiny_tables(), CUTOFF, defaults().features)
    tables = {k: v for k, v in tiny_tables().items() if k != drop}
    got, manifest = build_feature_table_with_manifest(tables, CUTOFF, defaults().features)
    removed = set(full.columns) - set(got.columns)
    assert set(got.columns) <= set(full.columns)
    expected_prefixes = {
        "returns": ("profit_returns_", "price_return_rate_"),
        "tickets": ("service_", "profit_cost_to_serve_"),
        "invoices": ("payment_",),
        "referrals": ("referral_",),
        "customers": ("profile_", "relationship_"),
        "account_managers": ("relationship_",),
    }[drop]
    assert removed == {c for c in full.columns if c.startswith(expected_prefixes)}
    assert drop not in manifest.tables_used
    group = {
        "tickets": "service_effort",
        "invoices": "payment",
        "referrals": "referral",
        "customers": "profile",
    }
    if drop in group:
        assert group[drop] in manifest.groups_absent
    # Columns that stay keep their values, except those that depend on the dropped table.
    dependent = {"profit_net_", "orders_overdue", "tenure_days", "referral_referred_net"}
    for col in got.columns:
        if not col.startswith(tuple(dependent)) and col in full.columns and drop != "customers":
            pd.testing.assert_series_equal(got[col], full.loc[got.index, col])


def test_cutoff_must_be_a_naive_timestamp() -> None:
    with pytest.raises(TypeError):
        build_feature_table(tiny_tables(), "2024-07-01", defaults().features)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        build_feature_table(tiny_tables(), pd.Timestamp("2024-07-01", tz="UTC"), defaults().features)


def test_windows_follow_config() -> None:
    got = build_feature_table(
        tiny_tables(), CUTOFF, override("features", windows_days=(30,), trend_window_days=60)
    )
    assert "profit_net_30d" in got.columns and "profit_net_90d" not in got.columns
    assert "profit_margin_trend_60d" in got.columns
    assert got.loc["B", "profit_net_30d"] == 35.0


OPTIONAL = ("returns", "tickets", "invoices", "referrals", "customers", "account_managers", "assignments")


@pytest.mark.parametrize(
    "config", [defaults().features, override("features", windows_days=(7, 30, 180), trend_window_days=30)]
)
def test_every_column_of_every_table_subset_is_registered(config: FeatureConfig) -> None:
    registry = feature_registry(config)
    assert {spec.group for spec in registry.values()} <= set(GROUPS)
    full = {**tiny_tables(), "assignments": _assignments()}
    seen: set[str] = set()
    for r in range(len(OPTIONAL) + 1):
        for subset in itertools.combinations(OPTIONAL, r):
            if len(subset) not in (0, 1, len(OPTIONAL) - 1, len(OPTIONAL)) and r != 3:
                continue  # all singles, all-but-one, everything, and every triple keep this fast
            tables = {"orders": full["orders"], **{k: full[k] for k in subset}}
            got = build_feature_table(tables, CUTOFF, config)
            missing = set(got.columns) - set(registry)
            assert not missing, (subset, missing)
            for col in got.columns:
                assert str(got[col].dtype) == registry[col].dtype
            seen |= set(got.columns)
    # Every declared feature is producible by some table subset: no dead registry entries.
    assert seen == set(registry) - {"profile_size", "profile_acquisition_channel"}


def test_feature_table_columns_match_registry_order() -> None:
    got = build_feature_table(tiny_tables(), CUTOFF, defaults().features)
    order = list(feature_registry(defaults().features))
    assert list(got.columns) == [c for c in order if c in got.columns]
    assert isinstance(got, pd.DataFrame)


def test_assignments_without_account_managers() -> None:
    tables = {k: v for k, v in tiny_tables().items() if k != "account_managers"}
    tables["assignments"] = _assignments()
    got, manifest = build_feature_table_with_manifest(tables, CUTOFF, defaults().features)
    relationship = [c for c in got.columns if c.startswith("relationship_")]
    assert relationship == ["relationship_manager_changes_lifetime", "relationship_manager_assigned_days"]
    assert got["relationship_manager_changes_lifetime"].tolist() == [2.0, 0.0, 0.0, 0.0]
    assert "assignments" in manifest.tables_used and "account_managers" not in manifest.tables_used
    assert any("left_at" in note for note in manifest.notes)


def test_every_feature_group_has_one_function_and_the_groups_do_not_import_each_other():
    import ast
    from pathlib import Path

    from features.table import GROUP_FUNCTIONS, GROUP_TABLES

    # service_effort comes with the shared ticket sums (Builder.tickets_stats); every other group is a function.
    assert set(GROUP_FUNCTIONS) | {"service_effort"} == set(GROUP_TABLES)
    for path in sorted(Path(__file__).resolve().parents[2].joinpath("features").glob("groups_*.py")):
        imported = {
            node.module for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ImportFrom)
        }
        assert not {m for m in imported if m and m.startswith(("features.groups_", "features.table"))}, path
