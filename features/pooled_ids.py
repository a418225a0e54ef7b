"""Ids that name a pooled account, no customer: a guest checkout (`GUEST`), cash sales at a till (`CASH`,
`WALK-IN`), a test or dummy account, or a word for "not known" (`UNKNOWN`, `ANONYMOUS`, `n.a.`, `tbd`, `missing`,
`XXXX`), any case. As an id, every such order was one customer holding every guest sale: modelled, ranked and
reported as the best customer, with exit 0. A row reject, `features.ids.MISSING_ID` with its own examples (one of
`features.ids.ID_RULES`, both engines), and so on 1% of an optional id column the stop for a placeholder written
for "none" (`features.numbers.check_missing_placeholders`: `account_manager_id` `UNKNOWN` for every customer
without a manager). `0000000` is a zero, the sentinel rule's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.text import TextBytes, byte_set

#: The words, compared lower-cased with the whole id (stripped by parsing).
POOLED_IDS = (
    "guest", "unknown", "anonymous", "anon", "cash", "cash sale", "cash sales", "walk-in", "walk in", "walkin",
    "test", "dummy", "n.a.", "n.a", "tbd", "tba", "missing", "no customer",
)  # fmt: skip
#: `XXX`, `xxxx`, ...: a form's filler.
_POOLED_X = r"^[xX]{3,}$"
POOLED = "GUEST, UNKNOWN, CASH, TEST, ...: a pooled account, no customer"


def pooled_ids(ids: pd.Series, text: TextBytes | None = None) -> np.ndarray:
    """Which parsed ids (text) are a word for a pooled account (`POOLED_IDS`, `_POOLED_X`, any case). Only ids of 3
    to 11 bytes starting with a letter such a word starts with are lower-cased and looked up (about 20 ms on
    250,000 ids all of them candidates, `C00042`; none for ids of digits)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (ids.dtype == object or isinstance(ids.dtype, pd.StringDtype)):
        return np.zeros(len(ids), dtype=bool)
    text = text or TextBytes(ids)
    hit = np.zeros(len(ids), dtype=bool)
    starts = byte_set(b"gGuUaAcCwWtTdDnNmMxX")[text.first]
    if not starts.any():
        return hit
    size = np.asarray(pc.fill_null(pc.binary_length(text.arr), 0))
    at = np.flatnonzero(starts & (size >= 3) & (size <= 11))
    if len(at):
        some = text.arr.take(at)
        words = pa.array(POOLED_IDS, type=some.type)
        found = pc.or_(
            pc.is_in(pc.utf8_lower(some), value_set=words), pc.match_substring_regex(some, _POOLED_X)
        )
        hit[at] = np.asarray(pc.fill_null(found, False), dtype=bool)
    return hit
