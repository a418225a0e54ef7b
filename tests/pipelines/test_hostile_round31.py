"""Hostile input closed in the thirty-first hunt: a Parquet timestamp column whose zone is no known zone (a typo, a
lower-case `utc`, `Z`). Tiny hand-written files; no training, no model, no Spark session."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.validation import StructuralError
from pipelines.io import load_data

_MICROS = [1_700_000_000_000_000, 1_700_100_000_000_000]


def _orders(folder, zone: str):
    folder.mkdir()
    table = pa.table(
        {
            "order_id": ["O1", "O2"],
            "customer_id": ["C1", "C2"],
            "ordered_at": pa.array(_MICROS, type=pa.timestamp("us", tz=zone)),
            "revenue": [10.0, 20.0],
        }
    )
    pq.write_table(table, folder / "orders.parquet")
    return folder


@pytest.mark.parametrize("zone", ["Mars/Olympus", "utc", "Z", "Europe/Pariss"])
def test_a_parquet_time_zone_that_is_no_zone_stops_naming_column_and_zone(tmp_path, zone):
    """Was: "cannot read .../orders.parquet: The zoneinfo module or pytz package must be installed" (exit 2, read
    as a machine lacking a package, nothing naming the column or its zone)."""
    with pytest.raises(StructuralError) as err:
        load_data(_orders(tmp_path / "data", zone))
    said = str(err.value)
    assert f"column ordered_at holds times in the zone {zone!r}, which is no known time zone" in said
    assert "pytz" not in said


@pytest.mark.parametrize("zone", ["Europe/Paris", "UTC", "+01:00", "Etc/GMT+1"])
def test_parquet_times_in_a_known_zone_or_offset_are_read(tmp_path, zone):
    loaded = load_data(_orders(tmp_path / "data", zone), timezone="UTC")
    assert len(loaded.tables["orders"]) == 2


@pytest.mark.parametrize("zone", ["Mars/Olympus", "utc"])
def test_the_spark_engine_stops_on_the_zone_as_the_pandas_engine(tmp_path, zone):
    """The Spark engine reads a local Parquet file's zones on the driver (`spark_sources.instant_columns`,
    `nanosecond_columns`) and handed them unchecked to the executors' pandas conversion (was); now the pandas
    engine's stop, on the driver. No session: the schema Spark gives is stood in for."""
    from types import SimpleNamespace

    from pyspark.sql.types import StructField, TimestampType

    from pipelines.engines.spark_sources import Source, instant_columns, nanosecond_columns

    folder = _orders(tmp_path / "data", zone)
    source = Source(str(folder / "orders.parquet"), "parquet", (folder / "orders.parquet",))
    frame = SimpleNamespace(schema=SimpleNamespace(fields=[StructField("ordered_at", TimestampType())]))
    with pytest.raises(StructuralError) as pandas_said:
        load_data(folder)
    for read in (lambda: instant_columns(source, frame), lambda: nanosecond_columns(source)):
        with pytest.raises(StructuralError) as spark_said:
            read()
        assert str(spark_said.value) == str(pandas_said.value)


def test_an_offset_no_place_keeps_is_unparseable_on_both_engines(tmp_path):
    """`+15:00`, `-13:00`, `+05:17`: offsets no clock on Earth keeps (from -12:00 to +14:00, in hours, half hours
    or `:45`), from a corrupted export or a time written into the offset. Was: read as given (the order of
    `2024-02-05T10:00:00+15:00` placed on 4 February at 19:00 UTC, exit 0); now the row's `unparseable` reject,
    the offsets places keep (`+14:00`, `-12:00`, `+05:45`, `-09:30`) read as before. One parser for both
    engines (`features.dates`, which the Spark engine's executors run)."""
    from tests.helpers import raw_orders

    kept = ["+14:00", "-12:00", "+05:45", "-09:30", "+01:00", "Z"]
    wrong = ["+15:00", "-13:00", "+05:17"]
    stamps = [f"2024-02-{day:02d}T10:00:00{off}" for day, off in enumerate(kept + wrong, start=1)]
    orders = raw_orders(len(stamps)).assign(ordered_at=stamps)
    folder = tmp_path / "data"
    folder.mkdir()
    orders.to_csv(folder / "orders.csv", index=False)
    loaded = load_data(folder)
    assert loaded.result.report["orders"].rejected_by_reason == {"unparseable ordered_at": 3}
    read = loaded.tables["orders"].set_index("order_id")["ordered_at"]
    assert len(read) == len(kept)
    first = orders["order_id"].iloc[0]  # `2024-02-01T10:00:00+14:00` is 20:00 UTC the day before
    assert read[first] == pd.Timestamp("2024-01-31 20:00")
