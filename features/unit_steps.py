"""A money column whose unit changes part way through the data: every order in cents (or thousands) from a day on,
as a billing system migrated or a second export put after the first writes them. Each amount alone is plausible,
so no row rule and no whole-column share sees it; only the typical amount month by month shows the step: every
month after it far above (below) every month before it, by a factor no business moves its typical order by from one
month to the next. Judged on `orders.revenue`, `invoices.amount` and `returns.amount` (`STEP_COLUMNS`; the
invoices' and returns' since round 35: a billing system's export alone in cents from a day on) and, since round 36,
`orders.cost`, `orders.discount` and `customers.acquisition_cost` (by `signup_at`); the Spark driver keeps the
orders' revenue and sums the others by month as they stream (`month_sums`). A note of every loading
command (`pipelines.load_notes.amount_notes`), not a stop: a business that really changed what it sells (a shop
turned wholesaler) would have no way out of a stop, and the note names the month, the factor and what to do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.conventions import unit_names
from features.unit_costs import STREAMED, quantity_sums

#: The factor between the typical order of the months after the step and before it (medians of the months'
#: geometric means per order) from which the step is said: cents for units is 100, thousands for units 1/1000.
STEP_FACTOR = 30.0
#: Months needed on each side of the step, each holding `STEP_MONTH_ROWS` orders or more (sparser months are
#: left out of the judgement: one large order is no typical order).
STEP_MONTHS = 3
STEP_MONTH_ROWS = 20
#: The share of the step (in logarithms) crossed from the last month before it to the first after it, one month
#: of both units between them allowed: a step, not growth over years.
STEP_ABRUPT = 0.75


@dataclass(frozen=True)
class StepColumn:
    """A money column judged (`STEP_COLUMNS`): its table, the time dating it, the amount, what its typical value
    is called, what one row is, what the rows counted are, what reads the amounts, and the note's words for what
    puts a column in another unit (`moved`) and for a real change that is read as it is (`real`)."""

    table: str
    time: str
    amount: str
    typical: str
    per: str
    counted: str
    reads: str = "every customer's profit, value and tier reads them so"
    moved: str = "a billing system migrated, a second export put after the first"
    real: str = "the business really changed what it sells"

    @property
    def key(self) -> str:
        return f"{self.table}.{self.amount}"


#: The money columns judged, each dated by its table's time. The Spark driver keeps the orders' times and revenue
#: (`KEPT_WHOLE`); the others it sums by month as they stream (`month_sums`, `MonthSums`). Since round 36 the
#: orders' cost and discount and the customers' acquisition cost too (was: read as given, exit 0, the demo's costs
#: in cents from 2024-07 on, 1,476 of its 2,980 orders sold at 100 times their cost price without a word).
STEP_COLUMNS = (
    StepColumn("orders", "ordered_at", "revenue", "order", "order", "orders"),
    StepColumn(
        "orders",
        "ordered_at",
        "cost",
        "order's cost",
        "order",
        "orders with a cost",
        moved="a purchasing or ERP system migrated, a second export put after the first",
        real="the goods really cost that much more (less) from then on (other goods, another supplier)",
    ),
    StepColumn(
        "orders",
        "ordered_at",
        "discount",
        "discount",
        "order",
        "orders with a discount",
        moved="a pricing or shop system migrated, a second export put after the first",
        real="the business really discounts that much more (less) from then on (a new discount scheme)",
    ),
    StepColumn("invoices", "issued_at", "amount", "invoice", "invoice", "invoices"),
    StepColumn("returns", "returned_at", "amount", "return", "return", "returns"),
    StepColumn(
        "customers",
        "signup_at",
        "acquisition_cost",
        "acquisition cost",
        "customer",
        "customers with an acquisition cost",
        "the acquisition payback (`cvp profile`) reads them so",
        moved="a marketing system or CRM migrated, a second export put after the first",
        real="winning a customer really costs that much more (less) from then on (a new channel, paid campaigns)",
    ),
)
#: The columns the Spark driver keeps whole (`pipelines.engines.spark_driver_view.DRIVER_AMOUNTS`): not streamed.
KEPT_WHOLE = frozenset({"orders.revenue"})


def month_sums(times: pd.Series, amounts: pd.Series) -> pd.DataFrame:
    """Per month holding a positive amount (`amounts` dated by `times`; months since 1970-01 as the index), its
    rows (`n`) and the sum of their amounts' logarithms (`logs`): all `unit_step` reads, so row batches' sums add
    up to the whole column's (the Spark driver's, summed as the invoices and returns stream)."""
    ok = (amounts.to_numpy(dtype=np.float64, na_value=np.nan) > 0) & times.notna().to_numpy()
    months = times.to_numpy(dtype="datetime64[ns]")[ok].astype("datetime64[M]").astype(np.int64)
    if not len(months):
        return pd.DataFrame({"n": [], "logs": []}, index=pd.Index([], dtype=np.int64))
    first = int(months.min())
    at = months - first
    counts = np.bincount(at).astype(np.float64)
    logs = np.bincount(at, weights=np.log(amounts.to_numpy(dtype=np.float64, na_value=np.nan)[ok]))
    held = np.flatnonzero(counts)
    return pd.DataFrame({"n": counts[held], "logs": logs[held]}, index=held + first)


class MonthSums:
    """The `month_sums` of `STEP_COLUMNS` but those kept whole, and the orders' cost shares by quantity
    (`features.unit_costs.quantity_sums`, under `STREAMED`), added up a row batch at a time (the Spark driver's
    `StreamedCounts`, which keeps none of those amounts): `add` each batch of a table, then `results`, per
    `table.column`."""

    def __init__(self) -> None:
        self.parts: dict[str, list[pd.DataFrame]] = {}

    def add(self, name: str, table: pd.DataFrame) -> None:
        for c in STEP_COLUMNS:
            if c.table != name or c.key in KEPT_WHOLE or not {c.time, c.amount} <= set(table.columns):
                continue
            parts = self.parts.setdefault(c.key, [])
            parts.append(month_sums(table[c.time], table[c.amount]))
            self._folded(parts)
        if name == "orders" and (by_quantity := quantity_sums(table)) is not None:  # `features.unit_costs`
            parts = self.parts.setdefault(STREAMED, [])
            parts.append(by_quantity)
            self._folded(parts)

    @staticmethod
    def _folded(parts: list[pd.DataFrame]) -> None:
        if len(parts) >= 16:  # folded now and then: a row per month (quantity), not per batch
            parts[:] = [pd.concat(parts).groupby(level=0).sum()]

    def results(self) -> dict[str, pd.DataFrame]:
        return {key: pd.concat(parts).groupby(level=0).sum() for key, parts in self.parts.items()}


def unit_step(times: pd.Series, amounts: pd.Series) -> tuple[pd.Period, float, int, int] | None:
    """`step_in_months` of `month_sums(times, amounts)`."""
    return step_in_months(month_sums(times, amounts))


def step_in_months(sums: pd.DataFrame) -> tuple[pd.Period, float, int, int] | None:
    """The month (or quarter) from which the amounts summed by month (`month_sums`) are in another unit: (that
    period, the factor after/before, the rows from then on, the rows judged), or None. One pass over the months
    (no sort, no groupby of rows): 10M orders cost what a column's sum costs. Judged by months; when that finds
    no step and some months hold too few rows to be judged (a small business: 50 customers' 10 orders a month),
    by calendar quarters again, summed from the months' figures."""
    total = int(sums["n"].sum()) if len(sums) else 0
    if total < 2 * STEP_MONTHS * STEP_MONTH_ROWS:
        return None
    first = int(sums.index.min())
    size = int(sums.index.max()) - first + 1
    counts, logs = np.zeros(size), np.zeros(size)
    at = sums.index.to_numpy(dtype=np.int64) - first
    np.add.at(counts, at, sums["n"].to_numpy(dtype=np.float64))
    np.add.at(logs, at, sums["logs"].to_numpy(dtype=np.float64))
    found = _step_at(counts, logs)
    if found is not None:
        k, step = found
        month = pd.Period(np.datetime64(first + k, "M"), freq="M")
        return month, float(np.exp(step)), int(counts[k:].sum()), total
    if not ((counts > 0) & (counts < STEP_MONTH_ROWS)).any():
        return None
    quarters = (first + np.arange(len(counts))) // 3  # months since 1970-01: calendar quarters
    quarters -= quarters[0]
    found = _step_at(np.bincount(quarters, weights=counts), np.bincount(quarters, weights=logs))
    if found is None:
        return None
    k, step = found
    quarter = pd.Period(np.datetime64(3 * (first // 3 + k), "M"), freq="Q")
    return quarter, float(np.exp(step)), int(counts[quarters >= k].sum()), total


def _step_at(counts: np.ndarray, logs: np.ndarray) -> tuple[int, float] | None:
    """The period (index into `counts`) the step starts at and its size in logarithms, or None: periods of
    `STEP_MONTH_ROWS` orders or more, `STEP_MONTHS` or more on each side, every one after far above (below) every
    one before, most of it crossed at once."""
    kept = np.flatnonzero(counts >= STEP_MONTH_ROWS)
    if len(kept) < 2 * STEP_MONTHS:
        return None
    means = logs[kept] / counts[kept]
    best: tuple[float, float, int] | None = None
    for k in range(STEP_MONTHS, len(kept) - STEP_MONTHS + 1):
        before, after = means[:k], means[k:]
        step = float(np.median(after) - np.median(before))
        apart = after.min() > before.max() if step > 0 else after.max() < before.min()
        if not apart or abs(step) < np.log(STEP_FACTOR):
            continue
        # the crossing: from the last period before to the first after, or across one mixed period, judged only
        # over two calendar periods at most (periods too sparse to judge between them: growth may hide there)
        last = means[k - 1]
        pairs = ((k, k - 1), (min(k + 1, len(means) - 1), k - 1), (k, max(k - 2, 0)))
        moves = [means[a] - means[b] for a, b in pairs if kept[a] - kept[b] <= 2]
        crossed = max(moves, key=lambda j: j * step, default=0.0)
        if crossed * np.sign(step) < STEP_ABRUPT * abs(step):
            continue
        # where it steps: the largest move between two periods
        jump = float((means[k] - last) * np.sign(step))
        if best is None or jump > best[0]:
            best = (jump, step, k)
    if best is None:
        return None
    _, step, k = best
    return int(kept[k]), step


def unit_step_notes(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """The notes on a money column of `STEP_COLUMNS` changing unit part way through (`step_in_months`), from the
    accepted tables: the orders' revenue (both engines: the Spark driver keeps the orders' times and revenue,
    `spark_driver_view.DRIVER_AMOUNTS`), since round 35 the invoices' and returns' amounts (was: read as given, exit
    0, the orders in units and only the invoices in cents from a day on), of the Spark driver's month sums as
    they streamed (`SparkTables.month_amounts`: it keeps none of those amounts)."""
    said = []
    streamed = getattr(tables, "month_amounts", None) or {}
    for c in STEP_COLUMNS:
        frame = tables.get(c.table)
        if frame is not None and {c.time, c.amount} <= set(frame.columns):
            sums = month_sums(frame[c.time], frame[c.amount])
        elif c.key in streamed:
            sums = streamed[c.key]
        else:
            continue
        found = step_in_months(sums)
        if found is None:
            continue
        month, factor, after, n = found
        times = f"{factor:,.0f} times" if factor >= 1 else f"1/{1 / factor:,.0f} of"
        named = unit_names(factor)
        per = "quarter" if month.freqstr.startswith("Q") else "month"
        unit = (
            f"in {named[1]} from then on, in {named[2]} before" if named else "in another unit from then on"
        )
        also = (
            " (returns and invoices too, when they changed with the orders)"
            if c.key == "orders.revenue"
            else ""
        )
        said.append(
            f"table '{c.table}', column '{c.amount}': from {month} on the typical {c.typical} is {times} what it was "
            f"before (each {per}'s geometric mean per {c.per}, every {per} after above every {per} before: "
            f"{after:,} of the {n:,} {c.counted} from {month} on): the amounts {unit} ({c.moved})? If so, "
            f"{c.reads}{also}: give every amount in one unit and load again; if {c.real}, they are read as they are"
        )
    return said
