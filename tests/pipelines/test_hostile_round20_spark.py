"""The Spark engine's side of the twentieth hunt (`test_hostile_round20.py`): one Spark load, and two stops
before any Spark job."""

from __future__ import annotations

import pandas as pd
import pytest

from features.validation import StructuralError
from tests.pipelines.test_hostile_round20 import _orders_at_end_of_day, _orders_parquet


@pytest.mark.spark
def test_the_spark_engine_reads_end_of_day_and_stops_on_half_floats_and_web_pages(spark, tmp_path):
    """`--engine spark` parses dates and judges numbers on its executors with the pandas engine's code: a time at
    `24:00` is the next day's midnight (was: each row `unparseable ordered_at`, exit 0), an amount grouped the Indian
    way (`1,23,456.00`) the thousands separators' reject (was: `unparseable revenue`), Unix time in microseconds
    the Unix time reject (was: `ambiguous or unknown date format`), a time as Go prints it (`2023-01-02 01:00:00
    +0100 CET m=+0.000012`, round 22) the instant of its offset (was: that reject), MySQL's and SAP's zero
    dates the placeholder date reject (round 22; was: `unparseable ordered_at`), a phone number as the
    customer id the phone reject (round 22; was: accepted), the same counts by reason. A
    Parquet number column of 16-bit floats stops as in the pandas engine (was: Spark's own "Illegal Parquet type:
    FIXED_LEN_BYTE_ARRAY (FLOAT16)"), and so does a web page saved as a table (was: "its first line may be a data
    row"). A column outside the contract whose name holds a dot (`Qty.`) is read and written to the rejects as the
    pandas engine does (was: `AnalysisException [UNRESOLVED_COLUMN]` from PySpark's `mapInPandas`, exit 1)."""
    import pyarrow as pa

    from features.date_forms import UNIX_TIME_REASON
    from features.ids import PHONE_ID
    from features.placeholder_dates import ZERO_DATE_REASON
    from pipelines.config import load_config
    from pipelines.engines.spark_input import load_spark
    from pipelines.io import load_data

    cfg = load_config(None)
    data = _orders_at_end_of_day(tmp_path / "data")
    orders = pd.read_csv(data / "orders.csv", dtype=str)
    orders = pd.concat([orders] * 4, ignore_index=True).assign(
        order_id=[f"O{i}" for i in range(400)], revenue=[str(10 + i) for i in range(400)]
    )
    orders.loc[7, "revenue"] = "1,23,456.00"
    orders.loc[9, "ordered_at"] = "1672574400000000"  # Unix time in microseconds
    # Go's time.String() (round 22)
    orders.loc[11, "ordered_at"] = "2023-01-02 01:00:00 +0100 CET m=+0.000012"
    orders.loc[13, "ordered_at"] = "0000-00-00 00:00:00"  # MySQL's zero date (round 22)
    orders.loc[15, "ordered_at"] = "00000000"  # SAP's initial date (round 22)
    orders.loc[17, "customer_id"] = "+1 (555) 010-0199"  # a phone number as the id (round 22)
    orders["Qty."] = (
        "1"  # a column outside the contract whose name holds a dot (an ERP's `Qty.`, `Cust. No.`)
    )
    orders.to_csv(data / "orders.csv", index=False)
    got, _ = load_spark(spark, data, cfg, tmp_path / "rejects")
    expected = load_data(data)
    want = expected.result.report["orders"].rejected_by_reason
    assert got.result.report["orders"].rejected_by_reason == want
    assert want == {
        "unparseable ordered_at": 4,
        "number with a thousands separator or decimal comma in revenue": 1,
        UNIX_TIME_REASON.format("ordered_at"): 1,
        ZERO_DATE_REASON.format("ordered_at"): 2,
        PHONE_ID.format("customer_id"): 1,
    }
    assert sorted(got.tables["orders"]["ordered_at"]) == sorted(expected.tables["orders"]["ordered_at"])
    assert (got.tables["orders"]["ordered_at"] == pd.Timestamp("2023-01-02")).sum() == 5  # 4 at 24:00, Go's
    written = pd.concat(pd.read_csv(p, dtype=str) for p in (tmp_path / "rejects" / "orders").glob("*.csv"))
    assert len(written) == 9 and (written["Qty."] == "1").all()

    with pytest.raises(StructuralError, match=r"column 'revenue' holds 16-bit floats \(half precision"):
        load_spark(spark, _orders_parquet(tmp_path / "half", "revenue", pa.float16()), cfg, tmp_path / "r2")
    page = tmp_path / "page"
    page.mkdir()
    (page / "orders.csv").write_text("<!DOCTYPE html>\n<html><body>Sign in</body></html>\n")
    with pytest.raises(StructuralError, match=r"^orders\.csv is an HTML page \(its first bytes\)"):
        load_spark(spark, page, cfg, tmp_path / "r3")


@pytest.mark.spark
def test_the_spark_engine_stops_on_returns_naming_orders_in_another_case(spark, tmp_path):
    """Returns whose `order_id` is the orders' in lower case (`o0` for `O0`) stop as in the pandas engine
    (`features.return_checks.check_respelled_orders`, from `spark_cross_stops.returns_stops`; was: every return kept, exit
    0, the checks against its order skipped)."""
    from pipelines.config import load_config
    from pipelines.engines.spark_input import load_spark
    from tests.helpers import raw_orders

    orders = raw_orders(100)
    data = tmp_path / "data"
    data.mkdir()
    orders.to_csv(data / "orders.csv", index=False)
    pd.DataFrame(
        {
            "return_id": [f"R{i}" for i in range(10)],
            "customer_id": orders["customer_id"][:10],
            "returned_at": "2023-02-01",
            "amount": "1",
            "order_id": orders["order_id"][:10].str.lower(),
        }
    ).to_csv(data / "returns.csv", index=False)
    said = (
        r"table 'returns', column 'order_id': 10 of 10 rows name an order the orders table writes otherwise"
    )
    with pytest.raises(StructuralError, match=said):
        load_spark(spark, data, load_config(None), tmp_path / "rejects")
