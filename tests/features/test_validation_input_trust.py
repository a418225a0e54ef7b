"""Issue 13, input side: dates are ISO 8601 unless declared, numbers finite and bounded, ids exact text,
misnamed and duplicate columns reported. Hand-written rows, expected values written out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.date_forms import ZONE_ABBREVIATION_REASON
from features.dates import parse_timestamps
from features.validation import StructuralError, validate_tables

UNKNOWN = "ambiguous or unknown date format in ordered_at"


def _orders(ordered_at: list[str], **extra: list) -> pd.DataFrame:
    n = len(ordered_at)
    cols = {
        "order_id": [f"o{i}" for i in range(n)],
        "customer_id": ["c1"] * n,
        "ordered_at": ordered_at,
        "revenue": ["10"] * n,
    }
    cols.update(extra)
    return pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in cols.items()})


def _reasons(res, table="orders") -> list[str]:
    return res.rejects[table]["reason"].tolist()


@pytest.mark.parametrize("value", ["15/01/2023", "01/15/2023", "15-01-2023", "Jan 5 2023", "05.01.2023"])
def test_undeclared_non_iso_dates_are_rejected_never_guessed(value):
    res = validate_tables({"orders": _orders(["2023-01-02", value])})
    assert res.tables["orders"]["ordered_at"].tolist() == [pd.Timestamp("2023-01-02")]
    assert _reasons(res) == [UNKNOWN]
    assert res.report["orders"].rows_in == 2 and res.report["orders"].accepted == 1


def test_declared_day_first_format_is_read_exactly():
    raw = _orders(["05/01/2023", "15/01/2023", "2023-01-15"])
    res = validate_tables({"orders": raw}, date_formats={"orders.ordered_at": "%d/%m/%Y"})
    assert res.tables["orders"]["ordered_at"].tolist() == [
        pd.Timestamp("2023-01-05"),
        pd.Timestamp("2023-01-15"),
    ]
    assert _reasons(res) == ["ordered_at does not match the declared date format %d/%m/%Y"]


@pytest.mark.parametrize(
    ("value", "expected_utc"),
    [
        ("2023-01-15T10:00:00Z", "2023-01-15 10:00"),
        ("2023-01-15 10:00+02", "2023-01-15 08:00"),
        ("2023-01-15 10:00+0200", "2023-01-15 08:00"),
        ("2023-01-15 10:00:00+02:00", "2023-01-15 08:00"),
        ("2023-01-15 10:00-05:30", "2023-01-15 15:30"),
        ("2023-01-15 10:00 Europe/Paris", "2023-01-15 09:00"),
        ("2023-07-15 10:00 Europe/Paris", "2023-07-15 08:00"),
        ("2023-01-15 10:00 UTC", "2023-01-15 10:00"),
    ],
)
def test_every_offset_form_and_iana_zone_parses_per_row(value, expected_utc):
    out = parse_timestamps(pd.Series(["2023-01-01", value], dtype="str"), "UTC")
    assert out.tolist() == [pd.Timestamp("2023-01-01"), pd.Timestamp(expected_utc)]


@pytest.mark.parametrize(
    "value, reason",
    [
        ("2023-01-15 10:00 CET", ZONE_ABBREVIATION_REASON.format("ordered_at")),  # its own reason
        ("2023-01-15 10:00Z UTC", UNKNOWN),
        ("2023-01-15 10:00 Mars/Olympus", UNKNOWN),
    ],
)
def test_unknown_zone_forms_are_row_rejects_not_tracebacks(value, reason):
    res = validate_tables({"orders": _orders(["2023-01-02", value])})
    assert _reasons(res) == [reason]


def test_numbers_non_finite_and_above_bounds_are_rejected():
    raw = _orders(["2023-01-02"] * 6)
    raw["revenue"] = pd.Series(["10", "inf", "-Infinity", "nan", "1e300", "999"], dtype="str")
    res = validate_tables({"orders": raw}, max_values={"orders.revenue": 1e9})
    assert res.tables["orders"]["revenue"].tolist() == [10.0, 999.0]
    assert _reasons(res) == [
        "non-finite revenue",
        "non-finite revenue",
        "unparseable revenue",
        "revenue above the configured maximum 1e+09 (data.max_values.orders.revenue)",
    ]


def test_parquet_float_inf_is_rejected():
    raw = _orders(["2023-01-02"] * 3).assign(revenue=[1.0, np.inf, 2.0])
    res = validate_tables({"orders": raw})
    assert _reasons(res) == ["non-finite revenue"]


def test_integer_ids_are_exact_text():
    big = 2**63 - 1
    raw = _orders(["2023-01-02"] * 2).assign(customer_id=pd.Series([big, 7], dtype="int64"))
    res = validate_tables({"orders": raw})
    assert res.tables["orders"]["customer_id"].tolist() == [str(big), "7"]


def test_float_ids_beyond_2_pow_53_are_refused_not_rounded():
    raw = _orders(["2023-01-02"] * 3).assign(customer_id=[2.0**63, 2.0**63 + 2048, 5.0])
    with pytest.raises(StructuralError, match=r"'orders', column 'customer_id'.*2\*\*53"):
        validate_tables({"orders": raw})


def test_fractional_float_ids_are_row_rejects():
    raw = _orders(["2023-01-02"] * 3).assign(customer_id=[1.0, 2.5, 3.0])
    res = validate_tables({"orders": raw})
    assert res.tables["orders"]["customer_id"].tolist() == ["1", "3"]
    assert _reasons(res) == ["non-integer id in customer_id"]


def test_misnamed_optional_column_is_reported_with_did_you_mean():
    raw = _orders(["2023-01-02"], Costs=["3"])  # a near miss in spelling; `Cost` is refused (case only)
    res = validate_tables({"orders": raw})
    assert res.report["orders"].ignored_columns == ("Costs",)
    assert res.report["orders"].did_you_mean == {"Costs": "cost"}


def test_near_miss_of_required_column_says_so():
    raw = _orders(["2023-01-02"]).rename(columns={"customer_id": "custmer_id"})
    with pytest.raises(StructuralError, match=r"did you mean 'custmer_id' -> 'customer_id'"):
        validate_tables({"orders": raw})


def test_duplicate_column_names_are_structural():
    raw = _orders(["2023-01-02"])
    raw = pd.concat([raw, raw[["revenue"]]], axis=1)
    with pytest.raises(StructuralError, match="duplicate column name.*revenue"):
        validate_tables({"orders": raw})
