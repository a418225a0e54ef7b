"""Loading and the as-of rules, one copy each for train, backtest, features and score.

`load_and_report` loads and validates a data directory with the config's `data:` settings and prints the counts
(the notes under them: `pipelines.load_notes`); the as-of rules say which cutoff a command uses (`default_as_of`:
the day after the last order), refuse one that leaves nothing to compute (`check_after_first_order`,
`check_as_of`) and count the events a point-in-time computation ignores (`later_events`). Below the jobs: nothing here imports a job, an engine or MLflow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from features.config import LabelConfig
from features.contract import EVENT_TIME_COLUMNS
from features.errors import printable
from features.names import examples
from features.stamped_dates import stamped_date_notes
from features.validation import StructuralError
from pipelines.config import AppConfig
from pipelines.given_dates import parse_date
from pipelines.io import LoadedData, load_data, write_rejects
from pipelines.load_notes import (
    MIN_VALUES_JUDGED,
    amount_notes,
    case_notes,
    category_case_notes,
    empty_column_notes,
    files_not_read,
    ignored_columns_notes,
    late_orders_start_notes,
    one_order_notes,
    pooled_customer_notes,
    positive_counts,
    row_cap_notes,
    shared_email_notes,
    zero_column_notes,
)
from pipelines.staging import StagedDirectory

__all__ = ["parse_date"]  # the date rule lives in pipelines.given_dates (demo.start/end: checked at load)


def validation_table(summary: dict[str, Any]) -> Table:
    """The counts per table and source (`pipelines.rejected_rows.rows_summary`); a source's rejects its mapping
    expects marked so, as the scoring manifest's note. Names and reasons may hold data values: escaped for rich
    markup."""
    from rich.markup import escape

    from pipelines.rejected_rows import split_expected

    t = Table(title="Validation", show_lines=False)
    for col, just in (("table", "left"), ("rows in", "right"), ("accepted", "right"), ("rejected", "right")):
        t.add_column(col, justify=just)
    t.add_column("rejected by reason")
    for source, src in summary["source_rows"].items():
        ok, left = split_expected(src)
        reasons = [f"{k}: {v:,} (expected by the mapping)" for k, v in ok.items()]
        t.add_row(
            f"[dim]source[/] {escape(source)}",
            f"{src['in']:,}",
            f"{src['accepted']:,}",
            f"{src['rejected']:,}",
            escape("; ".join(reasons + [f"{k}: {v:,}" for k, v in left.items()])),
        )
    for name, r in summary["rows"].items():
        why = summary["rejected_by_reason"][name]
        reasons = escape("; ".join(f"{k}: {v:,}" for k, v in why.items()))
        t.add_row(name, f"{r['in']:,}", f"{r['accepted']:,}", f"{r['rejected']:,}", reasons)
    return t


def read_in_zone(cfg: AppConfig, mapping: Path | None) -> AppConfig:
    """The run's config with `data.timezone` the zone its data is read in (`pipelines.mapping.read_zone`: a
    mapping's `timezone:` over the config's), so that the as-of is read in it, a training records it as its data's
    and scoring compares the model's with it (was: a training through a mapping naming `Europe/London` recorded the
    config's `UTC`, and scoring with the config set to `Europe/London` warned "data.timezone differs", `--strict`
    refused)."""
    from pipelines.mapping import read_zone

    zone = read_zone(mapping, cfg.data.timezone)
    return cfg if zone == cfg.data.timezone else cfg.with_data(timezone=zone)


def load_configured(data: Path, mapping: Path | None, cfg: AppConfig, ahead: Any = None) -> LoadedData:
    """Load + validate with every input setting of the config's `data:` section (one place for all readers).
    `ahead`: the data's tables being read already (`pipelines.read_ahead.read_ahead`)."""
    d = cfg.data
    return load_data(data, mapping, d.timezone, d.date_formats, d.max_values, d.currency, ahead)


