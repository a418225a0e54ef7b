"""The one rule of every "written so" stop: how many values of a column written one way (another number form,
another script's digits, a unit, an e-mail address or a folded id, a swapped or other date) make the export's way
of writing the column rather than a few bad rows, which stay row rejects. No import of the product: the modules
of ids, numbers and dates all read it."""

from __future__ import annotations

#: From this share of a column's values, a form is how the column is written (rejecting those rows would drop them
#: with exit 0: a locale's numbers would keep only the amounts below 1,000), so the run stops.
LOCALE_SHARE = 0.01
#: Fewer rows than this never make a convention: one wrong row of a tiny table stays a row reject.
MIN_ROWS = 3


def check_share(n: int, given: int) -> bool:
    """Whether `n` of a column's `given` values written one way are how the export writes the column, not a few bad
    rows: 1% of them (`LOCALE_SHARE`) and 3 rows (`MIN_ROWS`). Read by the number forms, another script's digits,
    units, e-mail and folded ids, swapped and other dates, both engines (`pipelines.engines.spark_stops`)."""
    return n > 0 and n >= max(MIN_ROWS, LOCALE_SHARE * given)
