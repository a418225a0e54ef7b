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

import numpy as np
import pandas as pd

from features.config import LabelConfig
from features.contract import EVENT_TIME_COLUMNS
from features.validation import StructuralError
from pipelines.loading import data_end, days_past_data, last_order, later_events


def latest_event(
    tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, times: Mapping[str, Any] | None = None
) -> tuple[pd.Timestamp, str] | None:
    """The latest dated event of any table before `as_of` (events on or after it are not read) and its
    `table.column`; None when there is none. Tables that find it themselves (`latest_events`: the Spark driver's,
    which keep no returns' or invoices' times) give theirs per `table.column`; `times`, `latest_times`' answer
    when the caller found it already."""
    times = latest_times(tables, as_of) if times is None else times
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
    *,
    later: Mapping[str, int] | None = None,
    times: Mapping[str, Any] | None = None,
    what: str = "score",
) -> list[str]:
    """The tables whose export stopped while the others ran on, each said through `warn` and returned (the
    manifest's `stopped_tables`). A table is judged only when it has no row on or after `as_of` (`later`, the
    counts `pipelines.loading.later_events` found; was: invoices re-dated to the 1st of the month after their
    order, 1,065 of them after the as-of, were warned "an export that stopped?") and its gap, the days from its
    latest event before `as_of` (`times`, `latest_times`' answer) to it, exceeds both `labels.max_days_past_data`
    and the table's own longest gap between two of its days before then (`_longest_gap`: a monthly billing's 31
    days, a firm closed every Christmas; of a table whose times the Spark driver keeps not, the days holding them,
    found by Spark: `SparkTables.event_days`). Then:
    - returns, tickets, invoices or referrals: stopped when the orders after its last row would, at the table's
      rate per order over the whole data (`rows`: the accepted rows per table), have brought at least
      `expected_rows` of its rows (`scoring.stopped_table_rows`); a table pausing with the orders is not judged
      (was: a tickets export stopped six months early scored the 300-customer demo exit 0, 17 problem customers
      good, a drift warning only);
    - the orders: stopped when another table ran on to within `labels.max_days_past_data` of the as-of, the
      yardstick that the data did not end (was: the orders cut six months early, tickets and invoices running,
      exit 0, a drift warning only: great customers 416 -> 165, "new" 62 -> 250; the data's end is its latest
      event of any table, `check_data_age`, so one table stopping was never said).
    Every feature reading such a table counts nothing since its last row (no ticket: no cost to serve; no
    invoice: nothing overdue; no order: every customer quieter), so the model and the tier rules misread them."""
    later = later_events(tables, as_of) if later is None else later
    times = latest_times(tables, as_of) if times is None else times
    orders = _before(tables["orders"]["ordered_at"], as_of)  # filtered once, then counted per table
    all_orders = rows.get("orders") or len(orders)
    tolerated = float(labels.max_days_past_data)
    said = []
    for key, last in times.items():
        table, column = key.split(".")
        if pd.isna(last) or later.get(key) or not rows.get(table):
            continue
        last = pd.Timestamp(last)
        end, gap = days_past_data(last, as_of)
        if gap <= tolerated:
            continue
        own = orders if table == "orders" else _times_of(tables, table, column, as_of)
        usual = _longest_gap(own)
        if gap <= usual:
            continue
        if table == "orders":
            running = [
                k
                for k, v in times.items()
                if k != key and pd.notna(v) and days_past_data(pd.Timestamp(v), as_of)[1] <= tolerated
            ]
            if not running:
                continue  # every table ends with them: the data's end, `check_data_age` says it
            why = (
                f"while {', '.join(running)} ran on to within {labels.max_days_past_data} days of it "
                f"(the orders' longest gap before was {usual:.0f} days)"
            )
        else:
            came = int((orders > _datetime64(last)).sum())
            expected = rows[table] / all_orders * came
            if expected < expected_rows:
                continue
            why = (
                f"while {came:,} orders came after it: at its rate ({rows[table]:,} rows for {all_orders:,} orders) "
                f"about {expected:,.0f} rows of {table} were expected since (scoring.stopped_table_rows "
                f"{expected_rows}; its longest gap before was {usual:.0f} days)"
            )
        said.append(
            f"{key} ends on {last.date()}, {gap:.0f} days before --as-of {as_of.date()}, {why}, an export that "
            f"stopped? Every feature and tier rule reading {table} counts nothing since for every customer; export "
            f"the missing {table} rows, or {what} with --as-of {end.date()}"
        )
        warn(said[-1])
    return said


