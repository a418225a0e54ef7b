"""What the Spark driver keeps of each accepted table and what it measures as the tables stream past (issue 11),
with no Spark call of its own: the columns its whole-base steps read (`driver_columns`, `driver_view`: of the event
tables their times, the orders' revenue, the side tables' distinct customer ids) and the sums folded batch by batch
(`StreamedCounts`, `order_counts_of`, `summed_by_id`). The streaming itself and `SparkTables`:
`pipelines.engines.spark_tables`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from features.contract import EVENT_TIME_COLUMNS
from features.unit_steps import MonthSums

#: The tables with many rows per customer: the driver keeps only the columns of theirs its steps read.
EVENT_TABLES = ("orders", "returns", "tickets", "invoices")
#: Event tables whose early-life inputs (`features.early_life.EARLY_LIFE_COLUMNS`) the driver fetches for the
#: customers in their first weeks only (`SparkTables.early_life_tables`): it keeps none of them.
EARLY_TABLES = ("orders", "tickets")
#: Event tables of which the driver keeps only the distinct customer ids (`driver_view`): its steps read only
#: which customers they name (`features.population`'s statuses, the chunk count); their event times are counted
#: by Spark (`SparkTables.later_events`, `latest_events`), their amounts measured as they stream
#: (`SparkTables.amount_scale`), the tickets' early-life inputs fetched for the new customers alone.
ID_TABLES = ("returns", "tickets", "invoices")


def driver_columns(name: str, columns: Iterable[str], ids: bool = False) -> list[str]:
    """Of table `name`'s validated `columns`, those the Spark driver keeps for `run_score`'s whole-base steps.

    The event tables (`EVENT_TABLES`, most of the rows) keep their event times (the first and last order, the
    company totals, the seasonal note) and orders' revenue (`DRIVER_AMOUNTS`), and, but for the orders
    (`NO_ID_TABLES`), their customer ids (`features.population`'s statuses); their other columns are read only by the features,
    which the executors build from Spark's rows, or by the early-life features of the customers in their first
    weeks, fetched for them alone (`SparkTables.early_life_tables`: orders' promo, tickets' effort), or are
    measured as they stream in (the typical amounts, `features.contract.SCALE_COLUMNS`:
    `SparkTables.amount_scale`). The other tables (a row per customer or fewer: the profile's attributes,
    managers, referrals) keep every column but the unread ones (`unread_columns`). `ids`: the orders keep their
    customer ids too (data without a customers table: the load's case-twin stop counts the orders naming each
    spelling, `features.crossrefs.check_case_twins`)."""
    from features.population import CUSTOMER_ID_COLUMNS
    from pipelines.engines.scoring import unread_columns

    columns = list(columns)
    unread = set(unread_columns(name, columns))
    if name not in EVENT_TABLES:
        return [c for c in columns if c not in unread]
    if name in ID_TABLES:
        return [c for c in columns if c in CUSTOMER_ID_COLUMNS.get(name, ())]
    own = () if name in NO_ID_TABLES and not ids else CUSTOMER_ID_COLUMNS.get(name, ())
    read = {*own, *EVENT_TIME_COLUMNS.get(name, ()), *DRIVER_AMOUNTS.get(name, ())}
    return [c for c in columns if c in read and c not in unread]


def driver_view(name: str, frame: pd.DataFrame, ids: bool = False) -> pd.DataFrame:
    """What the Spark driver keeps of table `name`'s validated rows `frame` (a batch, or the whole table): its
    `driver_columns` (`ids`: with the orders' customer ids), and of `ID_TABLES` only the distinct customer ids
    (first seen first, a fresh index)."""
    kept = frame[driver_columns(name, frame.columns, ids)]
    return kept.drop_duplicates(ignore_index=True) if name in ID_TABLES else kept


#: The amounts the driver's whole-base steps read (`features.table.company_revenue`,
#: `loading.check_after_first_order`'s zero-revenue stop).
DRIVER_AMOUNTS: dict[str, tuple[str, ...]] = {"orders": ("revenue",)}
#: Event tables of which the driver keeps no customer id (`driver_columns`): it keeps every order's time and
#: revenue (the company totals, the first and last order, the seasonal note) but reads which customer ordered
#: only for the statuses and the chunk count (`SparkTables.status_tables`: a row per customer, from Spark) and
#: the BTYD fit (`SparkTables.with_order_ids`: fetched for a model with BTYD features, for its fit).
NO_ID_TABLES = ("orders",)


def order_counts_of(parts: list[pd.Series], empty: pd.DataFrame) -> pd.Series:
    """The orders per customer id from the `value_counts` of each streamed batch of the orders (`parts`)."""
    if not parts:
        return empty["customer_id"].value_counts(sort=False)
    return summed_by_id(parts).rename("count")


def summed_by_id(parts: list[pd.Series]) -> pd.Series:
    """Several batches' figures per customer id (`parts`, each indexed by id) as one sum per id: the orders per
    customer (`order_counts_of`), the amounts per customer (`StreamedCounts`)."""
    return pd.concat(parts).groupby(level=0, sort=False).sum()


#: `StreamedCounts` folds a table's sums per customer into one each time it holds this many batches' sums.
SUM_PARTS = 16


class StreamedCounts:
    """What the driver adds up a batch at a time as the accepted tables stream in, each rule's pandas function on
    the batch (a function of its own: no name of `accepted_tables`' loop to shadow): `positive`
    (`check_positive_values`), `totals` (`features.conventions.amount_totals`), `sums` (`customer_amounts`: a
    float per customer and table), the customers' `email_keys` (`load_notes.shared_email_notes`: a hash of the
    address per id, no address)."""

    def __init__(self) -> None:
        self.positive: dict[str, tuple[int, int]] = {}
        self.totals: dict[str, tuple[float, ...]] = {}
        self.sums: dict[str, list[pd.Series]] = {}
        self.keys: list[pd.DataFrame] = []
        self.days: dict[str, list[pd.DataFrame]] = {}
        self.months = MonthSums()  # the invoices' and returns' amounts by month (`SparkTables.month_amounts`)

    def add(self, name: str, table: pd.DataFrame) -> None:
        from features.conventions import amount_totals, customer_amounts
        from pipelines.data_age import filled_by_day, summed_days
        from pipelines.load_notes import email_keys, positive_counts

        for c, (n, above) in positive_counts(name, table).items():
            was = self.positive.get(f"{name}.{c}", (0, 0))
            self.positive[f"{name}.{c}"] = (was[0] + n, was[1] + above)
        for key, part in amount_totals({name: table}).items():
            was = self.totals.get(key, (0,) * len(part))
            self.totals[key] = tuple(a + b for a, b in zip(was, part, strict=True))
        for key, sums in customer_amounts(name, table).items():
            parts = self.sums.setdefault(key, [])
            parts.append(sums)
            if len(parts) >= SUM_PARTS:  # folded now and then: one row per customer, not per batch
                parts[:] = [summed_by_id(parts)]
        if name == "customers" and "email" in table.columns:
            self.keys.append(email_keys(table))
        self.months.add(name, table)
        days = filled_by_day(name, table)  # a row per day of the batch: summed now and then, as the sums are
        if days is not None:
            parts = self.days.setdefault(name, [])
            parts.append(days)
            if len(parts) >= SUM_PARTS:
                parts[:] = [summed_days(parts)]

    def results(self) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[float, ...]], Any]:
        """(`SparkTables.positive_values`, `.amount_totals`, `.email_twins`)."""
        from features.conventions import customer_medians
        from pipelines.load_notes import email_twins

        twins = email_twins(pd.concat(self.keys, ignore_index=True)) if self.keys else None
        sums = {key: summed_by_id(parts) for key, parts in self.sums.items()}
        return self.positive, {**self.totals, **customer_medians(sums)}, twins
