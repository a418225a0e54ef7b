"""`GroupColumns.reading`: the one prologue of the feature groups that read an optional table."""

from __future__ import annotations

import pandas as pd

from features.builder import GroupColumns

TABLES = {"customers": pd.DataFrame({"customer_id": ["a"], "segment": ["x"]}), "invoices": pd.DataFrame()}


def test_missing_table_makes_the_group_absent_with_its_reason():
    g = GroupColumns.reading(TABLES, "referrals")
    assert g.absent == "referrals table absent"
    assert g.used == set() and g.columns == {}


def test_present_table_is_marked_used():
    g = GroupColumns.reading(TABLES, "invoices")
    assert g.absent is None and g.used == {"invoices"}
    g = GroupColumns.reading(TABLES, "customers", ("segment", "size"), "customers has no segment/size")
    assert g.absent is None and g.used == {"customers"}


def test_table_without_any_needed_column_is_absent_with_the_given_reason():
    g = GroupColumns.reading(TABLES, "customers", ("size", "region"), "customers has no size/region")
    assert g.absent == "customers has no size/region"
    assert g.used == set()
