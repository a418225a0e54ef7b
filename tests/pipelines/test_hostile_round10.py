"""Hostile input classes closed in the tenth hunt. Tiny hand-written tables; no training, no model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.validation import StructuralError, validate_tables


def _orders(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(n)],
            "customer_id": [f"C{i}" for i in range(n)],
            "ordered_at": [f"2023-01-{i % 28 + 1:02d}" for i in range(n)],
            "revenue": ["10"] * n,
        }
    )


def test_float32_ids_from_2_pow_24_are_structural_not_collapsed():
    """A Parquet `float` (float32) id column cannot hold 16777217: ids from 2**24 on collapse onto their
    neighbours (the demo's 300 customers numbered from 20,000,000 became 151, exit 0). Refused like float64 ids
    from 2**53, naming the table, column and type; float32 ids below 2**24 stay exact."""
    n = 6
    big = _orders(n).assign(customer_id=np.array([20_000_000 + i for i in range(n)], dtype=np.float32))
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": big})
    assert str(got.value).startswith(
        "table 'orders', column 'customer_id': id stored as floating point (float32) with values >= 2**24"
    )
    small = _orders(n).assign(customer_id=np.array([16_777_215 - i for i in range(n)], dtype=np.float32))
    res = validate_tables({"orders": small})
    assert res.tables["orders"]["customer_id"].tolist() == [str(16_777_215 - i) for i in range(n)]
