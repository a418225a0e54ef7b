"""`pipelines.history_identity.base_signature`: the window's order ids taken before they become Python objects
(issue 14) give the signature every order's ids gave."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from pipelines.engines.chunks import HASH_KEY
from pipelines.history_identity import SAMPLE, WINDOW_DAYS, base_signature

AS_OF = pd.Timestamp("2025-06-30")


def _reference(orders: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, str]:
    """The signature as first written: every order id made a Python object, then the window's kept."""
    when = orders["ordered_at"]
    at = np.flatnonzero(
        ((when < as_of) & (when >= as_of - pd.Timedelta(days=WINDOW_DAYS))).to_numpy(dtype=bool)
    )
    ids = np.asarray(orders["order_id"].to_numpy()[at], dtype=object)
    hashes = pd.util.hash_array(ids, hash_key=HASH_KEY, categorize=False)
    lowest = np.argpartition(hashes, SAMPLE - 1)[:SAMPLE]
    rows = orders.iloc[at[lowest]]
    out = {
        f"{int(key):016x}": hashlib.sha256(f"{o}|{c}".encode()).hexdigest()[:12]
        for key, o, c in zip(hashes[lowest], rows["order_id"], rows["customer_id"], strict=True)
    }
    return dict(sorted(out.items()))


def _orders(n: int, dtype: str) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    days = rng.integers(0, 3 * 365, n)
    return pd.DataFrame(
        {
            "order_id": pd.array([f"ord-{i:06d}é" if i % 5 == 0 else f"O{i}" for i in range(n)], dtype=dtype),
            "customer_id": pd.array([f"c{i % 97}" for i in range(n)], dtype=dtype),
            "ordered_at": pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D"),
        }
    ).sample(frac=1.0, random_state=3)  # rows in no order: the window's positions are scattered


@pytest.mark.parametrize("dtype", ["str", "object", "string[pyarrow]"])
def test_the_signature_is_the_one_every_orders_ids_gave(dtype: str) -> None:
    orders = _orders(5_000, dtype)
    got = base_signature(orders, AS_OF)
    assert len(got) == SAMPLE
    assert got == _reference(orders, AS_OF)


def test_no_order_in_the_window_gives_an_empty_signature() -> None:
    orders = _orders(200, "str")
    assert base_signature(orders, pd.Timestamp("2020-01-01")) == {}
