"""`features.contract.median` (issue 14: `amount_scale`'s medians by one partition): pandas' `median`, bit for bit,
on float64 values of odd and even counts, ties and one or two values; other dtypes go to pandas' own."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract import amount_scale, median


def test_the_median_is_pandas_on_odd_and_even_counts_ties_and_few_values():
    rng = np.random.default_rng(5)
    cases = [
        np.array([7.25]),
        np.array([0.1, 0.2]),
        np.array([3.0, 3.0, 3.0, 3.0]),
        np.array([1e-300, 1e300]),
    ]
    for n in (3, 4, 101, 1000, 4097):
        cases.append(rng.lognormal(4, 1.5, n))  # no two equal
        cases.append(np.round(rng.lognormal(3, 1, n), 1))  # many ties
        cases.append(rng.integers(1, 5, n).astype(np.float64))  # a few values, mostly ties
    for values in cases:
        series = pd.Series(values)
        got, want = median(series), float(series.median())
        assert np.float64(got).view(np.uint64) == np.float64(want).view(np.uint64), (len(values), got, want)
        np.testing.assert_array_equal(series.to_numpy(), values)  # the caller's values are left as they were


def test_other_dtypes_are_pandas_median():
    assert median(pd.Series([1, 2, 3, 10], dtype="int64")) == 2.5
    assert median(pd.Series([1.5, 2.5], dtype="float32")) == float(
        pd.Series([1.5, 2.5], dtype="float32").median()
    )
    assert median(pd.Series([4.0, 1.0, 2.0], dtype="Float64")) == 2.0


def test_amount_scale_is_the_median_of_the_positive_values_as_before():
    rng = np.random.default_rng(6)
    revenue = np.round(rng.normal(50, 40, 10_001), 2)
    revenue[::17] = np.nan
    orders = pd.DataFrame({"revenue": revenue})
    tickets = pd.DataFrame({"effort_minutes": rng.integers(-2, 60, 2_000).astype(np.float64)})
    got = amount_scale({"orders": orders, "tickets": tickets})
    for key, values in (
        ("orders.revenue", orders["revenue"]),
        ("tickets.effort_minutes", tickets["effort_minutes"]),
    ):
        assert got[key] == float(values[values > 0].median())