def load_and_report(
    data: Path,
    mapping: Path | None,
    cfg: AppConfig,
    console: Console,
    rejects: Path | StagedDirectory | None = None,
    ahead: Any = None,
    used_by: str | None = None,
) -> LoadedData:
    """Load + validate once; print the counts; write rejects if asked. Every later step reads what this returns.
    `rejects`: a directory, published here (`publish_rejects`); or one staged for a set published later (`cvp
    score`'s rejects, published with its scores: `pipelines.outputs.publish`), written into its stage only.
    `ahead`: the data's tables being read already (`pipelines.read_ahead.read_ahead`). `used_by`: the rejected
    rows said now (`pipelines.rejected_rows.said`, "not used by ..."); `cvp score` says them at its close."""
    loaded = load_configured(data, mapping, cfg, ahead)
    if rejects is None:
        written = []
    elif isinstance(rejects, StagedDirectory):
        written = [p.name for p in write_rejects(loaded, rejects.stage).values()]
    else:
        written = [p.name for p in publish_rejects(loaded, rejects).values()]
    print_load_report(loaded, console, rejects, written, used_by)
    return loaded


def publish_rejects(loaded: LoadedData, rejects: Path) -> dict[str, Path]:
    """The rejects as one output set (`write_rejects`' files in `rejects`, marked `.cvp-rejects`): written into a
    staging directory and swapped in whole (`pipelines.staging.atomic_directory`), so no file of an earlier run
    stays beside this run's (a run without rejects leaves the directory empty) and a run stopped half way leaves
    the previous set whole. Was: the files written one by one into the directory, yesterday's `orders.csv` still
    there when today's orders had no reject. Returns the files written, under `rejects`."""
    from pipelines.output_checks import REJECTS_MARKER
    from pipelines.staging import atomic_directory

    final = Path(rejects)
    with atomic_directory(final, REJECTS_MARKER) as stage:
        written = write_rejects(loaded, stage)
    return {key: final / path.name for key, path in written.items()}


def rejects_note(
    data: Path | None, mapping: Path | None, rejects: Path, tables: str = "", engine: str = "pandas"
) -> str:
    """What `cvp score --rejects DIR` says when it stops after loading: the rejects are published with the scores
    (one output set), so this run's were not; `cvp validate` writes them alone, on the run's `engine` (was: a Spark
    run of files only was sent to the pandas engine). `tables`: `--tables`' catalog tables as given
    (`spark_catalog.tables_text`), which `cvp validate --engine spark` reads (was: none)."""
    import shlex

    given = [
        *(["--data", str(data)] if data is not None else []),
        *(["--mapping", str(mapping)] if mapping else []),
        *(["--tables", tables] if tables else []),
        "--rejects",
        str(rejects),
    ]
    engine_flag = "--engine spark " if engine == "spark" or tables else ""  # catalog tables: Spark's only
    way = f"`cvp validate {engine_flag}{shlex.join(given)}` writes this data's rejected rows alone"
    return printable(  # a data URI's key pair is not shown (`features.errors.without_passwords`)
        f"the rejected rows are published only with the scores, so {rejects} still holds the previous run's; {way}"
    )


def print_load_report(
    loaded: LoadedData,
    console: Console,
    rejects: Path | StagedDirectory | None,
    written: list[str],
    used_by: str | None = None,
) -> None:
    """What every loading command prints: the counts per table, the notes, and where the rejected rows went
    (`written`: the reject files or directories written under `rejects`, whichever engine wrote them; a
    `StagedDirectory`: staged, published with the run's other outputs; `used_by`: `load_and_report`'s)."""
    from pipelines.rejected_rows import rows_summary, said

    summary = rows_summary(loaded)  # once: the table, the warnings and the total say the same counts
    console.print(validation_table(summary))
    notes = files_not_read(loaded.notes) + case_notes(loaded.tables) + category_case_notes(loaded.tables)
    notes += pooled_customer_notes(loaded.tables) + one_order_notes(loaded.tables)
    notes += shared_email_notes(loaded.tables)
    notes += (
        empty_column_notes(loaded.tables) + stamped_date_notes(loaded.tables) + amount_notes(loaded.tables)
    )
    notes += zero_column_notes(loaded.tables) + late_orders_start_notes(loaded.tables)
    notes += row_cap_notes(summary)  # an export cut at a report tool's row limit
    for line in ignored_columns_notes(loaded) + notes:
        console.print(f"note: {printable(line)}", markup=False, highlight=False)  # a column named with ESC
    total = sum(r["rejected"] for part in ("rows", "source_rows") for r in summary[part].values())
    for kind, line in said(summary, used_by) if used_by else []:
        console.print(f"{kind}: {printable(line)}", markup=False, highlight=False)
    if isinstance(rejects, StagedDirectory):
        if written:
            line = f"{total:,} rejected rows for {rejects.target}/ ({', '.join(written)}), published with the scores"
        else:
            line = f"no rejected rows ({rejects.target}/ is published empty, with the scores)"
        console.print(printable(line), markup=False, highlight=False)
    elif rejects is not None:
        if written:
            console.print(
                f"{total:,} rejected rows written to {rejects}/ ({', '.join(written)})",
                markup=False,
                highlight=False,
            )
        else:
            console.print("no rejected rows")
    elif total:
        console.print(f"{total:,} rows rejected; rerun with --rejects DIR to see each row and its reason")


