"""Column names as people write them, and example rows fit for an error message.

`name_key` compares names without case, spaces, `_` and `-`; `did_you_mean` suggests the contract name a header
meant; `examples` shows a few rows with personal columns (name, email, phone, address, however the header writes
them) masked, because error messages land in terminals and batch logs."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from features.contract import TABLES


def name_key(name: str) -> str:
    """A column or table name without case, spaces, `_`, `-` and invisible characters (control and format: a
    second byte-order mark, a zero-width space): two names with the same key differ only in how they are written
    (`Cost`, ` cost`, `COST`, `Customer ID` for `customer_id`, `cost\u200b` for `cost`)."""
    return re.sub(
        r"[\s_\-\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]+", "", name.lower()
    )


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate `name` most likely meant: equal ignoring case/spaces/underscores, else a close spelling."""
    import difflib

    norm = name_key
    candidates = list(candidates)
    same = [c for c in candidates if norm(c) == norm(name)]
    if same:
        return same[0]
    close = difflib.get_close_matches(norm(name), [norm(c) for c in candidates], n=1, cutoff=0.8)
    return next((c for c in candidates if close and norm(c) == close[0]), None)


def shown_name(name: object, limit: int = 80) -> str:
    """A column name for a message, cut after `limit` characters with its length said: a header cell of a
    megabyte (a quote left open in the header) was printed whole in every note and error naming the columns."""
    text = str(name)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def examples(frame: pd.DataFrame, mask: pd.Series | None = None, n: int = 5) -> str:
    """Up to `n` rows for an error message, personal columns (name, email, phone, address, however the header
    writes them) shown as `(personal)`: messages land in terminals and batch logs. Long headers are cut."""
    rows = (frame if mask is None else frame[mask]).head(n)
    personal = [c for c in rows.columns if name_key(str(c)) in PERSONAL_KEYS]
    if personal:
        rows = rows.assign(**{str(c): "(personal)" for c in personal})
    if any(len(str(c)) > 80 for c in rows.columns):
        rows = rows.set_axis([shown_name(c) for c in rows.columns], axis=1)
    return rows.to_string(max_colwidth=40)


PERSONAL_KEYS = frozenset(name_key(c) for t in TABLES.values() for c in t.personal) | {
    "emailaddress",
    "phonenumber",
    "fullname",
    "customername",
}
