"""Column names as people write them, and example rows fit for an error message.

`name_key` compares names without case, spaces, `_` and `-`; `did_you_mean` suggests the contract name a header
meant; `examples` shows a few rows with only the contract's non-personal columns (a whitelist: a column the contract
does not declare, `first_name`, `iban`, `notes`, is never shown), because error messages land in terminals and
batch logs."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from features.contract import TABLES

#: Cyrillic and Greek letters drawn like Latin ones (`С` U+0421 for `C`, `о` for `o`, `Α` for `A`), and the Latin
#: letter each is drawn like: an id of them is a reject (`features.ids.lookalike_ids`), a column name of them the
#: contract's name (`name_key`: `cоst` with a Cyrillic `о` is `cost`).
LOOKALIKE_LETTERS = "АВЕКМНОРСТХаеорсухіјѕІЈЅΑΒΕΖΗΙΚΜΝΟΡΤΥΧοϳ"
_LATIN_TWINS = str.maketrans(LOOKALIKE_LETTERS, "ABEKMHOPCTXaeopcyxijsIJSABEZHIKMNOPTYXoj")


def name_key(name: str) -> str:
    """A column or table name without case, spaces, `_`, `-` and invisible characters (control and format: a
    second byte-order mark, a zero-width space), Unicode's compatibility forms and lookalike letters folded: two
    names with the same key differ only in how they are written (`Cost`, ` cost`, `COST`, `Customer ID` for
    `customer_id`; `cost\u200b`, fullwidth `ｃｏｓｔ`, `cоst` with a Cyrillic `о` for `cost`)."""
    if not name.isascii():  # round 16: `ｃｏｓｔ`, `cоst` (was: another column, ignored: the cost dropped)
        import unicodedata

        name = unicodedata.normalize("NFKC", name).translate(_LATIN_TWINS)
    return re.sub(
        r"[\s_\-\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]+", "", name.lower()
    )


def spelt(name: str) -> str:
    """For a name `repr` shows with letters that are not ASCII, how it is written in escapes (`cоst` with a
    Cyrillic `о` prints like `cost`: ` (written 'c\\u043est')`); else ''."""
    return "" if repr(name) == ascii(name) else f" (written {name!a})"


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


def shown_in_messages(name: object) -> bool:
    """Whether a column's values may appear in a message: a non-personal column of the contract (however the header
    writes it: `Customer ID`) or the row's `source_row`. A whitelist, never a list of personal names: real exports
    carry `first_name`, `Vorname`, `mobile`, `street`, `iban`, `dob`, `notes`... that no list foresees."""
    return name_key(str(name)) in MESSAGE_KEYS


def examples(frame: pd.DataFrame, mask: pd.Series | None = None, n: int = 5, also: Iterable[str] = ()) -> str:
    """Up to `n` rows for an error message, showing only the columns `shown_in_messages` allows (the rows' index,
    their position in the file, stays) and `also` (a column the caller judged, a currency code): messages land in
    terminals and batch logs. Long headers are cut."""
    rows = (frame if mask is None else frame[mask]).head(n)
    also = set(also)
    keep = [i for i, c in enumerate(rows.columns) if shown_in_messages(c) or c in also]
    hidden = rows.shape[1] - len(keep)
    rows = rows.iloc[:, keep]
    if any(len(str(c)) > 80 for c in rows.columns):
        rows = rows.set_axis([shown_name(c) for c in rows.columns], axis=1)
    text = rows.to_string(max_colwidth=40) if keep else "rows " + ", ".join(map(str, rows.index))
    if hidden:
        text += f"\n({hidden} column(s) outside the contract or personal not shown)"
    return text


PERSONAL_KEYS = frozenset(name_key(c) for t in TABLES.values() for c in t.personal) | {
    "emailaddress",
    "phonenumber",
    "fullname",
    "customername",
}
#: `shown_in_messages`: the keys of every table's non-personal contract columns, and the source row.
MESSAGE_KEYS = (
    frozenset(name_key(c.name) for t in TABLES.values() for c in t.columns if c.name not in t.personal)
    - PERSONAL_KEYS
) | {name_key("source_row")}


def shown_values(raw: pd.Series, found: np.ndarray | pd.Series) -> tuple[str, str]:
    """A column's values `found` as a stop's message shows them: up to three distinct ones, quoted (for the
    sentence), and up to five example rows (the message's tail, "Example rows:" and the rows)."""
    rows = raw[found].head(5)
    seen = ", ".join(map(repr, rows.astype("str").str.strip().drop_duplicates().tolist()[:3]))
    return seen, "\nExample rows:\n" + rows.to_frame().to_string(max_colwidth=40)
