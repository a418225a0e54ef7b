"""The checks before two runs of a score history are compared (stable tiers, transitions, the report's history
sections): one horizon, one currency, one customer base whose ids name the same customers. Each refuses (exit 2)
with the way out; `pipelines.history` calls them."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from features.validation import StructuralError
from pipelines.history_store import HistoryRun, read_columns, scores_columns


def check_same_horizon(runs: Sequence[HistoryRun], horizon_days: int | None, what: str) -> None:
    """Refuse (exit 2) to compare runs of different horizons; `horizon_days` is the run being added, if any."""
    seen = {r.horizon_days for r in runs} | ({horizon_days} if horizon_days is not None else set())
    if len(seen) > 1:
        detail = ", ".join(f"{r.as_of}: {r.horizon_days} days" for r in runs)
        if horizon_days is not None:
            detail += f"; this run: {horizon_days} days"
        raise StructuralError(
            f"{what} would compare runs of different horizons ({detail}); predictions over different horizons "
            "are not comparable: keep one history per horizon"
        )


def check_same_currency(runs: Sequence[HistoryRun], currency: str | None, what: str) -> None:
    """Refuse (exit 2) to compare runs whose amounts are in different currencies (`currency`: the run being added
    or reported; runs added before run.json recorded theirs are not judged): another company's history, or one
    kept across a change of currency, would put a GBP value beside a EUR one (stable tiers, "+1,200 EUR")."""
    other = [r for r in runs if r.currency is not None and currency is not None and r.currency != currency]
    if other:
        detail = ", ".join(f"{r.as_of}: {r.currency}" for r in other)
        raise StructuralError(
            f"{what} would compare runs of different currencies ({detail}; this run: {currency}); amounts in "
            "different currencies are not comparable: keep one history per company and currency"
        )


#: Below this share of the previous run's customers found again, two runs are not the same customer base.
MIN_CUSTOMERS_KEPT = 0.5
#: From this many previous customers found again under another spelling of their id (or 1% of them, if more),
#: the id format changed between the runs.
MIN_RESPELLED = 3


def check_same_customers(previous: HistoryRun, ids: pd.Series, as_of: str, what: str) -> None:
    """Refuse (exit 2) to compare a run with `previous` when their customer ids do not name the same customers.

    Every customer known before an as-of is in its run's scores (whatever their status), so a run holds nearly
    all the customers of the run before. When fewer than `MIN_CUSTOMERS_KEPT` of them are found again, or some
    reappear under another spelling of their id (`C001` then `1`, `00042` then `42`: leading zeros dropped by a
    spreadsheet, a prefix dropped by another system, numbers for text; `features.id_spellings.respelled_ids`), the ids
    changed: compared as they are, every customer would be new and every stable tier reset, without a word."""
    from features.id_spellings import respelled_ids

    before = read_columns(previous, ["customer_id"])["customer_id"]
    if not len(before):
        return
    now = ids.astype("str")
    kept = int(before.isin(pd.Index(now.unique())).sum())
    respelled = respelled_ids(before, now)
    enough = max(MIN_RESPELLED, int(0.01 * len(before)) + 1)
    if kept >= MIN_CUSTOMERS_KEPT * len(before) and len(respelled) < enough:
        return
    detail = f"{kept:,} of the {len(before):,} customers of the history's run as of {previous.as_of} are in this run"
    detail += f" as of {as_of} ({kept / len(before):.0%})"
    if respelled:
        shown = ", ".join(f"{a!r} now {b!r}" for a, b in respelled[:5])
        detail += f"; {len(respelled):,} of the others are here under another spelling of their id ({shown})"
        cause = "the customer id format changed between the runs (leading zeros dropped by a spreadsheet, a prefix "
        cause += "dropped, numbers written for text)"
    else:
        gone = before[~before.isin(pd.Index(now.unique()))].head(3).tolist()
        cause = f"the ids do not name the same customers (gone: {', '.join(map(repr, gone))}; this run: "
        cause += ", ".join(map(repr, now.head(3).tolist())) + ")"
    raise StructuralError(
        f"{what}: {detail}: {cause}. Compared as they are, these customers would be new and their stable tiers "
        "reset. Give the ids as the earlier runs wrote them (keep them as text), or start a new history "
        "directory for another customer base"
    )


#: fewest positive predicted values in each run for their typical value to be compared (`check_same_unit`)
MIN_VALUES_COMPARED = 20


def check_same_unit(previous: HistoryRun, values: pd.Series, value_col: str, as_of: str, what: str) -> None:
    """Refuse (exit 2) to compare a run with `previous` when their predicted values are in other units: the median
    of the positive `value_col` (the tiers' value) differs more than `features.contract.SCALE_FACTOR` times (a
    company's export moved from units to cents and a model retrained on it: every customer's value "rose" a hundred
    times, the moves and the bridge's data/model split read it as the customers' doing; round 32, was: exit 0).
    Within one unit a business's typical customer value does not move 20 times between two runs."""
    from features.contract import SCALE_FACTOR, median

    if value_col not in (scores_columns(previous) or ()):
        return  # a run without the column: another horizon, refused by `check_same_horizon` where it matters
    before = read_columns(previous, ["customer_id", value_col])[value_col]
    was, now = (pd.to_numeric(v, errors="coerce") for v in (before, values))
    was, now = was[was > 0], now[now > 0]
    if min(len(was), len(now)) < MIN_VALUES_COMPARED:
        return
    old, new = median(was.astype("float64")), median(now.astype("float64"))
    if 1 / SCALE_FACTOR < new / old < SCALE_FACTOR:
        return
    raise StructuralError(
        f"{what}: the typical predicted value (median positive {value_col}) is {new:,.4g} in this run as of {as_of} "
        f"and {old:,.4g} in the history's run as of {previous.as_of} (x{new / old:.3g}): amounts in another unit "
        f"(cents for units, thousands?) between the runs. Compared, every customer's value would move {new / old:.3g} "
        "times. Score this unit into a new history directory, or give the amounts in the earlier runs' unit"
    )
