"""Whose customers a scoring run scored: a signature of the customer base, so a score history is compared only
with runs of the same company.

The customer ids alone do not tell: two companies numbering their customers `1, 2, 3...` or `C000001...` (every
demo company) share nearly all their ids, and another company's history in the same currency passed every check
(`pipelines.history.check_same_customers` counts ids): stable tiers, transitions and win-backs computed against
strangers' customers, exit 0. A customer's first order does not change from one run to the next: its day and
what the customer paid that day are kept for the `SAMPLE` customers of lowest keyed hash of their id
(`pipelines.engines.chunks.hash_sample`: the same customers in every run, so two runs' samples share most of
them), keyed by that hash (no id, no amount in the clear). Two runs of one company agree on nearly every shared
customer; two companies on almost none.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from features.validation import StructuralError

#: Customers in a run's signature.
SAMPLE = 64
#: Two runs sharing at least this many sampled customers are judged; below, the ids already differ
#: (`check_same_customers`).
MIN_SHARED = 10
#: Below this share of the shared customers with the same first order, two runs are not one company's.
MIN_AGREEING = 0.5


def base_signature(orders: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, str]:
    """{keyed hash of a customer id: digest of the day of their first order before `as_of` and the revenue of
    their orders that day} for the `SAMPLE` customers of lowest keyed hash among those who ordered before it.
    `orders`: validated (customer_id, ordered_at, revenue)."""
    from pipelines.engines.chunks import customer_hash, hash_sample

    before = orders.loc[orders["ordered_at"] < as_of, ["customer_id", "ordered_at", "revenue"]]
    ids = before["customer_id"].astype("str")
    sample = hash_sample(ids.unique(), SAMPLE)
    mine = before[ids.isin(sample).to_numpy()]
    day = mine["ordered_at"].dt.normalize()
    first = day.groupby(mine["customer_id"].astype("str")).transform("min")
    on_first = mine[(day == first).to_numpy()]
    revenue = on_first.groupby(on_first["customer_id"].astype("str"))["revenue"].sum()
    days = first.groupby(mine["customer_id"].astype("str")).first()
    keys = dict(zip(sample, customer_hash(sample), strict=True))
    out = {}
    for cid in sample:
        text = f"{cid}|{days[cid].date().isoformat()}|{float(revenue[cid]):.2f}"
        out[f"{keys[cid]:016x}"] = hashlib.sha256(text.encode()).hexdigest()[:12]
    return dict(sorted(out.items()))


def check_same_base(
    previous_as_of: str, previous: dict[str, str] | None, this: dict[str, str] | None, what: str
) -> None:
    """Refuse (exit 2) to compare a run with the history's run as of `previous_as_of` when their signatures
    (`base_signature`) say they scored different companies' customers; runs recorded before runs had one are not
    judged."""
    if not previous or not this:
        return
    shared = set(previous) & set(this)
    if len(shared) < MIN_SHARED:
        return
    agree = sum(previous[k] == this[k] for k in shared)
    if agree >= MIN_AGREEING * len(shared):
        return
    raise StructuralError(
        f"{what}: the history's run as of {previous_as_of} scored another customer base: of {len(shared)} "
        f"customers sampled in both runs, {agree} had the same first order (day and amount) there as in this run's "
        "data. Their ids are alike, their orders are not: another company's history (or one kept across a data "
        "migration that rewrote the past). Compared, stable tiers and transitions would be a stranger's. Give "
        "this company's own --history directory, or start a new one"
    )
