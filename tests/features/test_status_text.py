"""The status reasons' dates and day counts (`features.population`), each distinct value formatted once (issue 14:
a million customers' reasons name a few thousand days): the text of every value is what formatting it alone
gives, NaT as "" (dates before 1970 included)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features._engine import NAT
from features.population import _days_text, _thousands


def test_each_day_is_the_text_of_its_own_date():
    rng = np.random.default_rng(2)
    start = pd.Timestamp("1960-01-01").value
    values = (
        start + rng.integers(0, 80 * 365, 5000) * 86_400_000_000_000 + rng.integers(-(10**12), 10**14, 5000)
    )
    values[rng.random(5000) < 0.1] = NAT
    expected = ["" if v == NAT else pd.Timestamp(v).floor("D").strftime("%Y-%m-%d") for v in values.tolist()]
    got = _days_text(values.astype(np.int64))
    assert got.dtype == object and got.tolist() == expected
    assert _days_text(np.array([], dtype=np.int64)).tolist() == []


def test_each_count_is_written_with_thousands_separators():
    values = np.array([1825, 0, 12, 1825, 1_000_000, -3, 999, 1000], dtype=np.int64)
    assert _thousands(values).tolist() == [f"{v:,}" for v in values.tolist()]