def filled_by_day(name: str, frame: Any) -> pd.DataFrame | None:
    """Per day, table `name`'s rows by its event time (`rows`: `EVENT_TIME_COLUMNS`' first) and, per optional model
    input it has (`features.contract`: `model_input`, not required: `orders.cost`, `tickets.satisfaction`, ...),
    its rows holding a value, by the same day; a column of times (`invoices.paid_at`) by the day of its value, the
    day it was filled (an invoice of the last weeks is not paid yet: its payments run on to the as-of). Naive UTC
    days. What `stopped_columns` reads; counts of row batches add up to the whole table's (the Spark driver's,
    summed as the tables stream: `summed_days`). None: no such table, time or column."""
    from features.contract import TABLES

    times = EVENT_TIME_COLUMNS.get(name)
    if frame is None or not times or times[0] not in frame.columns or name not in TABLES:
        return None
    # not a column whose empty MEANS no / 0 (`Column.empty_means_no`: a promo flag TRUE-or-empty, a discount not
    # given): promotions ended are no stop (was: "orders.promo has no value after ..." on every page)
    optional = [
        c.name
        for c in TABLES[name].columns
        if c.model_input and not c.required and not c.empty_means_no and c.name in frame
    ]
    if not optional:
        return None
    days = _days(frame[times[0]])
    dated = {
        c: _days(frame[c].dropna()) for c in optional if pd.api.types.is_datetime64_any_dtype(frame[c].dtype)
    }
    held = [d for d in (days, *dated.values()) if len(d)]
    first = min(int(d.min()) for d in held) if held else 0
    size = max(int(d.max()) for d in held) - first + 1 if held else 0
    # a count per day by bincount, the rows' days shifted once (10M orders: no sort, no groupby)
    at = days - first
    summed = {"rows": np.bincount(at, minlength=size)}
    for c in optional:
        by_row = np.bincount(at, weights=frame[c].notna().to_numpy(np.float64), minlength=size)
        # a column of times: by the day of its value, and by its row's own day (`BY_EVENT_DAY`: the advice's day)
        if c in dated:
            summed[c], summed[c + BY_EVENT_DAY] = np.bincount(dated[c] - first, minlength=size), by_row
        else:
            summed[c] = by_row
    out = pd.DataFrame(summed, index=(np.arange(size) + first).astype("datetime64[D]")).astype(np.int64)
    return out[out.to_numpy().any(axis=1)]  # the days holding something


#: `filled_by_day`'s count of a column of times (`invoices.paid_at`) by its row's own day (the issue day), beside
#: its count by the day of its value: the stop is judged by the payment days (invoices not paid yet are no stop),
#: and the way out names the day after the last issued row with a value (review of round 25 b, was: the day after
#: the last payment, which late payments of older invoices put months after the stop: inside the blind spot).
BY_EVENT_DAY = "@event_day"


def _days(column: pd.Series) -> np.ndarray:
    """A time column's naive UTC days, as day numbers (days since 1970-01-01)."""
    zoned = isinstance(column.dtype, pd.DatetimeTZDtype)
    values = (column.dt.tz_convert(None) if zoned else column).to_numpy()
    return values.astype("datetime64[D]").astype(np.int64)


