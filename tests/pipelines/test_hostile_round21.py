"""Hostile input classes closed in the twenty-first hunt: long ids a spreadsheet cut to 15 significant digits, and
serial day numbers of a workbook in the 1904 date system. Tiny hand-written files; no training, no model, no Spark
session (the Spark case: `test_hostile_round21_spark.py`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.validation import StructuralError
from tests.helpers import raw_orders

#: 16-digit customer ids as a spreadsheet writes them: 15 significant digits, then a zero.
CUT = [f"765432100000{i:03d}0" for i in range(8)]


def orders_of(folder: Path, customers: list[str], n: int = 40) -> Path:
    """`n` orders (`raw_orders`) of the `customers` in turn, written to `folder/orders.csv`."""
    folder.mkdir(parents=True, exist_ok=True)
    orders = raw_orders(n).assign(customer_id=[customers[i % len(customers)] for i in range(n)])
    orders.to_csv(folder / "orders.csv", index=False)
    return folder


def test_long_ids_cut_to_15_digits_by_a_spreadsheet_stop(tmp_path):
    """A spreadsheet keeps 15 significant digits: `7654321000000018` is written `7654321000000010`, and customers
    whose ids differed past the 15th digit became one. Was: read as written, exit 0 (the demo's 300 customers given
    17-digit ids, its orders so cut without a customers table: every order accepted, 300 customers read as 112);
    with a customers table the stop blamed "several rows per customer_id" or "an incomplete customers export". Now
    a stop naming the cut (`features.decimal_ids.check_cut_ids`). Long ids not cut, and 5 cut ones among them or
    alone (10**-5: could be chance), are read as before."""
    from pipelines.io import load_data

    said = r"column 'customer_id': all 8 ids of 16 digits or more end in zeros past their 15th digit \('76543"
    with pytest.raises(StructuralError, match=said):
        load_data(orders_of(tmp_path / "cut", CUT))
    real = [f"1234567890123456{i:03d}" for i in range(8)] + CUT[:5]  # 19-digit ids (a snowflake id)
    report = load_data(orders_of(tmp_path / "real", real)).result.report
    assert report["orders"].accepted == 40
    report = load_data(orders_of(tmp_path / "few", CUT[:5] + ["C1"])).result.report
    assert report["orders"].accepted == 40


def test_serial_day_numbers_are_told_in_both_date_systems(tmp_path):
    """Excel for Mac before 2011 counted days from 1904-01-01 (its "1904 date system"), 1,462 days after the
    1900 system's day 0: `42735` is 2016-12-31 in one and 2021-01-01 in the other. Was: the hint told the 1900
    date only, a wrong date for such a workbook; now both (`features.numeric_dates.numeric_dates_hint`)."""
    from pipelines.io import load_data

    folder = tmp_path / "data"
    folder.mkdir()
    raw_orders(10).assign(ordered_at=[str(42735 + i) for i in range(10)]).to_csv(
        folder / "orders.csv", index=False
    )
    with pytest.raises(StructuralError) as stop:
        load_data(folder)
    assert "(42735 is 2016-12-31, or 2021-01-01 in a workbook of the 1904 date system)" in str(stop.value)
    assert pd.Timestamp("1904-01-01") + pd.Timedelta(days=42735) == pd.Timestamp("2021-01-01")
