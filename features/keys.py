"""A key repeated with other values: a file of one row per line where the contract wants one row per entity (an
order export of order lines). Used by the contract's validation (`features.validation`)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from features.contract import TABLES
from features.errors import StructuralError
from features.names import examples

#: From this share of a table's rows (and `MIN_ROWS` rows), duplicates of a key that carry other values are the
#: file's layout (one row per order line), not a re-exported row: rejecting them keeps only each first line.
LINE_SHARE = 0.01
MIN_ROWS = 3


def check_one_row_per_key(table: str, t: pd.DataFrame, key: str, duplicate: pd.Series) -> None:
    """Structural error when many of the rows `duplicate` (those repeating an earlier row's `key`) differ from
    that row in another column. Identical repeats (an order exported twice) stay row rejects."""
    n = int(duplicate.sum())
    if n < max(MIN_ROWS, LINE_SHARE * len(t)):
        return
    keys = t.loc[duplicate.to_numpy(dtype=bool), key].unique()
    rows = t[t[key].isin(keys)]
    distinct = rows.drop_duplicates()
    differing = distinct[distinct[key].duplicated(keep=False)]
    lines = int(rows[key].isin(differing[key].unique()).sum()) - differing[key].nunique()
    if lines < max(MIN_ROWS, LINE_SHARE * len(t)):
        return
    example = differing[differing[key] == differing[key].iloc[0]]
    # an event table's customer (a referral's two customers are no owner: two referrers of one customer are data)
    owner = (
        "customer_id" if TABLES[table].customer_refs == ("customer_id",) and key != "customer_id" else None
    )
    owners = differing.groupby(key)[owner].nunique() if owner else pd.Series(dtype=int)
    if len(owners) and (owners > 1).sum() > 0.5 * len(owners):  # lines of one order name one customer
        shown = differing[differing[key] == owners[owners > 1].index[0]]
        # and several rows of one key and one customer: order lines too (a marketplace's per-shop numbers)
        pairs = differing.groupby([key, owner]).size()
        several = int((pairs > 1).sum())
        also = (
            f" Besides, {several:,} of the {len(pairs):,} {key}s of one {owner} hold several rows that differ "
            f"(one per order line?): once the {key}s are unique, give one row per {key} (order lines summed) or "
            f"group the rows through a mapping (`group_by` the columns naming one {key}: `[shop, {key}]`)."
            if several >= max(MIN_ROWS, LINE_SHARE * len(pairs))
            else ""
        )
        raise StructuralError(  # was: the order lines' advice, whose `group_by` merges other customers' orders
            f"table {table!r}, column {key!r}: {lines:,} of {len(t):,} rows repeat the {key} of an earlier row "
            f"with other values, and {int((owners > 1).sum()):,} of the {len(owners):,} {key}s so repeated name "
            f"more than one {owner} ({shown[key].iloc[0]!r} on {len(shown)} rows): not the lines of one {key}, "
            f"but two numberings meeting (a number restarting each year, per shop or per system: exports put "
            f"together?). Grouping the rows by {key} alone would merge other customers' {key}s. Make the {key}s "
            f"unique in the export (the year, shop or system in front), or through a mapping's `derive`.{also}"
            f"\nExample rows:\n{examples(shown)}"
        )
    filled = _filled_later(differing, key)
    if filled:
        raise StructuralError(  # was: the order lines' advice, whose grouping sums an invoice with itself
            f"table {table!r}, column {key!r}: {lines:,} of {len(t):,} rows repeat the {key} of an earlier row, "
            f"and of most {key}s so repeated the rows differ only by values one of them leaves empty "
            f"({', '.join(filled)}; {example[key].iloc[0]!r} on {len(example)} rows): two exports of overlapping "
            f"periods put together, the later one with values filled since (a payment, a closing)? Rejected as "
            f"duplicates, the first row would be kept, without them. Keep the latest export's row of each {key} "
            f"(or export the whole span once) and load again.\nExample rows:\n{examples(example)}"
        )
    raise StructuralError(
        f"table {table!r}, column {key!r}: {lines:,} of {len(t):,} rows repeat the {key} of an earlier row with "
        f"other values ({example[key].iloc[0]!r} on {len(example)} rows that differ): the file holds several rows "
        f"per {key} (one per order line, address or period?). Rejected as duplicates, every row after the first "
        f"would be lost, or taken at random. Give one row per {key} (order lines summed), or read the file "
        f"through a mapping that groups its rows (`group_by`, as configs/datasets/online_retail.yaml does)."
        f"\nExample rows:\n"
        f"{examples(example)}"
    )


def _filled_later(differing: pd.DataFrame, key: str) -> list[str]:
    """The columns that tell the rows of a repeated key apart when, for more than half of the keys, they differ
    only by values one row leaves empty (`paid_at` empty in one, filled in the other: an invoice exported unpaid,
    then again once paid); else []. Round 35: such a file was told to sum its order lines."""
    groups = differing.groupby(key, sort=False)
    held = groups.nunique(dropna=True) <= 1  # per key and column: one value at most, empty ones aside
    only_filled = held.all(axis=1)
    if not only_filled.sum() > 0.5 * len(held):
        return []
    keys = only_filled[only_filled].index
    changed = groups.nunique(dropna=False).loc[keys] > 1
    return [str(c) for c in changed.columns[changed.any(axis=0).to_numpy()]]


#: The per-customer event tables judged for an export repeated under new ids: the column dating each row, the
#: word for one row and what counting a row twice would do.
REPEAT_TABLES = {
    "orders": ("ordered_at", "order", "their revenue would count twice"),
    "invoices": ("issued_at", "invoice", "every payment feature would count them twice"),
    "returns": ("returned_at", "return", "their refunds would count twice"),
    "tickets": ("opened_at", "ticket", "their service effort would count twice"),
}
#: From this share of a table's rows (and `MIN_ROWS`), rows equal in every column but the key are an export
#: repeated under new ids, not a customer buying (returning, billed, served) the same twice at the same time:
#: Online Retail has 2 such orders of 18,536 (0.01%; 64, 0.35%, with its times cut to the day: dates alone are not
#: judged), the demo none in any of these tables.
REPEAT_SHARE = 0.05
#: A table of fewer rows is never judged so: a small table's equal rows (a shop's first days) are kept.
REPEAT_MIN_ROWS = 100


def repeated_rows(table: str, t: pd.DataFrame, ok: np.ndarray) -> np.ndarray:
    """The rows of `table` (a `REPEAT_TABLES` one) among `ok` (accepted so far: a repeated key is already a
    `duplicate` reject) dated with a time of day and equal to another of them in every column but the key. Rows
    dated to the day only (midnight) are not judged: the same order, invoice, return or ticket again on one day
    cannot be told from a repeated export. A customer's rows are all in one Spark bucket, so each bucket finds
    its own (`pipelines.engines.spark_checks.check_bucket`)."""
    out = np.zeros(len(t), dtype=bool)
    dated, key = REPEAT_TABLES[table][0], TABLES[table].key
    if dated not in t.columns:
        return out
    nanos = pd.Series(t[dated]).to_numpy(dtype="datetime64[ns]").view("int64")  # no copy when in ns
    at = np.flatnonzero(np.asarray(ok, dtype=bool) & (nanos % 86_400_000_000_000 != 0))  # a time of day
    columns = [c for c in t.columns if c != key]
    if len(at) > 1 and columns:
        # A row repeating another shares its date: only the rows whose time another row shares are compared in
        # every column (a copy of those few rows, not of the table: at 1M customers, 9.4M orders, the whole copy
        # took 11.7 s and 1.26 GB)
        when = nanos[at]
        if not (when[1:] >= when[:-1]).all():  # the usual export is in time order already: no sort
            order = np.argsort(when, kind="stable")
            when, at = when[order], at[order]
        same = when[1:] == when[:-1]
        shared = np.r_[same, False] | np.r_[False, same]
        candidates = at[shared]
        if len(candidates) > 1:  # grouped by their time already: the other columns compared on those rows
            times = np.cumsum(np.r_[True, ~same])[shared]
            out[candidates] = _equal_rows(t, candidates, [c for c in columns if c != dated], times)
    return out


def _equal_rows(
    t: pd.DataFrame, rows: np.ndarray, columns: list[str], group: np.ndarray | None = None
) -> np.ndarray:
    """`t.iloc[rows].duplicated(columns, keep=False)` as a mask over `rows` (`group`: the rows' codes of columns
    compared already, equal codes for equal values): each column in turn narrows the rows to those that still
    share their values so far with another row (issue 14: after the time and the customer few remain, so the
    other columns are read on those only, and no copy of the rows is made). Equal as `duplicated` takes it: each
    column's values by `pd.factorize`, a missing value equal to a missing one."""
    group = np.zeros(len(rows), dtype=np.int64) if group is None else pd.factorize(group)[0]
    alive = np.arange(len(rows))
    for c in columns:
        codes, uniques = pd.factorize(t[c].iloc[rows[alive]])
        group = pd.factorize(group * (len(uniques) + 1) + (codes + 1))[0]  # -1 (missing) a value of its own
        shared = np.bincount(group)[group] > 1
        alive, group = alive[shared], group[shared]
        if not len(alive):
            break
    hit = np.zeros(len(rows), dtype=bool)
    hit[alive] = True
    return hit


def repeat_fires(table: str, rows: int, repeated: int) -> bool:
    """Whether `repeated` rows of `rows` are enough to stop (`REPEAT_SHARE` of `REPEAT_MIN_ROWS` or more)."""
    return (
        table in REPEAT_TABLES and rows >= REPEAT_MIN_ROWS and repeated >= max(MIN_ROWS, REPEAT_SHARE * rows)
    )


def check_repeated_rows(table: str, t: pd.DataFrame, repeated: pd.Series | np.ndarray) -> None:
    """Structural error when `REPEAT_SHARE` of the rows of `table` (of `REPEAT_MIN_ROWS` or more) repeat another
    row in every column but the key (`repeated_rows`): the same rows exported twice under renumbered ids; read as
    given, every such order, invoice, return or ticket counts twice with exit 0. Fewer are the data (kept: never
    rejected); rows dated to the day only are not judged. Both engines (`--engine spark`: each customer bucket's
    repeated rows summed in the one aggregation)."""
    hit = np.asarray(repeated, dtype=bool)
    if not repeat_fires(table, len(t), int(hit.sum())):
        return
    dated, noun, doubled = REPEAT_TABLES[table]
    key = TABLES[table].key
    shown = [c for c in (key, "customer_id", dated, "revenue", "amount", "effort_minutes") if c in t.columns]
    raise StructuralError(
        f"table {table!r}: {int(hit.sum()):,} of {len(t):,} {noun}s repeat another {noun} in every column but "
        f"{key} (the same customer, time and other values under another {key}): the same {noun}s exported twice "
        f"under new ids? Read as given, {doubled}. Remove the repeated export; {noun}s that truly repeat are told "
        f"apart by their time of day in `{dated}` ({noun}s dated to the day only are not judged).\nExample rows:\n"
        f"{t.loc[hit, shown].head(5).to_string(max_colwidth=40)}"
    )


REPEATED_HEADER = "the header line repeated inside the file (concatenated exports?)"


def repeated_headers(raw: pd.DataFrame) -> np.ndarray:
    """Rows (as read) that are the header again: every named column holds its own name, as when two exports are
    concatenated with their headers. Read as data, it is a customer `customer_id` or a manager named `name`."""
    import pyarrow.compute as pc

    from features.text import arrow_text

    out = np.zeros(len(raw), dtype=bool)
    named = [c for c in raw.columns if isinstance(c, str) and c]
    if not named or not len(raw) or any(not _is_text(raw[c]) for c in named):
        return out
    # one Arrow pass over the first column narrows the rows to a handful; the others are compared on those only.
    # The second export's byte-order mark stays before its header line (`\ufefforder_id`; `\ufeff"order_id"`: the
    # mark keeps the quote from opening the field)
    import pyarrow as pa

    heads = pa.array([named[0], f"\ufeff{named[0]}", f'\ufeff"{named[0]}"'])
    try:
        first = pc.fill_null(
            pc.is_in(arrow_text(raw[named[0]]), value_set=heads), False
        )  # no copy of the strings
    except (TypeError, ValueError):  # not text (Parquet decimals, bytes): judged by its column type later
        return out
    rows = np.flatnonzero(np.asarray(first, dtype=bool))
    for c in named[1:]:
        if not len(rows):
            break
        values = raw[c].iloc[rows].to_numpy(dtype=object)
        rows = rows[np.array([isinstance(v, str) and v.strip() == c for v in values], dtype=bool)]
    out[rows] = True
    return out


def _is_text(col: pd.Series) -> bool:
    return col.dtype == object or isinstance(col.dtype, pd.StringDtype)


LABEL_ROW = "a second header line (column labels under the header)"
#: where a label row sits: right under the header (BI and CRM exports write technical names, then labels)
LABEL_ROWS_AT_TOP = 3


def label_rows(raw: pd.DataFrame) -> np.ndarray:
    """Rows at the top of a file whose first column holds that column's own name written otherwise (`Customer ID`
    in `customer_id`, `Order_Id` in `order_id`): a labels line under the technical header. Read as data, it was a
    customer `Customer ID`, or an account manager `Manager ID` with a page of its own."""
    from features.names import name_key

    out = np.zeros(len(raw), dtype=bool)
    named = [c for c in raw.columns if isinstance(c, str) and c]
    if not named or not len(raw) or not _is_text(raw[named[0]]):
        return out
    top = raw[named[0]].iloc[:LABEL_ROWS_AT_TOP].to_numpy(dtype=object)
    key = name_key(named[0])
    stem = key[:-2] if key.endswith("id") else key  # `customer` of customer_id
    labels = {key} | (
        {stem + w for w in ("identifier", "number", "no", "nr", "ref")} if stem != key else set()
    )
    if (
        stem != key
    ):  # `Manager ID`, `ID` for account_manager_id: a label may drop leading words, never the `ID`
        parts = [p for p in re.split(r"[\s_\-]+", named[0].strip().lower()) if p]
        labels |= {"".join(parts[i:]) for i in range(len(parts))}
    for i, v in enumerate(top):
        out[i] = isinstance(v, str) and name_key(v) in labels
    return out


#: One reason for a CSV line of separators only and a Parquet row null in every column (was: "an empty line:
#: separators only", the CSV's words for a Parquet row too).
EMPTY_LINE = "an empty row: no value in any column"


def empty_lines(raw: pd.DataFrame) -> np.ndarray:
    """Rows (as read) with no value in any column: a line of separators only (`,,,,,,`: a spreadsheet's blank rows
    saved into the CSV, often at its end), a Parquet row null in every column. Was: `missing order_id` (counted,
    but it named a column, not the line). Narrowed by the first column, then each other column on the rows left
    (`features.text.blank`)."""
    from features.text import blank

    out = np.zeros(len(raw), dtype=bool)
    if not len(raw.columns) or not len(raw):
        return out
    rows = np.flatnonzero(blank(raw.iloc[:, 0]).to_numpy(dtype=bool))
    for at in range(1, len(raw.columns)):
        if not len(rows):
            return out
        rows = rows[blank(raw.iloc[rows, at]).to_numpy(dtype=bool)]
    out[rows] = True
    return out
