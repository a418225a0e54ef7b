"""Stable tiers over runs: hand-made sequences (up, down, flapping, a problem entering, a gap) per rule."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from models.stability import stable_tiers
from models.tier_config import StabilityConfig
from tests.settings import override

V = "value"


def _rule(rule: str, **kw) -> StabilityConfig:
    return override("tiers", stability={"rule": rule, **kw}).stability


def _history(sequences: dict[str, list[tuple[str | None, float]]]) -> pd.DataFrame:
    """Runs 1..n of each customer, plus an anchor customer who is great at value 1,000 in every run (so every
    run's great boundary is 1,000 unless a lower raw-great value appears)."""
    n = max(len(s) for s in sequences.values())
    rows = [{"customer_id": "anchor", "as_of": run, "tier": "great", V: 1000.0} for run in range(1, n + 1)]
    for cid, seq in sequences.items():
        rows += [
            {"customer_id": cid, "as_of": run, "tier": t, V: v} for run, (t, v) in enumerate(seq, start=1)
        ]
    return pd.DataFrame(rows)


def _reported(frame: pd.DataFrame, cid: str) -> list[str | None]:
    part = frame[frame["customer_id"] == cid].sort_values("as_of")
    return [None if pd.isna(t) else str(t) for t in part["reported_tier"]]


FLAPPING = [("good", 990.0), ("great", 1010.0), ("good", 995.0), ("great", 1020.0), ("good", 990.0)]
CLEAR_UP = [("good", 500.0), ("great", 1500.0), ("great", 1600.0)]
CLEAR_DOWN = [("great", 1500.0), ("good", 400.0), ("good", 300.0)]
PROBLEM = [("great", 1500.0), ("problem", -50.0), ("good", 50.0), ("good", 200.0)]
GAP = [("good", 500.0), (None, float("nan")), ("great", 1020.0)]


def test_none_reports_the_raw_tier() -> None:
    got = stable_tiers(_history({"flap": FLAPPING}), _rule("none"), V)
    assert _reported(got, "flap") == [t for t, _ in FLAPPING]
    assert (got["raw_tier"].astype(str) == got["tier"].astype(str)).all()


def test_margin_rule() -> None:
    seqs = {"flap": FLAPPING, "up": CLEAR_UP, "down": CLEAR_DOWN, "prob": PROBLEM, "gap": GAP}
    got = stable_tiers(_history(seqs), _rule("margin", margin_share=0.1), V)
    # boundary 1,000, margin 100: 1,010 and 1,020 are not enough to move up; 990 not enough to move down
    assert _reported(got, "flap") == ["good"] * 5
    assert _reported(got, "up") == ["good", "great", "great"]
    assert _reported(got, "down") == ["great", "good", "good"]
    # a problem is reported at once; leaving needs the value 100 above 0
    assert _reported(got, "prob") == ["great", "problem", "problem", "good"]
    # a gap starts the history again: the first run after it reports the raw tier
    assert _reported(got, "gap") == ["good", None, "great"]
    # the raw tier stays beside the reported one
    flap = got[got["customer_id"] == "flap"].sort_values("as_of")
    assert flap["raw_tier"].astype(str).tolist() == [t for t, _ in FLAPPING]


def test_consecutive_rule() -> None:
    seqs = {"flap": FLAPPING, "up": CLEAR_UP, "down": CLEAR_DOWN, "prob": PROBLEM}
    got = stable_tiers(_history(seqs), _rule("consecutive", runs=2), V)
    assert _reported(got, "flap") == ["good"] * 5  # never two runs in a row
    assert _reported(got, "up") == ["good", "good", "great"]
    assert _reported(got, "down") == ["great", "great", "good"]
    assert _reported(got, "prob") == ["great", "problem", "problem", "good"]
    three = stable_tiers(_history({"up": CLEAR_UP}), _rule("consecutive", runs=3), V)
    assert _reported(three, "up") == ["good", "good", "good"]


def test_flapping_is_reduced_by_both_rules() -> None:
    history = _history({"flap": FLAPPING})

    def changes(rule: StabilityConfig) -> int:
        tiers = _reported(stable_tiers(history, rule, V), "flap")
        return sum(a != b for a, b in zip(tiers, tiers[1:], strict=False))

    assert changes(_rule("none")) == 4
    assert changes(_rule("margin", margin_share=0.1)) == 0
    assert changes(_rule("consecutive", runs=2)) == 0


def test_bad_input_and_settings() -> None:
    with pytest.raises(ValueError, match="one row per"):
        stable_tiers(pd.concat([_history({"a": CLEAR_UP})] * 2), _rule("none"), V)
    with pytest.raises(ValueError, match="lacks columns"):
        stable_tiers(_history({"a": CLEAR_UP}).drop(columns=V), _rule("none"), V)
    with pytest.raises(ValidationError):
        _rule("sometimes")
    with pytest.raises(ValidationError):
        _rule("consecutive", runs=0)
