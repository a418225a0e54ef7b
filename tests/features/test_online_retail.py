"""Data test on the real UCI Online Retail file: orders and returns only, features at 2011-09-01.

The contract tables are built here directly (the project's mapping loader is tested elsewhere): orders are the
non-cancelled invoices with a CustomerID (revenue = sum of Quantity x UnitPrice per invoice), returns are the
"C" (cancellation) invoices with amount = minus that sum.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.table import build_feature_table_with_manifest
from tests.settings import defaults
from tests.shared_data import online_retail_dir

CUTOFF = pd.Timestamp("2011-09-01")


@pytest.fixture(scope="module")
def retail_tables() -> dict[str, pd.DataFrame]:
    raw = pd.read_parquet(online_retail_dir() / "online_retail.parquet")
    raw = raw.loc[raw["CustomerID"].notna()]
    lines = pd.DataFrame(
        {
            "invoice": raw["InvoiceNo"].astype("str"),
            "customer_id": raw["CustomerID"].astype(int).astype("str"),
            "at": pd.to_datetime(raw["InvoiceDate"]).astype("datetime64[ns]"),
            "value": raw["Quantity"] * raw["UnitPrice"],
        }
    )
    per_invoice = lines.groupby("invoice", sort=True).agg(
        customer_id=("customer_id", "first"), at=("at", "min"), value=("value", "sum")
    )
    is_return = per_invoice.index.str.startswith("C")
    sales = per_invoice.loc[~is_return & (per_invoice["value"] >= 0)]
    credits = per_invoice.loc[is_return & (per_invoice["value"] < 0)]
    orders = pd.DataFrame(
        {
            "order_id": pd.Series(sales.index, dtype="str"),
            "customer_id": sales["customer_id"].to_numpy(),
            "ordered_at": sales["at"].to_numpy(),
            "revenue": sales["value"].to_numpy(dtype=np.float64),
        }
    ).astype({"customer_id": "str"})
    returns = pd.DataFrame(
        {
            "return_id": pd.Series(credits.index, dtype="str"),
            "customer_id": credits["customer_id"].to_numpy(),
            "returned_at": credits["at"].to_numpy(),
            "amount": -credits["value"].to_numpy(dtype=np.float64),
        }
    ).astype({"customer_id": "str"})
    return {"orders": orders, "returns": returns}


def test_features_exist_for_customers_active_before_cutoff(retail_tables: dict[str, pd.DataFrame]) -> None:
    got, manifest = build_feature_table_with_manifest(retail_tables, CUTOFF, defaults().features)
    orders = retail_tables["orders"]
    active = set(orders.loc[orders["ordered_at"] < CUTOFF, "customer_id"])
    assert set(got.index) == active
    assert got.index.is_unique and got.index.is_monotonic_increasing
    assert 2500 < len(got) < 4372  # a subset of the 4,372 customers with an id
    assert (got["orders_count_lifetime"] >= 1).all()
    assert (got["recency_days"] > 0).all() and (got["tenure_days"] >= got["recency_days"]).all()
    # Revenue before the cutoff matches a direct groupby.
    direct = orders.loc[orders["ordered_at"] < CUTOFF].groupby("customer_id")["revenue"].sum()
    np.testing.assert_allclose(got["profit_revenue_lifetime"], direct.loc[got.index], rtol=1e-9)
    assert manifest.n_customers == len(got)


def test_returns_reduce_net_profit(retail_tables: dict[str, pd.DataFrame]) -> None:
    got, _ = build_feature_table_with_manifest(retail_tables, CUTOFF, defaults().features)
    cfg = defaults().features
    np.testing.assert_allclose(
        got["profit_margin_lifetime"], got["profit_revenue_lifetime"] * 0.30, rtol=1e-9
    )
    np.testing.assert_allclose(
        got["profit_net_lifetime"], got["profit_margin_lifetime"] - got["profit_returns_lifetime"], atol=1e-6
    )
    returned = got["profit_returns_lifetime"] > 0
    assert returned.sum() > 500
    assert (got.loc[returned, "profit_net_lifetime"] < got.loc[returned, "profit_margin_lifetime"]).all()
    without, _ = build_feature_table_with_manifest({"orders": retail_tables["orders"]}, CUTOFF, cfg)
    assert (got.loc[returned, "profit_net_lifetime"] < without.loc[returned, "profit_net_lifetime"]).all()


def test_no_group_that_needs_an_absent_table(retail_tables: dict[str, pd.DataFrame]) -> None:
    got, manifest = build_feature_table_with_manifest(retail_tables, CUTOFF, defaults().features)
    assert set(manifest.groups_absent) == {"referral", "service_effort", "payment", "relationship", "profile"}
    assert manifest.tables_used == ("orders", "returns")
    forbidden = ("referral_", "service_", "payment_", "relationship_", "profile_", "profit_cost_to_serve")
    assert not [c for c in got.columns if c.startswith(forbidden)]
    assert not [c for c in got.columns if c.startswith(("profit_discount", "price_promo", "price_discount"))]
    assert "price_return_rate_value_lifetime" in got.columns
