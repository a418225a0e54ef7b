"""The shipped Online Retail mapping on the real file: every input row is accounted for."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.io import load_data
from tests.shared_data import online_retail_dir

ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "configs" / "datasets" / "online_retail.yaml"


@pytest.fixture(scope="module")
def loaded():
    return load_data(online_retail_dir(), MAPPING)


def test_every_line_is_routed_or_rejected_with_reason(loaded):
    rep = loaded.source_report["lines"]
    assert rep["rows_in"] == 541_909
    assert rep["to orders"] + rep["to returns"] + rep["missing customer_id"] == 541_909
    assert rep["missing customer_id"] == 135_080
    rej = loaded.source_rejects["lines"]
    assert len(rej) == 135_080
    assert set(rej["reason"]) == {"missing customer_id"}
    assert rej["CustomerID"].isna().all()


def test_customers_and_cancellations(loaded):
    assert loaded.tables["customers"]["customer_id"].nunique() == 4_372
    # ids are strings without a spurious ".0"
    assert loaded.tables["customers"]["customer_id"].str.fullmatch(r"\d{5}").all()
    returns = loaded.tables["returns"]
    rej = loaded.source_rejects["lines"]
    cancelled_without_customer = rej.loc[rej["InvoiceNo"].str.startswith("C"), "InvoiceNo"].nunique()
    assert set(returns["return_id"]).isdisjoint(set(rej["InvoiceNo"]))
    assert len(returns) + cancelled_without_customer == 3_836
    assert (returns["amount"] > 0).all()
    assert returns["return_id"].str.startswith("C").all()


def test_contract_tables_accept_all_mapped_rows(loaded):
    for name, r in loaded.result.report.items():
        assert r.rows_in == r.accepted + r.rejected, name
    orders = loaded.tables["orders"]
    assert not orders["order_id"].str.startswith("C").any()
    assert orders["ordered_at"].min().date().isoformat() == "2010-12-01"
