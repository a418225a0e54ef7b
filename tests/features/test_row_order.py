"""`features.row_order.canonical_row_order`: a table already in its canonical order is recognised in one pass over
neighbouring rows and left as it is without sorting (issue 14: the sort of 2.3M orders cost 6-7 CPU-s at 250k
customers, for the identity); any other table is sorted exactly as before."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.row_order import canonical_row_order


def _stable_sorted(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    order = frame[by].reset_index(drop=True).sort_values(by, kind="stable", na_position="last").index
    return frame.take(order.to_numpy())


def _orders(rng: np.random.Generator, n: int) -> pd.DataFrame:
    days = rng.choice(["2024-01-01", "2024-01-02", "2024-01-03", None], size=n)
    return pd.DataFrame(
        {
            "order_id": pd.Series(rng.choice(["a", "b", "B", "é", "", "a1", None], size=n), dtype="str"),
            "ordered_at": pd.Series(pd.to_datetime(days), dtype="datetime64[ns]"),
            "revenue": rng.random(n),
        }
    )


def test_canonical_order_is_the_stable_sort_whether_or_not_the_rows_are_in_order():
    rng = np.random.default_rng(7)
    for trial in range(60):
        frame = _orders(rng, int(rng.integers(2, 10)))
        if trial % 2:  # half of them already in order, with ties, missing dates and missing ids
            frame = _stable_sorted(frame, ["ordered_at", "order_id"])
        tables = {"orders": frame}
        canonical_row_order(tables)
        pd.testing.assert_frame_equal(tables["orders"], _stable_sorted(frame, ["ordered_at", "order_id"]))


def test_a_table_in_order_is_not_sorted(monkeypatch):
    rng = np.random.default_rng(3)
    frame = _stable_sorted(_orders(rng, 2000), ["ordered_at", "order_id"])

    def no_sort(*args, **kwargs):
        raise AssertionError("sorted a table already in order")

    monkeypatch.setattr(pd.DataFrame, "sort_values", no_sort)
    tables = {"orders": frame}
    canonical_row_order(tables)
    assert tables["orders"] is frame
    shuffled = {"orders": frame.iloc[::-1]}
    with pytest.raises(AssertionError, match="already in order"):  # out of order: the sort decides
        canonical_row_order(shuffled)


def test_in_order_whatever_the_first_column_is_text_or_time():
    """The first column is compared over every neighbouring pair at once (slices), the later ones only where the
    earlier tie: the verdict is the stable sort's, for a table keyed by text alone (customers) and by three
    columns (assignments), in order or not, with ties and missing values."""
    from features.row_order import _in_order, sort_columns

    rng = np.random.default_rng(11)
    for trial in range(120):
        n = int(rng.integers(2, 12))
        ids = pd.Series(rng.choice(["a", "b", "B", "é", "", None], size=n), dtype="str")
        frames = {
            "customers": pd.DataFrame({"customer_id": ids}),
            "assignments": pd.DataFrame(
                {
                    "assigned_at": pd.to_datetime(rng.choice(["2024-01-01", "2024-01-02", None], size=n)),
                    "customer_id": ids,
                    "account_manager_id": pd.Series(rng.choice(["m1", "m2", None], size=n), dtype="str"),
                }
            ),
        }
        for name, frame in frames.items():
            by = sort_columns(name, frame.columns)
            if trial % 2:
                frame = _stable_sorted(frame, by)
            order = frame[by].reset_index(drop=True).sort_values(by, kind="stable", na_position="last").index
            assert _in_order(frame, by) == bool((order.to_numpy() == np.arange(n)).all()), (name, frame)
