"""Hostile input classes closed in the twenty-eighth hunt: dates with a weekday's or a zone's name in parentheses
(`2023-01-05 10:00 (Thu)`, `2023/01/05(木) 10:00`, JavaScript's `Date.toString()`), invoice or refund amounts in
another unit than the orders' told customer by customer (invoices in thousands, refunds in cents at a small share),
the date checks' `data.timezone` a required argument. Tiny hand-written files; no training, no model, no Spark
session (the Spark cases: its row step and its driver's rule called on the batches it streams; the hunt's log holds
the probes of the demo)."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

from features.validation import StructuralError
from tests.helpers import raw_orders
from tests.pipelines.test_hostile_round24 import _folder

_ASIDES = [
    "2023-01-05 10:00:00 (Thu)",
    "2023/01/05(Thu) 10:00",
    "2023/01/05(木) 10:00",
    "2023-01-05T10:00:00 (UTC)",
    "Thu Jan 05 2023 10:00:00 GMT+0100 (Central European Standard Time)",
]


def test_dates_with_a_weekday_or_zone_in_parentheses_stop_as_other_date_forms_do(tmp_path):
    """A part of an ISO date column written with the weekday after the date (`2023-01-05 10:00 (Thu)`: a report's
    or a Japanese or Korean system's `2023/01/05(木)`), a zone's name in parentheses (`(UTC)`), or as JavaScript's
    `Date.toString()` writes a date (a browser's or Node's date saved as text). Was: each row `ambiguous or unknown
    date format`, exit 0 (the demo with 10% of its orders so written lost 298). Now the stop for dates in another
    form (`features.date_forms._ASIDE`); the Spark row step's `OTHER_DATE` mask calls the same `other_date_forms`.
    A stray one stays the reject; text in parentheses without a date is no date."""
    from features.date_forms import other_date_forms
    from pipelines.engines.spark_checks import OTHER_DATE
    from pipelines.engines.spark_input import check_rows
    from pipelines.io import load_data

    orders = raw_orders(100)
    orders.loc[[3, 30, 60], "ordered_at"] = _ASIDES[:3]
    with pytest.raises(StructuralError, match=r"3 of 100 values are dates written in another form"):
        load_data(_folder(tmp_path / "share", orders=orders))
    out = next(check_rows(iter([orders]), "orders", 0, "UTC", {}, {}))
    hit = (out[OTHER_DATE].to_numpy() >> list(orders.columns).index("ordered_at")) & 1
    assert list(np.flatnonzero(hit)) == [3, 30, 60]
    values = pd.Series([*_ASIDES, "hello (Thu)", "(2023-01-05)"])
    assert list(other_date_forms(values, pd.Series(True, index=values.index))) == [True] * 5 + [False] * 2
    orders = raw_orders(100)
    orders.loc[7, "ordered_at"] = _ASIDES[0]
    report = load_data(_folder(tmp_path / "stray", orders=orders)).result.report["orders"]
    assert report.rejected_by_reason == {"ambiguous or unknown date format in ordered_at": 1}


def test_the_date_checks_take_the_zone_from_their_caller():
    """`data.timezone` decides which dates are placeholders at midnight, which local times a DST change skipped
    and which dates were midnight UTC: a default of "UTC" let a caller forget it (the Spark driver's `check_head`
    did). Now required (keyword-only on `_check_parsed`)."""
    from features.date_checks import check_date_column
    from features.validation import _check_parsed
    from pipelines.engines.spark_masks import column_masks

    for function in (_check_parsed, check_date_column, column_masks):
        assert inspect.signature(function).parameters["timezone"].default is inspect.Parameter.empty
