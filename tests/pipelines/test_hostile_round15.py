"""Hostile input classes closed in the fifteenth hunt. Tiny hand-written tables; no training, no model."""

from __future__ import annotations

import pytest

from features.validation import validate_tables
from tests.helpers import raw_orders

RANGE_REASON = "number out of a 64-bit float's range in {} (1e-400 read as 0, 1e400 as infinite)"


@pytest.mark.parametrize("written", ["1e-400", "-2.5E-999", "0." + "0" * 400 + "1", "1e400", "9" * 400])
def test_a_number_a_float_cannot_hold_is_rejected_naming_the_range(written):
    """`1e-400` (an export's number below the smallest float) was read as 0 without a word: an order of 0 revenue
    accepted, a quantity rejected `non-positive quantity`; `1e400` (or 400 digits) read as infinite and rejected
    `non-finite`, a reason for `inf`. Now both a reject naming the range (`features.parsing.unrepresentable`); a
    written 0 (`0e5`, `0.000`) and `inf` keep theirs."""
    orders = raw_orders(6).assign(quantity="2")
    orders.loc[1, "revenue"] = written
    orders.loc[2, "quantity"] = written
    orders.loc[[3, 4, 5], "revenue"] = ["0e5", "0.000", "inf"]
    report = validate_tables({"orders": orders}).report["orders"]
    assert report.rejected_by_reason == {
        RANGE_REASON.format("revenue"): 1,
        RANGE_REASON.format("quantity"): 1,
        "non-finite revenue": 1,
    }