def last_event(tables: dict[str, pd.DataFrame]) -> pd.Timestamp:
    times = [tables[t][c].max() for t, cols in EVENT_TIME_COLUMNS.items() if t in tables for c in cols]
    times = [t for t in times if pd.notna(t)]
    if not times:
        raise StructuralError("the data has no dated events")
    return max(times)


def last_order(tables: dict[str, pd.DataFrame]) -> pd.Timestamp:
    last = tables["orders"]["ordered_at"].max()
    if pd.isna(last):
        raise StructuralError("table orders has no dated order (column ordered_at is empty)")
    return last


def data_end(tables: dict[str, pd.DataFrame]) -> pd.Timestamp:
    """The day after the last ORDER, where the data ends: one mistyped future ticket or invoice cannot move it."""
    return days_past_data(last_order(tables), None)[0]


def days_past_data(last: pd.Timestamp, as_of: pd.Timestamp | None) -> tuple[pd.Timestamp, float]:
    """Data whose last event is `last`: where it ends (the day after) and the days from there to `as_of` (0.0
    without one). The one measure of `check_as_of`'s refusal and `pipelines.data_age`'s warning."""
    end = last.normalize() + pd.Timedelta(days=1)
    return end, 0.0 if as_of is None else (as_of - end) / pd.Timedelta(days=1)


def default_as_of(tables: dict[str, pd.DataFrame], judge_late: bool = True) -> pd.Timestamp:
    """`data_end`, unless an order is dated after today (a mistyped 2098 for 2018; the clock is read here in
    `pipelines/`) or a few stand a year after every other (`late_orders`: `judge_late`, the Spark engine judges its
    own orders): that order is refused as the end of the data, and the run asks for an explicit --as-of."""
    last = last_order(tables)
    orders = tables["orders"]
    if last >= future_from():
        raise future_orders_error(last, orders.loc[orders["ordered_at"] >= future_from()])
    t = orders["ordered_at"]
    late = late_orders(t.dropna(), lambda day: int((t >= day).sum())) if judge_late else None
    if late is not None:
        raise late_orders_error(*late, orders.loc[t >= late[1]])
    return data_end(tables)


#: Orders dated this long after every other order of the data (at most `features.dates.early_count` of them, in
#: data of `EARLY_MIN_ROWS` orders or more: the mistyped years' share), before today: a mistyped year (`2021` for
#: `2011`, `2026` for `2025`) the default --as-of would follow, a label horizon (365 days) without any order.
LATE_GAP = pd.Timedelta(days=365)


