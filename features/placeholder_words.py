"""Placeholder words for a missing value in a date, number or true/false column (`NULL`, `N/A`, `NaT`, `-`, a
date column's `never` or `unpaid`): the mask (`missing_placeholders`), the share from which they are how the
export writes "no value" (`PLACEHOLDER_SHARE`), and the stop naming the way the tool writes empty cells instead
(`check_missing_placeholders`). Both engines. Numbers in other forms: `features.numbers`, `features.number_forms`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from features.errors import StructuralError
from features.shares import MIN_ROWS

#: From this share of a column's rows (and `MIN_ROWS` rows), a placeholder word for a missing value (`NULL`,
#: `N/A`, ...: `features.ids.PLACEHOLDER_IDS`) in a date, number or true/false column is how the export writes
#: "no value" (a SQL dump's NULL for every customer never cancelled), not a few bad rows.
PLACEHOLDER_SHARE = 0.01


def share_floor(rows: int) -> float:
    """The least count of `rows` rows that is an export's way rather than a few wrong rows: `PLACEHOLDER_SHARE` of
    them and `MIN_ROWS`; the one floor of the placeholder, negative-value, quantity and decimal-id stops (both
    engines: the Spark driver passes its counts)."""
    return max(MIN_ROWS, PLACEHOLDER_SHARE * rows)


#: ... and, in those columns only, `NaT`: pandas' missing date as text (a date column turned to text before its
#: export; as an id it may be a name's initials, `NAT`, which the id rules keep), PostgreSQL's `infinity`,
#: `-infinity` for an open end or start of a date (a number column reads them as infinite: `non-finite`), and R's
#: `NA` (`write.csv`'s and `readr::write_csv`'s missing value; as an id or a category it may be North America or
#: Namibia, which the id and category rules keep), `.`, the missing value of SAS, Stata and SPSS, and `-`: an
#: export's "none", or a spreadsheet's accounting format's zero (` -   `): which one cannot be told, so a stop.
VALUE_PLACEHOLDERS = ("nat", "infinity", "-infinity", "na", ".", "-")
#: ... and, in a date column only, a state for a date not there yet (a CRM's, HR or billing system's words:
#: `paid_at` "unpaid", "open", "pending" for each unpaid invoice, `churned_at` "never", "active", `left_at`
#: "present"): rejected, they dropped the very rows still open. In a true/false or number column they are values
#: of another type (`disputed` "open", `promo` "active": a flag, not a missing value; exported empty, every true
#: flag would be lost), judged as such.
DATE_STATES = tuple(
    "never unpaid open pending outstanding active ongoing present current unknown missing tbd".split()
) + ("not paid",)
#: The way a tool that writes a placeholder writes empty cells instead (`_tool_way`).
_WAYS = {
    "na": ' (R: write.csv(x, na = ""))',
    ".": " (`.` is how SAS, Stata and SPSS show a missing value)",
    "-": " (`-` is also how a spreadsheet's accounting format shows a zero: format the column as numbers)",
}


def missing_placeholders(raw: pd.Series, unparsed: pd.Series | np.ndarray, kind: str) -> np.ndarray:
    """Which values (as read) of a date, number or true/false column (its contract `kind`) are a placeholder word
    for a missing value, among `unparsed` (the rows that did not parse): `DATE_STATES` in a date column only."""
    from features.ids import placeholder_ids

    out = np.zeros(len(raw), dtype=bool)
    at = np.flatnonzero(np.asarray(unparsed, dtype=bool))
    if not len(at) or pd.api.types.is_numeric_dtype(raw.dtype):
        return out
    text = raw.iloc[at].astype("str").str.strip()
    words = VALUE_PLACEHOLDERS + (DATE_STATES if kind == "timestamp" else ())
    out[at] = placeholder_ids(text) | text.str.lower().isin(words).to_numpy(dtype=bool)
    out[at] |= text.str.fullmatch(_ACCOUNTING_ZERO).fillna(False).to_numpy(dtype=bool)
    return out


#: `-` with a currency sign or code (`$ -   `, `€ -`, `- EUR`): a spreadsheet's accounting format's zero, the
#: spaces its fill's (`$    -`; Excel's euro accounting format writes `-   €`).
_ACCOUNTING_ZERO = r"[^\d\s.,+\-()]{1,4}\s*-|-\s*[^\d\s.,+\-()]{1,4}"


def _tool_way(words: list[str], kind: str) -> str:
    """What the tool that wrote the placeholder `words` in a column of `kind` should do (`_WAYS`: R's `NA`, SAS's
    `.`; a spreadsheet's accounting zero in a money or number column only: a date's or a category's `-` is
    "none"); else ''."""
    said = {"-" if re.fullmatch(_ACCOUNTING_ZERO, w) else w.lower() for w in words}
    if kind not in ("money", "number"):
        said.discard("-")
    return "".join(_WAYS[w] for w in sorted(said & _WAYS.keys()))


def placeholder_hint(values: pd.Series, every: bool, kind: str) -> str:
    """For a column of `kind` where no value parses and `every` given value is a placeholder word (`NULL`, R's
    `NA`: a column empty on every row, written so; both engines count them: `missing_placeholders`), a sentence
    saying so, naming the words among `values` (its first given values: the rows both engines show), to say
    instead of the column's format; else '' (`.` on 90 rows and `05JAN2023` on 10: dates in a form)."""
    if not every or not len(values):
        return ""
    words = sorted(set(values.astype("str").str.strip().head(5)))[:3]
    return (
        f" The values are {', '.join(map(repr, words))}, an export's placeholder for a missing value: the column "
        f"is empty on every row. Export missing values as empty cells{_tool_way(words, kind)}, or leave the "
        "column out."
    )


def check_missing_placeholders(table: str, column: str, raw: pd.Series, found: np.ndarray) -> None:
    """Structural error when a column writes "no value" as a placeholder word (`PLACEHOLDER_SHARE` of its rows):
    a date, number or true/false column, an optional id column (`features.ids.missing_ids`: `-`, `0`, `NULL`
    for a customer without a manager) or a model-read category (`features.ids.missing_categories`)."""
    n = int(found.sum())
    if n < share_floor(len(raw)):
        return
    from features.contract import TABLES

    words = sorted(set(raw[found].astype("str").str.strip()))[:3]
    kind = TABLES[table].column(column).kind
    what, fix = "a value", f"Export missing values as empty cells{_tool_way(words, kind)}."
    if kind == "id":  # an optional id: `-` for "no manager" on each such row
        what = "an id"
        fix = f"{column} is optional: export a missing {column.removesuffix('_id').replace('_', ' ')} as an empty cell."
    elif kind == "text":  # `NULL` as a region: a category the model would learn
        what = "a category"
    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {len(raw):,} rows hold {', '.join(map(repr, words))}, an "
        f"export's placeholder for a missing value: each would be rejected as not {what} (with it the row, and "
        f"for a customer every order of theirs). {fix}\nExample rows:\n"
        f"{raw[found].head(5).to_frame().to_string(max_colwidth=40)}"
    )
