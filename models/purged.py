"""Purged time splits of a multi-cutoff training set: fit and validation slices behind an embargo of one horizon.

Table contract: `purged_slices(cutoff, n_rows, horizon_days, share)` takes the cutoff of every training row (one row
per customer and cutoff) and returns boolean row masks (`PurgedSlices`) for early stopping and calibration, so
that no validated label window [v, v + h) overlaps a fitted one [c, c + h). Used by the value model
(`models.value`) and the churn model (`models.churn`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.seasonal import YEAR_DAYS


@dataclass(frozen=True)
class PurgedSlices:
    """Row masks of a purged time split of a multi-cutoff training set (see `purged_slices`).

    - `es_fit` / `es_valid`: the early-stopping booster is fitted on `es_fit` and watches `es_valid`;
    - `cal_fit` / `cal_valid`: the calibration booster (same rounds) is fitted on `cal_fit`; its predictions on
      `cal_valid` give the total correction (leaf rescaling), the conformal residuals and the churn calibration.
    When `embargoed`, every `es_valid` cutoff is at least one horizon after the last `es_fit` cutoff and every
    `cal_valid` cutoff at least one horizon after the last `cal_fit` cutoff, so no validation label window
    [v, v + h) overlaps a fitted one [c, c + h). `cutoffs` names the distinct cutoffs of each mask.
    """

    es_fit: np.ndarray
    es_valid: np.ndarray
    cal_fit: np.ndarray
    cal_valid: np.ndarray
    embargoed: bool
    notes: tuple[str, ...]
    cutoffs: dict[str, list[pd.Timestamp]]

    def subset(self, rows: np.ndarray) -> PurgedSlices:
        """The same split restricted to `rows` (a boolean mask), e.g. the buyers of a hurdle part."""
        return PurgedSlices(
            self.es_fit[rows],
            self.es_valid[rows],
            self.cal_fit[rows],
            self.cal_valid[rows],
            self.embargoed,
            self.notes,
            self.cutoffs,
        )


def _days(a: pd.Timestamp, b: pd.Timestamp) -> int:
    return int((b - a) / pd.Timedelta(days=1))


def purged_slices(
    cutoff: pd.Series | np.ndarray | None, n_rows: int, horizon_days: int | None, share: float
) -> PurgedSlices:
    """Split the rows by cutoff into fit and validation slices with an embargo of one horizon.

    With the n distinct cutoffs d_1 < ... < d_n and k = max(1, round(share * n)) (at most n - 1):
    1. separate slices: calibration = the latest k cutoffs, early stopping = the k before them; each is
       validated by a booster fitted only on cutoffs c with c + h <= the slice's first cutoff (its labels end
       before the slice's labels start). k shrinks down to 1 until the early-stopping booster has a cutoff to
       fit on.
    2. when the history is too short for that: one shared slice (the latest k cutoffs, k shrinking to 1) serves
       early stopping and calibration, fitted on the cutoffs one horizon before it; a note says so.
    3. when even that is impossible (the cutoffs span less than one horizon): the latest k cutoffs are held out
       WITHOUT an embargo; the note says the labels overlap and the interval, total correction and churn
       calibration are optimistic. Nothing is ever silently leaked.
    A single cutoff (or none given) holds nothing out: everything is fitted in-sample.
    """
    none = np.zeros(n_rows, dtype=bool)
    every = np.ones(n_rows, dtype=bool)
    if cutoff is None:
        return PurgedSlices(every, none, every, none, False, (), {})
    if horizon_days is None:
        raise ValueError("horizon_days is needed to embargo the validation cutoffs (labels span one horizon)")
    cut = pd.to_datetime(pd.Series(np.asarray(cutoff))).reset_index(drop=True)
    distinct = [pd.Timestamp(c) for c in np.sort(cut.unique())]
    n = len(distinct)
    if n < 2:
        return PurgedSlices(every, none, every, none, False, (), {"fit": distinct})
    h = pd.Timedelta(days=horizon_days)
    k0 = min(n - 1, max(1, int(round(share * n))))

    def before(first: pd.Timestamp) -> list[pd.Timestamp]:
        return [c for c in distinct if c + h <= first]

    def mask(cuts: list[pd.Timestamp]) -> np.ndarray:
        return cut.isin(cuts).to_numpy()

    notes: list[str] = []
    plan: tuple[list, list, list, list] | None = None
    embargoed = True
    for k in range(k0, 0, -1):
        if 2 * k >= n:
            continue
        cal, es = distinct[n - k :], distinct[n - 2 * k : n - k]
        if before(es[0]):
            plan = (before(es[0]), es, before(cal[0]), cal)
            break
    if plan is None:
        for k in range(k0, 0, -1):
            shared = distinct[n - k :]
            if before(shared[0]):
                plan = (before(shared[0]), shared, before(shared[0]), shared)
                notes.append(
                    f"history too short for separate embargoed slices: early stopping and calibration share "
                    f"{len(shared)} cutoff(s) from {shared[0].date()}, validated by boosters fitted on "
                    f"{len(plan[0])} cutoff(s) up to {plan[0][-1].date()} (embargo {horizon_days} days)"
                )
                break
    if plan is None:
        held, fitted = distinct[n - k0 :], distinct[: n - k0]
        plan = (fitted, held, fitted, held)
        embargoed = False
        notes.append(
            f"history too short for an embargo: the {n} training cutoffs span {_days(distinct[0], distinct[-1])} "
            f"days, less than one {horizon_days}-day horizon before the latest; the held-out cutoffs from "
            f"{held[0].date()} have labels overlapping the fitted ones, so early stopping, the total correction, "
            "the interval and the churn calibration are optimistic (more history or a shorter horizon fixes it)"
        )
    es_fit, es_valid, cal_fit, cal_valid = plan
    names = {"es_fit": es_fit, "es_valid": es_valid, "cal_fit": cal_fit, "cal_valid": cal_valid}
    return PurgedSlices(
        mask(es_fit), mask(es_valid), mask(cal_fit), mask(cal_valid), embargoed, tuple(notes), names
    )


def _day_of_year(t: pd.Timestamp) -> int:
    """Day of the year in a common year (29 February counts as the 28th)."""
    return pd.Timestamp(2001, t.month, min(t.day, 28) if t.month == 2 else t.day).day_of_year


def days_in_year(start: pd.Timestamp, end: pd.Timestamp) -> int:
    """Days from `start`'s day of the year to `end`'s, in [-182, 183): negative = earlier in the year (the
    distance the season-matched total correction measures times of year by)."""
    return (_day_of_year(pd.Timestamp(end)) - _day_of_year(pd.Timestamp(start)) + 182) % YEAR_DAYS - 182


def season_matched_cutoffs(
    cutoff: pd.Series | np.ndarray | None,
    horizon_days: int | None,
    max_days: int | None,
    scoring_date: pd.Timestamp | None = None,
) -> tuple[list[tuple[list[pd.Timestamp], float]], pd.Timestamp | None]:
    """The training cutoffs at the time of year where the model will score, with interpolation weights.

    A model fitted on cutoffs d_1 < ... < d_n scores at s = `scoring_date`, the training set's as-of, when given;
    else at s = d_n + h, the earliest as-of that training set can have (`features.training` takes the month start
    at or before as-of - h as the latest cutoff, so the as-of is up to a month later: a 90-day model trained at
    1 May has its latest cutoff on 1 January and d_n + h is 1 April, the wrong time of year). The cutoffs are grouped by
    their day of the year (every year's 1 March together); of those groups, the nearest at or before s's day of
    year and the nearest after it (circular), each at most `max_days` away, are returned as (cutoffs, weight)
    with weights linear in the distance (summing to 1; one group at weight 1 when it sits on s's day or the
    other side has none within reach), and s. Empty (s None) when matching does not apply: no cutoffs,
    `max_days` None, or a horizon of a year or more (every such horizon holds a whole year, so no time of year
    differs from another); empty with s when no group is within reach.
    """
    if cutoff is None or max_days is None or horizon_days is None or horizon_days >= YEAR_DAYS:
        return [], None
    distinct = [pd.Timestamp(c) for c in np.sort(pd.to_datetime(pd.Series(np.asarray(cutoff))).unique())]
    if not distinct:
        return [], None
    scoring = (
        pd.Timestamp(scoring_date)
        if scoring_date is not None
        else distinct[-1] + pd.Timedelta(days=horizon_days)
    )
    groups: dict[tuple[int, int], list[pd.Timestamp]] = {}
    for c in distinct:
        groups.setdefault((c.month, c.day), []).append(c)

    dist = {k: float(days_in_year(scoring, v[0])) for k, v in groups.items()}
    before = [k for k, d in dist.items() if -max_days <= d <= 0]
    after = [k for k, d in dist.items() if 0 < d <= max_days]
    lo = max(before, key=lambda k: dist[k]) if before else None
    hi = min(after, key=lambda k: dist[k]) if after else None
    if lo is not None and (hi is None or dist[lo] == 0):
        return [(groups[lo], 1.0)], scoring
    if lo is None:
        return ([(groups[hi], 1.0)] if hi is not None else []), scoring
    span = dist[hi] - dist[lo]
    return [(groups[lo], dist[hi] / span), (groups[hi], -dist[lo] / span)], scoring
