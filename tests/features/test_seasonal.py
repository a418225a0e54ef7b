"""Seasonal features (features/seasonal.py), hand-computed on a two-customer company.

Cutoff 2024-07-01, windows 30 and 90 days. One year before the cutoff is 2023-07-02 (2024 is a leap year), so
the same 30 days a year earlier are [2023-07-02, 2023-08-01) and the same 90 days [2023-07-02, 2023-09-30); the
trailing windows are [2024-06-01, 2024-07-01) and [2024-04-02, 2024-07-01).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from features.seasonal import NO_SEASONAL_HISTORY, profile_weight, seasonal_history_note
from features.table import build_feature_table, build_feature_table_with_manifest, company_revenue
from tests.features.test_properties import SETTINGS, _append, random_tables
from tests.settings import override

CUTOFF = pd.Timestamp("2024-07-01")
CFG = override("features", windows_days=(30, 90, 365))
SEASONAL = [
    "season_start_sin",
    "season_start_cos",
    "season_company_index_30d",
    "season_company_index_90d",
    "season_revenue_last_year_30d",
    "season_revenue_last_year_90d",
]


def _orders(rows: list[tuple[str, str, float]]) -> dict[str, pd.DataFrame]:
    ids, times, revenue = zip(*rows, strict=True)
    return {
        "orders": pd.DataFrame(
            {
                "order_id": pd.Series([f"o{i}" for i in range(len(rows))], dtype="str"),
                "customer_id": pd.Series(ids, dtype="str"),
                "ordered_at": pd.Series(pd.to_datetime(list(times))).astype("datetime64[ns]"),
                "revenue": list(revenue),
            }
        )
    }


YEAR_OF_HISTORY = [
    ("B", "2023-06-01", 50.0),  # the company's first order: more than a year before the cutoff
    ("A", "2023-07-10", 100.0),  # the same 30 (and 90) days a year earlier
    ("A", "2024-05-01", 100.0),  # trailing 90 days, not 30
    ("B", "2024-06-15", 200.0),  # trailing 30 and 90 days
    ("B", "2024-07-01", 9999.0),  # at the cutoff: never read
]


def test_seasonal_columns_hand_computed() -> None:
    got = build_feature_table(_orders(YEAR_OF_HISTORY), CUTOFF, CFG)
    angle = 2 * np.pi * 182 / 365.25  # 1 July 2024 is day 183 of the year
    np.testing.assert_allclose(got["season_start_sin"], np.sin(angle))
    np.testing.assert_allclose(got["season_start_cos"], np.cos(angle))
    # Company: 100 in the same 30 days a year before / 200 in the last 30 days; 100 / (200 + 100) over 90 days.
    np.testing.assert_allclose(got["season_company_index_30d"], 0.5)
    np.testing.assert_allclose(got["season_company_index_90d"], 1 / 3)
    assert got.loc["A", "season_revenue_last_year_30d"] == 100.0
    assert got.loc["A", "season_revenue_last_year_90d"] == 100.0
    assert got.loc["B", "season_revenue_last_year_30d"] == 0.0
    # A window of a year has no position within the year.
    assert not any(c.endswith("_365d") and c.startswith("season_") for c in got.columns)


def test_less_than_a_year_is_missing_and_said() -> None:
    short = [r for r in YEAR_OF_HISTORY if r[1] != "2023-06-01"]  # first order now 2023-07-10
    got, manifest = build_feature_table_with_manifest(_orders(short), CUTOFF, CFG)
    assert got[SEASONAL[2:]].isna().all().all()
    assert got["season_start_sin"].notna().all()
    assert any(NO_SEASONAL_HISTORY in note for note in manifest.notes)


def test_short_history_uses_the_configured_profile() -> None:
    short = [r for r in YEAR_OF_HISTORY if r[1] != "2023-06-01"]
    profile = [1.0] * 12
    profile[6] = 2.0  # July twice as busy as every other month
    cfg = override("features", windows_days=(30, 90, 365), seasonal_profile=profile)
    got, manifest = build_feature_table_with_manifest(_orders(short), CUTOFF, cfg)
    # July 1-30 (30 days at 2/31 each) against June (30 days at 1/30).
    np.testing.assert_allclose(got["season_company_index_30d"], 60 / 31)
    # 90 days: July, August and 28 of September's 30 days against April 2 - June 30 (29/30 + 1 + 1).
    np.testing.assert_allclose(got["season_company_index_90d"], (2 + 1 + 28 / 30) / (29 / 30 + 2))
    assert got["season_revenue_last_year_30d"].isna().all()  # the customers' last year was not observed
    assert any("seasonal_profile" in note for note in manifest.notes)
    assert not any(NO_SEASONAL_HISTORY in note for note in manifest.notes)
    # Learned history wins over the profile.
    learned = build_feature_table(_orders(YEAR_OF_HISTORY), CUTOFF, cfg)
    np.testing.assert_allclose(learned["season_company_index_30d"], 0.5)


def test_profile_weight_spreads_months_over_their_days() -> None:
    days = pd.DatetimeIndex(["2024-02-01", "2024-03-01"]).as_unit("ns").asi8
    ends = pd.DatetimeIndex(["2024-03-01", "2024-03-16"]).as_unit("ns").asi8
    weights = [float(m) for m in range(1, 13)]
    np.testing.assert_allclose(profile_weight(days, ends, weights), [2.0, 3.0 * 15 / 31])


@pytest.mark.parametrize("profile", [[1.0] * 11, [1.0] * 11 + [0.0], [1.0] * 11 + [-1.0]])
def test_invalid_profile_is_rejected(profile: list[float]) -> None:
    with pytest.raises(ValidationError):
        override("features", seasonal_profile=profile)


def test_a_chunk_gets_the_whole_company_season() -> None:
    tables = _orders(YEAR_OF_HISTORY)
    whole = build_feature_table(tables, CUTOFF, CFG)
    only_a = {"orders": tables["orders"][tables["orders"]["customer_id"] == "A"]}
    chunk = build_feature_table(only_a, CUTOFF, CFG, company_revenue=company_revenue(tables, CUTOFF, CFG))
    pd.testing.assert_frame_equal(chunk.loc[["A"], SEASONAL], whole.loc[["A"], SEASONAL])
    # Without the company numbers the chunk would see only A's orders (and less than a year of history).
    alone = build_feature_table(only_a, CUTOFF, CFG)
    assert alone["season_company_index_30d"].isna().all()


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), extra_seed=st.integers(0, 2**32 - 1))
def test_seasonal_columns_ignore_events_at_or_after_the_cutoff(seed: int, extra_seed: int) -> None:
    cfg = override("features", windows_days=(30, 90), trend_window_days=30, active_within_days=60)
    base = random_tables(seed, CUTOFF - 500 * pd.Timedelta(days=1), CUTOFF + 100 * pd.Timedelta(days=1))
    extra = random_tables(extra_seed, CUTOFF, CUTOFF + 300 * pd.Timedelta(days=1))
    extra["orders"].loc[0, "ordered_at"] = CUTOFF
    signup = extra["customers"]["signup_at"]
    extra["customers"]["signup_at"] = signup.where(signup >= CUTOFF, CUTOFF)
    before = build_feature_table(base, CUTOFF, cfg)
    after = build_feature_table(_append(base, extra), CUTOFF, cfg)
    assert set(SEASONAL) <= set(before.columns)
    pd.testing.assert_frame_equal(after[SEASONAL], before[SEASONAL])


def test_the_scoring_note_says_when_totals_are_extrapolated_without_a_seasonal_history():
    # Orders from 2010-12-01 (the Online Retail shape), scored on 2011-09-01 by a model trained on 2011 cutoffs.
    times = pd.Series(pd.to_datetime(["2010-12-01", "2011-03-05", "2011-08-30", "2011-09-02"]))
    fitted = ["2011-01-01", "2011-06-01"]
    note = seasonal_history_note(times, pd.Timestamp("2011-09-01"), fitted, (30, 90, 365), None)
    assert note is not None and NO_SEASONAL_HISTORY in note
    assert "start on 2010-12-01, less than a year earlier" in note
    assert "none of the model's 2 training cutoffs (2011-01-01 to 2011-06-01)" in note
    # A configured profile is used instead: the note says so and does not say "extrapolated".
    weights = (1.0,) * 11 + (2.0,)
    with_profile = seasonal_history_note(times, pd.Timestamp("2011-09-01"), fitted, (30, 90), weights)
    assert with_profile is not None and "features.seasonal_profile" in with_profile
    assert NO_SEASONAL_HISTORY not in with_profile
    # A year of orders before the scoring date, but the model never saw one: still extrapolated.
    later = seasonal_history_note(times, pd.Timestamp("2011-12-05"), fitted, (90,), None)
    assert later is not None and "training cutoffs" in later and "less than a year earlier" not in later
    # A year before the scoring date and before a training cutoff: nothing to say; no window under a year either.
    assert seasonal_history_note(times, pd.Timestamp("2012-01-02"), ["2011-12-01"], (90,), None) is None
    assert seasonal_history_note(times, pd.Timestamp("2011-09-01"), fitted, (365,), None) is None


def test_the_first_order_before_as_of_is_the_pandas_definitions_whatever_the_times():
    """`_first_before` (one pass over naive datetime64 times, issue 14) gives what `to_datetime`, `dropna`, the
    filter and `min` gave: missing times ignored, times at or after as-of ignored, None when nothing is before,
    for times in ns and us, a Series or an array."""
    from features.seasonal import _first_before

    def expected(times, as_of):
        t = pd.to_datetime(pd.Series(np.asarray(times))).dropna()
        t = t[t < as_of]
        return None if t.empty else t.min()

    rng = np.random.default_rng(4)
    as_of = pd.Timestamp("2024-06-01")
    for trial in range(40):
        n = int(rng.integers(0, 30))
        days = rng.integers(-400, 60, size=n)
        times = pd.Series(as_of + pd.to_timedelta(days, unit="D"))
        times[rng.random(n) < 0.2] = pd.NaT
        unit = "ns" if trial % 2 else "us"
        for times_in in (times.astype(f"datetime64[{unit}]"), times.to_numpy()):
            got, want = _first_before(times_in, as_of), expected(times_in, as_of)
            assert (got is None and want is None) or got == want, (trial, times_in, got, want)
    nat = pd.Series([pd.NaT, pd.NaT], dtype="datetime64[ns]")
    after = pd.Series(pd.to_datetime(["2024-06-01", "2024-07-01", None]))
    assert _first_before(nat, as_of) is None and _first_before(after, as_of) is None
    assert _first_before(
        pd.Series(pd.to_datetime(["2024-07-01 00:00", None, "2024-05-31 23:59"])), as_of
    ) == pd.Timestamp("2024-05-31 23:59")
