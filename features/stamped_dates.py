"""Event dates a system stamped on many rows at once: a go-live or migration date put on every order before it, an
import date on every payment loaded. Read as given, those rows' real dates are lost (recency, tenure, lateness and
the history before the stamp), without a word: a note of every loading command names the instant."""

from __future__ import annotations

import pandas as pd

#: The event dates looked at (an assignment date shared by a reorganisation, a churn date shared by a clean-up are
#: the data). Since round 36 the customers' `signup_at` too: a CRM's migration date on every customer it brought
#: over was read as their signup without a word (`features.early_life` keeps them from being `new`, but each one
#: cancelled before it was rejected `churned_at before signup_at` with all their orders, each referral they made
#: before it `referred_at before the referrer's signup_at`: the demo with its signups before 2023 so stamped lost 61
#: customers, their 324 orders and 96 referrals, exit 0).
STAMPED_COLUMNS = {
    "customers": ("signup_at",),
    "orders": ("ordered_at",),
    "returns": ("returned_at",),
    "tickets": ("opened_at",),
    "invoices": ("issued_at", "paid_at"),
}
#: One instant holding this share of a column's dates (and `STAMPED_MIN_ROWS`), `STAMPED_TIMES` the rows of any
#: other instant: a stamp, not a busy day (a launch, a sale: the busiest other day comes close; monthly billing on
#: the 1st: twelve instants of one size).
STAMPED_SHARE, STAMPED_TIMES, STAMPED_MIN_ROWS = 0.05, 10, 20
#: Dates of a column looked at first (every k-th one): a column whose most frequent instant among them holds under
#: half `STAMPED_SHARE` of them has no stamp.
SAMPLE = 20_000


#: What else a stamp on a column costs, said in its note.
_STAMP_COSTS = {
    "customers.signup_at": (
        "; a customer cancelled before it rejected `churned_at before signup_at` with all their orders, a referral "
        "they made before it rejected"
    )
}


def stamped_date_notes(tables: dict[str, pd.DataFrame]) -> list[str]:
    """A note per event date column (`STAMPED_COLUMNS`) where one instant holds a share of the rows no busy day
    holds (was: read as given, exit 0: the demo's orders before 2023-04-01 stamped with it, 716 of 2,980, read as
    716 orders on one day; only 71 returns rejected as dated before their order said anything). One `value_counts`
    per column on the accepted rows, after one on 20,000 of them (`SAMPLE`) clears most columns (both engines; the
    Spark driver measures the columns it does not keep as they stream in: `SparkTables.stamped`)."""
    out = []
    measured = getattr(tables, "stamped", None) or {}  # the Spark driver's, of the columns it does not keep
    for name, columns in STAMPED_COLUMNS.items():
        t = tables.get(name)
        for column in columns if t is not None else ():
            if column not in t.columns:
                out += [measured[f"{name}.{column}"]] if measured.get(f"{name}.{column}") else []
                continue
            dates = t[column].dropna()
            # a stamp on 5% of the rows is on about 5% of every 1/k-th row (sorted or not): most columns are
            # cleared on 20,000 of their dates (0.75 CPU-s on 3M orders for the whole column, 0.01 so)
            step = max(1, len(dates) // SAMPLE)
            if step > 1 and dates.iloc[::step].value_counts().max() < STAMPED_SHARE / 2 * len(
                dates.iloc[::step]
            ):
                continue
            note = stamped_note(name, column, dates.value_counts())
            if note:
                out.append(note)
    return out


def stamped_note(name: str, column: str, counts: pd.Series) -> str | None:
    """The note of `stamped_date_notes` on column `name.column` from its dates' `value_counts` (most frequent first),
    None when no instant is a stamp (also what the Spark driver measures as the tables stream in)."""
    total = int(counts.sum())
    if not len(counts) or total < STAMPED_MIN_ROWS:
        return None
    top = int(counts.iloc[0])
    second = int(counts.iloc[1]) if len(counts) > 1 else 0
    if top < max(STAMPED_MIN_ROWS, STAMPED_SHARE * total) or top < STAMPED_TIMES * second:
        return None
    return (
        f"{name}.{column}: {top:,} of the {total:,} dates ({top / total:.1%}) are {counts.index[0]}, one "
        f"instant ({second:,} at the next most frequent): a system's go-live, migration or import date "
        "stamped on those rows? Read so, their own dates are lost (recency, tenure, the history before "
        f"it{_STAMP_COSTS.get(f'{name}.{column}', '')}); export the rows' own dates"
    )
