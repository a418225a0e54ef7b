"""`cvp score`'s closing line: the whole base by status, the scored customers by tier (`score_summary`)."""

from __future__ import annotations

from pipelines.score_console import score_summary


def test_closing_line_counts_scored_apart_from_the_base() -> None:
    statuses = {"cancelled": 36, "lapsed": 87, "new": 10, "scored": 377}
    tiers = {"good": 152, "great": 71, "problem": 154}
    assert score_summary(statuses, tiers) == (
        "510 customers: 377 scored (great 71, good 152, problem 154), 87 lapsed, 36 cancelled, 10 new"
    )


def test_closing_line_when_nobody_is_scored() -> None:
    assert score_summary({"lapsed": 500, "no_orders_yet": 10}, {}) == (
        "510 customers: none scored, 500 lapsed, 10 no orders yet"
    )
    assert score_summary({"scored": 1}, {"great": 1}) == "1 customer: 1 scored (great 1)"