def late_orders(times: pd.Series, count_from: Any) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The orders standing `LATE_GAP` or more after every earlier one: (the last day before that gap, the first
    day after it), or None. `times`: the order times, or their days' first times (the Spark engine's daily orders);
    `count_from(day)`: how many orders are dated on that day or later (asked only of a day after such a gap)."""
    from features.dates import EARLY_MIN_ROWS, early_count

    days = np.unique(times.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]"))
    gaps = np.flatnonzero(np.diff(days) >= LATE_GAP.to_numpy())
    n = None
    for i in gaps:  # from the earliest: a pause of a year with the data going on after it is the data
        n = count_from(pd.Timestamp(days[0])) if n is None else n
        if n < EARLY_MIN_ROWS:
            return None
        if count_from(pd.Timestamp(days[i + 1])) <= early_count(n):
            return pd.Timestamp(days[i]), pd.Timestamp(days[i + 1])
    return None


def late_orders_error(before: pd.Timestamp, after: pd.Timestamp, late: pd.DataFrame) -> StructuralError:
    """`default_as_of`'s refusal of `late_orders` (`late`: those orders, in the loader's order)."""
    return StructuralError(
        f"table 'orders', column 'ordered_at': {len(late):,} order(s) dated {(after - before).days:,} days or more "
        f"after every other order (the last before them is on {before.date()}): a mistyped year? The "
        "default --as-of (the day after the last order) would follow them, a year without any order before it; "
        "fix those rows or give --as-of.\nExample rows:\n"
        f"{examples(late)}"
    )


def future_from() -> pd.Timestamp:
    """Orders from this time on are in the future (`default_as_of`): today plus a day of margin for time zones."""
    return pd.Timestamp.now().normalize() + pd.Timedelta(days=2)


def future_orders_error(last: pd.Timestamp, future: pd.DataFrame) -> StructuralError:
    """`default_as_of`'s refusal of orders dated after today (`future`: those orders, in the loader's order)."""
    return StructuralError(
        f"the last order is dated {last.date()}, after today ({pd.Timestamp.now().normalize().date()}): "
        f"{len(future):,} order(s) in the future, a mistyped date? The default --as-of (the day after the "
        "last order) would follow them; fix those rows or give --as-of.\nExample rows:\n"
        f"{examples(future)}"
    )


def later_events(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> dict[str, int]:
    """Rows per table.column dated at or after as-of (ignored by every point-in-time computation). Tables that
    count them themselves (`later_events`: the Spark driver's, which keep no returns' or invoices' times,
    issue 11) give their count."""
    counted = getattr(tables, "later_events", None)
    found = counted(as_of) if callable(counted) else None
    if found is not None:
        return found
    out: dict[str, int] = {}
    for t, cols in EVENT_TIME_COLUMNS.items():
        if t not in tables:
            continue
        for c in cols:
            n = int((tables[t][c] >= as_of).sum())
            if n:
                out[f"{t}.{c}"] = n
    return out


def warn_later_events(
    tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, console: Console
) -> dict[str, int]:
    return say_later_events(later_events(tables, as_of), as_of, console)


def say_later_events(later: dict[str, int], as_of: pd.Timestamp, console: Console) -> dict[str, int]:
    """The warning on `later_events`' counts (the Spark engine counts them on the executors)."""
    if later:
        console.print(f"[yellow]warning:[/] {later_events_text(later, as_of)}")
    return later


def later_events_text(later: dict[str, int], as_of: pd.Timestamp) -> str:
    """What `say_later_events` says (also listed in a scoring run's manifest `warnings`)."""
    listed = ", ".join(f"{k}: {v:,} rows" for k, v in later.items())
    return f"events on or after the as-of {as_of.date()} are ignored (point in time): {listed}"


def mapping_digest(mapping: Path | None) -> str | None:
    """sha256 of the mapping file's text (None without a mapping): part of the model's contract."""
    import hashlib

    if mapping is None:
        return None
    return hashlib.sha256(Path(mapping).read_bytes()).hexdigest()


def history_needed_days(first_order: pd.Timestamp, horizon_days: int) -> int:
    """Fewest days from the first order to the as-of for one backtest fold to fit.

    The fold cutoff t is the month start at or before as_of - h; its training set needs a training cutoff c (a
    month start, c + h <= t) after the first order.
    """
    first = pd.Timestamp(first_order)
    for days in range(2 * horizon_days, 2 * horizon_days + 200):
        as_of = first.normalize() + pd.Timedelta(days=days)
        t = (as_of - pd.Timedelta(days=horizon_days)).to_period("M").to_timestamp()
        c = (t - pd.Timedelta(days=horizon_days)).to_period("M").to_timestamp()
        if c > first:
            return days
    return 2 * horizon_days + 200  # pragma: no cover - month rounding never needs this much


def check_training_data(training: pd.DataFrame, horizon_days: int, cfg: AppConfig, what: str) -> None:
    """Enough customers and both churn classes, or a message saying exactly what is missing."""
    label = f"label_churned_{horizon_days}d"
    n_customers = training["customer_id"].nunique() if len(training) else 0
    problems = []
    need = cfg.models.min_training_customers
    if n_customers < need:
        problems.append(f"{n_customers} customer(s), at least {need} needed (models.min_training_customers)")
    if len(training):
        churned = int(training[label].sum())
        stayed = int(len(training) - churned)
        if churned == 0:
            problems.append(
                f"no customer stopped buying within {horizon_days} days (no positive churn example)"
            )
        if stayed == 0:
            problems.append(
                f"every customer stopped buying within {horizon_days} days (no negative churn example)"
            )
    if problems:
        raise StructuralError(f"not enough data to {what}: the training set has " + "; ".join(problems))


