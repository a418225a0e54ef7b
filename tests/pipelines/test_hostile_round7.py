"""Hostile input classes closed in the seventh hunt: placeholder dates written for every missing date (`9999-12-31`
for "never", `1900-01-01`), a required column empty throughout. Tiny hand-written tables; no training, no model."""

from __future__ import annotations

import pandas as pd
import pytest

from features.validation import StructuralError, validate_tables


def _orders(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(n)],
            "customer_id": [f"C{i}" for i in range(n)],
            "ordered_at": [f"2023-01-{i + 2:02d}" for i in range(n)],
            "revenue": ["10"] * n,
        }
    )


def _customers(churned_at: list[object]) -> pd.DataFrame:
    n = len(churned_at)
    return pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)], "churned_at": churned_at})


@pytest.mark.parametrize(
    "never",
    ["9999-12-31", "9999-12-31 23:59:59", "9999-12-31T23:59:59Z", "2999-12-31", "3000-01-01", "1900-01-01"],
)
def test_a_placeholder_date_written_for_every_missing_date_is_structural(never):
    """A warehouse export writes `9999-12-31` (or SQL Server's `1900-01-01`) for every customer never cancelled
    (was: each such customer an `impossible date in churned_at` reject, and every order of theirs `unknown
    customer_id`: the demo's 276 of 306 customers and 2,741 of 2,980 orders gone, exit 0)."""
    customers = _customers([never, never, never, "2023-06-01", "", never])
    with pytest.raises(
        StructuralError, match=r"'churned_at': 4 of 6 rows hold .*placeholder for a missing value"
    ):
        validate_tables({"orders": _orders(), "customers": customers})


def test_a_stray_open_end_date_is_a_placeholder_reject_not_an_impossible_date():
    """One `9999-12-31` among real dates stays a row reject, named for what it is; a Parquet timestamp column
    holding it (beyond pandas' nanosecond range) and a zoned one are read the same way; `2300-05-17` stays
    impossible."""
    import datetime as dt

    n = 400  # one of 400: under the 1% of a convention
    real = [dt.datetime(2023, 6, 1)] * (n - 2)
    for values in (
        [dt.datetime(9999, 12, 31), dt.datetime(2300, 5, 17), *real],
        pd.Series([dt.datetime(9999, 12, 31), dt.datetime(2300, 5, 17), *real], dtype="datetime64[us]"),
        pd.Series(
            [dt.datetime(9999, 12, 31, 23), dt.datetime(2300, 5, 17), *real], dtype="datetime64[us]"
        ).dt.tz_localize("UTC"),
    ):
        res = validate_tables({"orders": _orders(n), "customers": _customers(values)}, "Asia/Tokyo")
        assert res.report["customers"].rejected_by_reason == {
            "placeholder date in churned_at (9999-12-31, 2999-12-31, ...: an open end)": 1,
            "impossible date in churned_at": 1,
        }
        assert res.report["customers"].accepted == n - 2


@pytest.mark.parametrize(
    "table, frame, column",
    [
        (
            "tickets",
            pd.DataFrame(
                {
                    "ticket_id": ["T1", "T2", "T3"],
                    "customer_id": ["C0", "C1", "C2"],
                    "opened_at": ["2023-01-05"] * 3,
                    "effort_minutes": ["", " ", None],
                }
            ),
            "effort_minutes",
        ),
        (
            "returns",
            pd.DataFrame(
                {
                    "return_id": ["R1", "R2", "R3"],
                    "customer_id": [None] * 3,
                    "returned_at": ["2023-01-05"] * 3,
                    "amount": ["1", "2", "3"],
                }
            ),
            "customer_id",
        ),
    ],
)
def test_a_required_column_empty_on_every_row_is_structural(table, frame, column):
    """An export that emptied a required column (was: every row a `missing <column>` reject, the table lost and
    exit 0: the demo's 701 tickets gone, every customer's cost to serve with them). A few missing values stay
    row rejects."""
    with pytest.raises(StructuralError, match=rf"'{column}': required, and empty on every one of the 3 rows"):
        validate_tables({"orders": _orders(), table: frame})
    frame.loc[0, column] = "C0" if column == "customer_id" else "30"
    res = validate_tables({"orders": _orders(), table: frame})
    assert res.report[table].rejected_by_reason == {f"missing {column}": 2}


def test_a_parquet_file_written_with_its_key_as_the_pandas_index_is_read_with_that_column(tmp_path):
    """`df.set_index("order_id").to_parquet(...)`: the key is a column of the file, which pandas restores as the
    index (was: "missing required column(s) order_id", the column present). An unnamed index is the writer's row
    labels, not data; a column written twice is named, not Arrow's schema dump ("Multiple matches for
    FieldRef.Name(revenue) in order_id: large_string ... __fragment_index: int32")."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.io import load_data

    orders = _orders().assign(revenue=10.0)
    orders.set_index(["order_id", "customer_id"]).to_parquet(tmp_path / "orders.parquet")
    loaded = load_data(tmp_path)
    assert loaded.tables["orders"]["order_id"].tolist() == orders["order_id"].tolist()
    assert loaded.result.report["orders"].ignored_columns == ()
    orders.iloc[::2].to_parquet(tmp_path / "orders.parquet")  # index 0, 2, 4 stored as __index_level_0__
    assert load_data(tmp_path).result.report["orders"].ignored_columns == ()
    table = pa.Table.from_pandas(orders, preserve_index=False)
    pq.write_table(table.append_column("revenue", table["revenue"]), tmp_path / "orders.parquet")
    with pytest.raises(
        StructuralError, match=r"orders.parquet: duplicate column name\(s\) revenue in the schema"
    ):
        load_data(tmp_path)
