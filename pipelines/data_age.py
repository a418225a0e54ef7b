"""How old the data is against `cvp score --as-of`: the one rule of scoring data that ends before the as-of.

The data's end is its latest dated event of any table before the as-of (`latest_event`): orders pausing while
tickets, invoices or returns run on is a quiet spell, not stale data. Every point-in-time feature reads the days
between the data's end and the as-of as days without an order, a
payment or a ticket: scored months after an export ended, every customer looks that much quieter than they are
(recency, the short windows emptied), so churn risk is overstated, expected value understated, great customers
drop to good and customers turn `lapsed` for want of data. A few quiet days are normal (`labels.max_days_past_data`,
the days `cvp train` allows past the data's end): beyond them the run says so, a `warning:` listed under the
manifest's `warnings` and its `stale_data`, and the reports say it at the top of every page
(`pipelines.reports.phrases.stale_data_banner`); beyond `labels.max_lapse_days` (every customer would be lapsed)
the run stops unless `--allow-stale`. The way out is the as-of the data can answer: the day after its latest event.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from features.config import LabelConfig
from features.contract import EVENT_TIME_COLUMNS
from features.validation import StructuralError
from pipelines.loading import data_end, days_past_data, last_order


def latest_event(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> tuple[pd.Timestamp, str] | None:
    """The latest dated event of any table before `as_of` (events on or after it are not read) and its
    `table.column`; None when there is none. Tables that find it themselves (`latest_events`: the Spark driver's,
    which keep no returns' or invoices' times) give theirs per `table.column`."""
    found = getattr(tables, "latest_events", None)
    times = found(as_of) if callable(found) else None
    if times is None:
        times = {}
        for t, cols in EVENT_TIME_COLUMNS.items():
            for c in cols if t in tables else ():
                column = tables[t][c]
                times[f"{t}.{c}"] = column[column < as_of].max()
    dated = [(pd.Timestamp(v), k == "orders.ordered_at", k) for k, v in times.items() if pd.notna(v)]
    return max(dated)[::2] if dated else None  # an order's day named as such on a tie


def check_data_age(
    tables: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    labels: LabelConfig,
    allow_stale: bool,
    warn: Callable[[str], None],
) -> str | None:
    """What `cvp score` says about `tables` scored as of `as_of`: None when their latest dated event of any table
    before the as-of (`latest_event`: orders, returns, tickets, invoices or referrals; was: orders only, a firm
    closed three weeks or a seller ordering monthly warned though its tickets ran up to the as-of) is within
    `labels.max_days_past_data` days of it; else the warning given to `warn` (and returned, the manifest's
    `stale_data`). More than `labels.max_lapse_days` after the last order (every customer lapsed): a
    StructuralError unless `allow_stale` (was the only check: data ending up to two years before the as-of
    scored with exit 0, silent)."""
    last = last_order(tables)
    since = (as_of - last) / pd.Timedelta(days=1)
    way_out = (
        f"score with --as-of {data_end(tables).date()} (the data as it ends), or export the missing days"
    )
    lapse = labels.max_lapse_days
    if lapse is not None and since > lapse:
        stale = (
            f"--as-of {as_of.date()} is {since:.0f} days after the last order ({last.date()}), more than "
            f"labels.max_lapse_days ({lapse}): the data looks stale"
        )
        if not allow_stale:
            raise StructuralError(
                f"{stale}. Export fresh data, {way_out}, or pass --allow-stale to score it anyway."
            )
        warn(f"{stale} (scored anyway: --allow-stale)")
        return stale
    latest, where = latest_event(tables, as_of) or (last, "orders.ordered_at")
    end, gap = days_past_data(latest, as_of)
    if gap <= labels.max_days_past_data:
        return None
    way_out = f"score with --as-of {end.date()} (the data as it ends), or export the missing days"
    said = (
        "its last order"
        if where == "orders.ordered_at"
        else f"its latest event, {where}; the last order {last.date()}"
    )
    stale = (
        f"the data ends on {latest.date()} ({said}), {gap:.0f} days before --as-of {as_of.date()} "
        f"(labels.max_days_past_data allows {labels.max_days_past_data}): every customer reads those days as days "
        "without an order, so churn risk is overstated, expected value understated and customers may show as lapsed "
        f"for want of data; {way_out}"
    )
    warn(stale)
    return stale
