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

from features.text import TextBytes, word_ids

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
    return word_ids(ids, text, b"gGuUaAcCwWtTdDnNmMxX", POOLED_IDS, (3, 11), _POOLED_X)
