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
One table stopping while the orders run on (a tickets or invoices export that stopped) is said apart
(`stopped_tables`): the data's end, its latest event of any table, does not show it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from features.config import LabelConfig
from features.contract import EVENT_TIME_COLUMNS
from features.validation import StructuralError
from pipelines.loading import data_end, days_past_data, last_order


def latest_event(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> tuple[pd.Timestamp, str] | None:
    """The latest dated event of any table before `as_of` (events on or after it are not read) and its
    `table.column`; None when there is none. Tables that find it themselves (`latest_events`: the Spark driver's,
    which keep no returns' or invoices' times) give theirs per `table.column`."""
    times = latest_times(tables, as_of)
    dated = [(pd.Timestamp(v), k == "orders.ordered_at", k) for k, v in times.items() if pd.notna(v)]
    return max(dated)[::2] if dated else None  # an order's day named as such on a tie


def latest_times(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> dict[str, Any]:
    """Per `table.column` of `EVENT_TIME_COLUMNS`, its latest time before `as_of` (NaT when none); the Spark
    driver's tables find them themselves (`latest_events`)."""
    found = getattr(tables, "latest_events", None)
    times = found(as_of) if callable(found) else None
    if times is None:
        times = {}
        for t, cols in EVENT_TIME_COLUMNS.items():
            for c in cols if t in tables else ():
                column = tables[t][c]
                times[f"{t}.{c}"] = column[column < as_of].max()
    return times


def stopped_tables(
    tables: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    rows: Mapping[str, int],
    labels: LabelConfig,
    expected_rows: int,
    warn: Callable[[str], None],
) -> list[str]:
    """The tables whose export stopped while the orders ran on: a table (returns, tickets, invoices, referrals)
    whose latest event before `as_of` is more than `labels.max_days_past_data` days before it, while the orders
    after that event would, at the table's rate per order over the whole data (`rows`: the accepted rows per
    table), have brought at least `expected_rows` of its rows (`scoring.stopped_table_rows`). Each said through
    `warn` and returned (the manifest's `stopped_tables`). Every feature reading such a table counts nothing since
    its last row (no ticket: no cost to serve; no invoice: nothing overdue), so the tier rules and the model read
    those customers as cheaper and better payers than they are (was: a tickets export stopped six months before
    the as-of scored the 300-customer demo exit 0, 17 problem customers good, a drift warning only; the data's
    end is its latest event of any table, `check_data_age`, so one table stopping was never said). Orders and a
    table pausing with them (a firm closed at Christmas) are not judged: no orders came in its gap."""
    orders = tables["orders"]["ordered_at"]
    all_orders = rows.get("orders") or len(orders)
    said = []
    for key, last in latest_times(tables, as_of).items():
        table = key.split(".")[0]
        if table == "orders" or pd.isna(last) or not rows.get(table):
            continue
        last = pd.Timestamp(last)
        end, gap = days_past_data(last, as_of)
        came = int(((orders > last) & (orders < as_of)).sum())
        expected = rows[table] / all_orders * came
        if gap <= labels.max_days_past_data or expected < expected_rows:
            continue
        said.append(
            f"{key} ends on {last.date()}, {gap:.0f} days before --as-of {as_of.date()}, while {came:,} orders came "
            f"after it: at its rate ({rows[table]:,} rows for {all_orders:,} orders) about {expected:,.0f} rows of "
            f"{table} were expected since (scoring.stopped_table_rows {expected_rows}), an export that stopped? "
            f"Every feature and tier rule reading {table} counts nothing since for every customer; export the "
            f"missing {table} rows, or score with --as-of {end.date()}"
        )
        warn(said[-1])
    return said


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
