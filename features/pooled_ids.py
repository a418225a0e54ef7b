"""Ids that name a pooled account, no customer: a guest checkout (`GUEST`), cash sales at a till (`CASH`,
`WALK-IN`), a test or dummy account, or a word for "not known" (`UNKNOWN`, `ANONYMOUS`, `n.a.`, `tbd`, `missing`,
`XXXX`), any case. As an id, every such order was one customer holding every guest sale: modelled, ranked and
reported as the best customer, with exit 0. A row reject, `features.ids.MISSING_ID` with its own examples (one of
`features.ids.ID_RULES`, both engines), and so on 1% of an optional id column the stop for a placeholder written
for "none" (`features.placeholder_words.check_missing_placeholders`: `account_manager_id` `UNKNOWN` for every customer
without a manager). The pooled words are read in customer-id columns only (`CUSTOMER_IDS`): a manager's initials
`TBA`, an order id `TEST` are ids; the other id columns hold only the words for "not known" (`NOT_KNOWN`).
`0000000` is a zero, the sentinel rule's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.text import TextBytes, word_ids

#: The words, compared lower-cased with the whole id (stripped by parsing).
POOLED_IDS = (
    "guest", "unknown", "anonymous", "anon", "cash", "cash sale", "cash sales", "walk-in", "walk in", "walkin",
    "test", "dummy", "n.a.", "n.a", "tbd", "tba", "missing", "no customer",
)  # fmt: skip
#: The words of `POOLED_IDS` read in every id column: "not known", never a manager's initials nor a key.
NOT_KNOWN = ("unknown", "n.a.", "n.a", "missing")
#: The columns naming a customer (`customer_id` of every table, a referral's two), where every word is read.
CUSTOMER_IDS = ("customer_id", "referrer_id", "referred_id")
#: `XXX`, `xxxx`, ...: a form's filler.
_POOLED_X = r"^[xX]{3,}$"
POOLED = "GUEST, UNKNOWN, CASH, TEST, ...: a pooled account, no customer"


def pooled_ids(ids: pd.Series, text: TextBytes | None = None) -> np.ndarray:
    """Which parsed ids (text) are a word for a pooled account (`POOLED_IDS`, `_POOLED_X`, any case) in a customer
    id column (`CUSTOMER_IDS`, by the column's name), or a word of `NOT_KNOWN` in any other. Only ids of 3 to 11
    bytes starting with a letter such a word starts with are lower-cased and looked up (about 20 ms on 250,000
    ids all of them candidates, `C00042`; none for ids of digits)."""
    if ids.name in CUSTOMER_IDS:
        return word_ids(ids, text, b"gGuUaAcCwWtTdDnNmMxX", POOLED_IDS, (3, 11), _POOLED_X)
    return word_ids(ids, text, b"uUnNmM", NOT_KNOWN, (3, 7))