def check_paid_at_filled(tables: dict[str, pd.DataFrame]) -> None:
    """An `invoices.paid_at` column without a single value, on invoices due before the last order, is an export
    that emptied it: read as it stands, every invoice is unpaid and overdue (late share 1 for every customer).
    The Spark driver's invoices keep no `paid_at`: its tables carry the rule's verdict on the whole base."""
    stop = getattr(tables, "paid_at_stop", None)  # `spark_tables.paid_at_stop`
    if stop is not None:
        raise stop
    inv = tables.get("invoices")
    if inv is None or "paid_at" not in inv.columns or inv["paid_at"].notna().any() or "orders" not in tables:
        return
    due = inv["due_at"] < tables["orders"]["ordered_at"].max()
    if due.any():
        raise paid_at_error(len(inv), int(due.sum()), inv[due])


def paid_at_error(n_invoices: int, n_due: int, due: pd.DataFrame) -> StructuralError:
    """`check_paid_at_filled`'s message (`due`: example invoices due before the last order)."""
    return StructuralError(
        f"table invoices, column paid_at: no value on any of the {n_invoices:,} invoices, {n_due:,} "
        "of them due before the last order: every invoice would read as unpaid and overdue. Export the "
        "payment dates, or leave the invoices table out if payments are not recorded.\nExample rows:\n"
        f"{examples(due)}"
    )


def zero_revenue_error(n_orders: int, orders: pd.DataFrame, what: str) -> StructuralError:
    """`check_after_first_order`'s message when every accepted order has revenue 0 (`orders`: examples)."""
    return StructuralError(
        f"table orders, column revenue: 0 on every one of the {n_orders:,} accepted orders, an export "
        "that wrote 0 for a missing value? Every value, margin and tier would be computed from nothing; "
        f"nothing to {what}.\nExample rows:\n{examples(orders)}"
    )


def check_after_first_order(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, what: str) -> pd.Timestamp:
    """The first order; an as-of at or before it leaves nothing to compute (one check for every command)."""
    first = tables["orders"]["ordered_at"].min()
    if pd.isna(first):
        raise StructuralError(
            f"table orders has no accepted row (the file has none, or every row was rejected: see the counts "
            f"above); nothing to {what}"
        )
    revenue = tables["orders"].get("revenue")  # always there in validated tables
    # validation keeps only finite revenue >= 0: here every order is exactly 0
    if revenue is not None and not revenue.ne(0).any():
        shown = getattr(
            tables, "example_rows", None
        )  # the Spark driver keeps the orders' time and revenue only
        rows = None if shown is None else shown("orders")
        raise zero_revenue_error(len(revenue), tables["orders"] if rows is None else rows, what)
    check_paid_at_filled(tables)
    if as_of <= first:
        raise StructuralError(
            f"--as-of {as_of.date()} is before the data starts (not after the first order, {first}); "
            f"nothing to {what}"
        )
    if as_of > future_from():  # a mistyped year (2052 for 2025), a date in a script run ahead
        raise future_as_of_error(as_of, last_order(tables))
    return first


#: A model input above 0 on at least this share of the training values may not arrive as 0 on every row.
POSITIVE_IN_TRAINING = 0.5


def positive_values(tables: Any) -> dict[str, tuple[int, int]]:
    """`table.column` -> (values, values above 0) of every table (`positive_counts`)."""
    return {f"{n}.{c}": got for n, f in tables.items() for c, got in positive_counts(n, f).items()}


def positive_shares(counts: dict[str, tuple[int, int]]) -> dict[str, float]:
    """What a trained model records of its training data (`data.positive_shares`): the share above 0."""
    return {k: round(p / n, 6) for k, (n, p) in counts.items() if n}


def check_positive_values(recorded: Any, counts: dict[str, tuple[int, int]]) -> None:
    """Refuse (exit 2) scoring data where a money or number column the model reads is 0 on every row while the
    training data had it above 0 on most: an export that wrote 0 for a value it did not have (was: `orders.cost`
    0 on every order scored with exit 0 and a drift warning, every order read at a 100% margin: 85 of the 255
    problem customers of a 1,000-customer demo company scored good). Models registered before they recorded it
    are not judged."""
    if not isinstance(recorded, dict):
        return
    gone = [
        (key, share, counts[key][0])
        for key, share in recorded.items()
        if share >= POSITIVE_IN_TRAINING
        and key in counts
        and counts[key][0] >= MIN_VALUES_JUDGED
        and counts[key][1] == 0
    ]
    if gone:
        listed = "; ".join(
            f"{k}: 0 or less on all {n:,} values, above 0 on {s:.0%} in training" for k, s, n in gone
        )
        raise StructuralError(
            f"{listed}: an export that wrote 0 for values it did not have? The model would read every one as a "
            "real 0 (no cost: a 100% margin). Export the real values"
        )