def summed_days(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """`filled_by_day` of row batches, summed: the whole table's."""
    return pd.concat(parts).fillna(0).groupby(level=0).sum().astype(np.int64)


def stopped_columns(
    days: Mapping[str, pd.DataFrame | None],
    as_of: pd.Timestamp,
    labels: LabelConfig,
    expected_rows: int,
    warn: Callable[[str], None],
    what: str = "score",
) -> list[str]:
    """The model inputs whose values stopped while their table's rows ran on (a cost, a payment day or a ticket's
    satisfaction an export no longer filled), each said through `warn` and returned (listed with the manifest's
    `stopped_tables`: the pages and the history read them alike). `days`: `filled_by_day` per table. A column
    is stopped when its last day with a value before `as_of` lies more than `labels.max_days_past_data` before
    it, and more than its own longest gap between two days with a value a year and more before its last (a survey
    sent each quarter; not its latest gaps: payments of old invoices trickle in after a stop), and its table's
    rows since would, at the column's share of rows with a value until then, have held at
    least `expected_rows` values (`scoring.stopped_table_rows`): recent invoices not yet paid are not judged
    (the last paid one is days old). Was (round 25): the demo's orders without a cost from July on, scored as of
    2026-01-01, exit 0 and not a word: every margin of the last half year guessed at
    `features.margin_rate_when_cost_missing` (30% for a 41% margin), the expected total 19% lower, 13 customers
    in another tier; the whole table's share of orders with a cost (85%) passed `check_model_inputs`."""
    from pipelines.reports.phrases import stopped_means

    day = np.datetime64(_datetime64(as_of), "D")
    said = []
    for table, counts in days.items():
        if counts is None or counts.empty:
            continue
        counts = counts[counts.index < day]
        for column in counts.columns.drop("rows"):
            if column.endswith(BY_EVENT_DAY):
                continue  # the way out's day of a column of times, not a column
            held = counts.index[counts[column] > 0]
            if not len(held):
                continue  # never filled: the model inputs' check says it (`check_model_inputs`)
            last = held.max()
            end, gap = days_past_data(pd.Timestamp(last), pd.Timestamp(day))  # day: as_of without its zone
            # the column's own longest quiet (a survey sent each quarter) in its days a year and more before its
            # last: not a stop; not of its latest days (payments of old invoices trickling in after a stop)
            usual = _longest_gap(held[held <= last - pd.Timedelta(days=365)].to_numpy())
            if gap <= max(labels.max_days_past_data, usual):
                continue
            until = counts.index <= last
            since = int(counts.loc[~until, "rows"].sum())
            share = counts.loc[until, column].sum() / counts.loc[until, "rows"].sum()
            expected = since * share
            if expected < expected_rows:
                continue
            if column + BY_EVENT_DAY in counts:  # a column of times: the last row filled, by its own day
                issued = counts.index[counts[column + BY_EVENT_DAY] > 0]
                if len(issued):
                    end = min(end, days_past_data(pd.Timestamp(issued.max()), pd.Timestamp(day))[0])
            said.append(
                f"{table}.{column} has no value after {pd.Timestamp(last).date()}, {gap:.0f} days before "
                f"--as-of {as_of.date()}, while {since:,} rows of {table} came after it: at its share of rows "
                f"with a value until then ({share:.0%}) about {expected:,.0f} values were expected since "
                f"(scoring.stopped_table_rows {expected_rows}; its longest gap before was {usual:.0f} days), an "
                f"export that stopped filling it? Every feature reading {table}.{column} reads those rows as if "
                f"the export had left it empty ({stopped_means(f'{table}.{column}')}); export the missing values, "
                f"or {what} with --as-of {end.date()}"
            )
            warn(said[-1])
    return said


def stopped_inputs(
    tables: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    rows: Mapping[str, int],
    labels: LabelConfig,
    expected_rows: int,
    warn: Callable[[str], None],
    *,
    later: Mapping[str, int] | None = None,
    times: Mapping[str, Any] | None = None,
    what: str = "score",
) -> list[str]:
    """`stopped_tables` then `stopped_columns` of `tables` as of `as_of`, each said through `warn`: what `cvp score`
    lists as its manifest's `stopped_tables`, and what `cvp train` and `cvp backtest` say of their data (`what`:
    the command the way out names, "score" or "train"; was, round 25: training never asked, a model trained on
    orders without a cost from July on learned the guessed margins of its latest cutoffs without a word). The
    per-day counts: the Spark driver's, summed as the tables streamed (`filled_days`), else `filled_by_day`."""
    said = stopped_tables(
        tables, as_of, rows, labels, expected_rows, warn, later=later, times=times, what=what
    )
    days = getattr(tables, "filled_days", None) or {n: filled_by_day(n, t) for n, t in tables.items()}
    return said + stopped_columns(days, as_of, labels, expected_rows, warn, what)


def stopped_names(said: list[str]) -> list[str]:
    """The `table.column` each of `stopped_inputs`' warnings starts with (no value of any row: for MLflow)."""
    return [s.split(" ", 1)[0] for s in said]


def _times_of(tables: Mapping[str, Any], table: str, column: str, as_of: pd.Timestamp) -> np.ndarray:
    """The table's event times before `as_of` (`_before`); of a table whose times the Spark driver keeps not
    (returns, invoices), the days holding them, found by Spark (`SparkTables.event_days`): the same longest gap."""
    frame = tables.get(table)
    if frame is not None and column in getattr(frame, "columns", ()):
        return _before(frame[column], as_of)
    found = getattr(tables, "event_days", None)
    days = found(table, column, as_of) if callable(found) else None
    return _before(None, as_of) if days is None else days


def _datetime64(t: pd.Timestamp) -> np.datetime64:
    """`t` as a naive UTC numpy time, comparable with `_before`'s."""
    return (t.tz_convert(None) if t.tzinfo is not None else t).to_datetime64()


def _before(column: Any, as_of: pd.Timestamp) -> np.ndarray:
    """The column's times before `as_of` as naive UTC numpy times (empty without a column)."""
    if column is None:
        return np.array([], dtype="datetime64[ns]")
    zoned = isinstance(column.dtype, pd.DatetimeTZDtype)
    values = (column.dt.tz_convert(None) if zoned else column).to_numpy()  # a zoned column's: its UTC times
    return values[values < _datetime64(as_of)]


def _longest_gap(times: np.ndarray) -> float:
    """The longest gap, in days, between two consecutive days holding `times` (any order; 0.0 under two
    days): the table's own usual quiet. One pass over the days marked, no sort."""
    if len(times) < 2:
        return 0.0
    days = times.astype("datetime64[D]").astype(np.int64)
    first = days.min()
    held = np.zeros(int(days.max() - first) + 1, dtype=bool)
    held[days - first] = True
    marked = np.flatnonzero(held)
    return float(np.diff(marked).max()) if len(marked) > 1 else 0.0


def check_data_age(
    tables: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    labels: LabelConfig,
    allow_stale: bool,
    warn: Callable[[str], None],
    times: Mapping[str, Any] | None = None,
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
    latest, where = latest_event(tables, as_of, times) or (last, "orders.ordered_at")
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
