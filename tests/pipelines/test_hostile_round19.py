"""Hostile input classes closed in the nineteenth hunt: ISO 8601's decimal comma in a time and its hour-only form.
Tiny hand-written files; no training, no model, no Spark session (the Spark cases:
`test_hostile_round19_spark.py`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.validation import StructuralError
from tests.helpers import raw_orders


def _orders_with_times(folder: Path, every: int, written) -> Path:
    """100 orders at 10:15:30 and a half second, every `every`-th written by `written(day)` instead."""
    folder.mkdir(parents=True, exist_ok=True)
    orders = raw_orders(100)
    orders["ordered_at"] = orders["ordered_at"] + " 10:15:30.5"
    orders.loc[::every, "ordered_at"] = orders["ordered_at"][::every].str.slice(0, 10).map(written)
    orders.to_csv(folder / "orders.csv", index=False)
    return folder


@pytest.mark.parametrize(
    "written",
    [
        lambda day: f"{day} 10:15:30,5",  # Python logging's asctime, log4j's default, Java's `,SSS`
        lambda day: f"{day}T10:15:30,500000Z",
        lambda day: f"{day}T11:15:30,5+01:00",
        lambda day: f"{day} 10:15:30,5 UTC",
    ],
    ids=["naive", "z", "offset", "utc"],
)
def test_a_time_with_iso_8601s_decimal_comma_is_read(tmp_path, written):
    """ISO 8601 writes a fraction of a second with a comma as well as a point (and prefers the comma): Python
    logging's `2023-01-05 10:15:30,500`, log4j's and Java's `,SSS`. Was: each such row rejected `ambiguous or
    unknown date format in ordered_at`, exit 0 (the demo with 5% of its orders so: 149 orders gone; a whole column
    so, the stop "do not parse as a date"). Now read as the point is (`features.dates._ISO`, both engines' parser)."""
    from pipelines.io import load_data

    loaded = load_data(_orders_with_times(tmp_path / "data", 10, written))
    assert loaded.result.report["orders"].rejected == 0
    got = loaded.tables["orders"]["ordered_at"]
    assert (got.dt.strftime("%H:%M:%S.%f") == "10:15:30.500000").all()
    assert got.iloc[0] == pd.Timestamp("2023-01-01 10:15:30.5")


def test_a_placeholder_date_with_a_decimal_comma_is_still_a_placeholder():
    """The comma is read, so `1970-01-01T00:00:00,000Z` is the epoch's midnight, as written with a point."""
    from features.dates import parse_timestamps_native, placeholder_rows

    raw = pd.Series(["1970-01-01T00:00:00,000Z", "1970-01-01 00:00:00,000", "2023-01-05 10:00:00,1"])
    parsed, unknown = parse_timestamps_native(raw, "Europe/Paris")
    placeholder, _ = placeholder_rows(raw, parsed, None)
    assert placeholder.tolist() == [True, True, False] and not unknown.any()


@pytest.mark.parametrize(
    "written", [lambda day: f"{day} 10", lambda day: f"{day}T10Z"], ids=["hour", "hour-z"]
)
def test_dates_with_their_hour_only_are_another_form(tmp_path, written):
    """ISO 8601's reduced form `2023-01-05 10` (a date and its hour, no minutes) among a column's date-times:
    was each row rejected `ambiguous or unknown date format`, exit 0 (the demo with 5% of its orders so: 149
    orders gone). Now, on 1% of the column or more, the stop for dates in another form, as ISO's other reduced
    forms (`2023-03`, `2023-064`) are (`features.date_forms._ISO_OTHER`); no minute is guessed."""
    from pipelines.io import load_data

    with pytest.raises(StructuralError, match=r"10 of 100 values are dates written in another form"):
        load_data(_orders_with_times(tmp_path / "data", 10, written))


def test_a_mapping_source_column_named_like_a_yaml_1_1_boolean_is_a_column(tmp_path):
    """A source column `No` (an invoice's number), `On`, `Off`, `Yes`: PyYAML reads them as YAML 1.1's booleans,
    and the mapping stopped with `tables.orders.columns.order_id.str = False: should be a valid string`, naming a
    value the user never wrote. Now only YAML 1.2's `true`/`false` are booleans (`pipelines.yamlfile`, the one
    reader of configs and mappings): the column is read."""
    import yaml

    from pipelines.mapping import load_mapping

    path = tmp_path / "mapping.yaml"
    path.write_text(
        yaml.safe_dump({"sources": {"sales": {"file": "sales.csv"}}})
        + "tables:\n  orders:\n    source: sales\n    columns:\n      order_id: No\n      customer_id: On\n"
        "      ordered_at: Off\n      revenue: Yes\n"
    )
    columns = load_mapping(path).tables["orders"].columns
    assert columns == {"order_id": "No", "customer_id": "On", "ordered_at": "Off", "revenue": "Yes"}


def test_yaml_1_1_octal_and_base_60_numbers_are_not_read_in_a_config(tmp_path):
    """`windows_days: [030, 090, 365]` (zero-padded to line up) was read `[24, 90, 365]` (`030` octal) and
    `horizon_days: 1:30` as 90 (base 60), both without a word. Now a leading zero is decimal and `1:30`, `0x5A`
    are text, refused by name."""
    from pipelines.config import load_config

    padded = tmp_path / "padded.yaml"
    padded.write_text("features:\n  windows_days: [030, 090, 365]\nlabels:\n  reach_last_year: true\n")
    assert tuple(load_config(padded).features.windows_days) == (30, 90, 365)
    for written in ("1:30", "0x5A"):
        odd = tmp_path / "odd.yaml"
        odd.write_text(f"labels:\n  horizon_days: {written}\n")
        with pytest.raises(
            StructuralError, match=f"labels.horizon_days = '{written}': should be a valid integer"
        ):
            load_config(odd)