def check_history_span(
    first: pd.Timestamp, as_of: pd.Timestamp, windows_days: Any, trained_first: Any, cutoffs: Any
) -> None:
    """Refuse (exit 2) scoring data whose orders start less than the model's longest feature window before the
    as-of when the model's training data reached that far back before its latest cutoff: an export cut short (the
    last four months only) would have every window and lifetime total computed on a part of each customer's
    history, and customers whose orders all fell before the cut scored as having none (was: exit 0, 464 of the
    demo's 1,020 customers `no_orders_yet`, the others' 365-day figures a third of their real ones, a drift
    warning only). Models registered before they recorded their training data's first order are not judged."""
    if not trained_first or not cutoffs or not windows_days:
        return
    longest = max(int(w) for w in windows_days)
    day = pd.Timedelta(days=1)
    span = (as_of - first) / day
    if span >= longest or (pd.Timestamp(cutoffs[-1]) - pd.Timestamp(trained_first)) / day < longest:
        return
    raise StructuralError(
        f"the data's orders start on {first.date()}, {span:.0f} days before --as-of {as_of.date()}: less than the "
        f"model's longest feature window ({longest} days), while its training data started on "
        f"{pd.Timestamp(trained_first).date()}. Every {longest}-day and lifetime figure would be computed on a part "
        f"of each customer's history (an export cut short?). Export at least the {longest} days of orders before the "
        "as-of, with the other tables over the same period"
    )


def future_as_of_error(as_of: pd.Timestamp, last: pd.Timestamp) -> StructuralError:
    """`check_after_first_order`'s refusal of an --as-of after today (`future_from`), whatever the data's age or
    `--allow-stale`: the days until then have not happened, and every point-in-time feature would read them as
    days without an order or a payment (every customer lapsed, churned, every open invoice overdue)."""
    today = pd.Timestamp.now().normalize()
    return StructuralError(
        f"--as-of {as_of.date()} is after today ({today.date()}), {(as_of - last).days:,} days after the last order "
        f"({last.date()}): the days until then have not happened, yet every feature would count them as days "
        "without an order or a payment (every customer lapsed, every open invoice overdue). Give an --as-of at or "
        f"before today; the day after the last order, {days_past_data(last, None)[0].date()}, reads "
        "the data as it ends"
    )


def check_as_of(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, labels: LabelConfig, what: str) -> None:
    """The as-of of a command that reads labels (train, backtest): after the first order, more than one horizon
    of history, and not more than `labels.max_days_past_data` days after the day after the last order. Labels
    come from orders: days the data does not cover would count customers as churned for lack of data (with a
    late enough as-of, every label window is empty and the models meet one class only); a few quiet days at
    the end of an export (a weekend, a holiday closure) are normal and allowed."""
    horizon_days = labels.horizon_days
    first = check_after_first_order(tables, as_of, what)
    # orders only (not `data_age`'s latest event of any table): the labels are orders, and a ticket or invoice
    # after the last order observes no label window; not `default_as_of`: an explicit as-of needs no future check
    end, gap = days_past_data(last_order(tables), as_of)
    if gap > labels.max_days_past_data:
        raise StructuralError(
            f"--as-of {as_of.date()} is {gap:.0f} days after the data ends (the last order is on "
            f"{last_order(tables).date()}; "
            f"labels.max_days_past_data allows {labels.max_days_past_data}): label windows reaching past it "
            f"would count customers as churned for lack of data; use --as-of {end.date()} (the default) or "
            "earlier, or export the missing days"
        )
    span = (as_of - first) / pd.Timedelta(days=1)
    if horizon_days >= span:  # compared in days: as_of - horizon may not even be a representable date
        raise StructuralError(
            f"--horizon-days {horizon_days} is not shorter than the history: {span:.0f} days from the first "
            f"order ({first.date()}) to --as-of {as_of.date()}, so no label can be observed. "
            f"Use a later --as-of or a shorter --horizon-days."
        )
