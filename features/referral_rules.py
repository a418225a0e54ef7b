"""The referrals' rules across rows and tables: a referral of a customer who had referred another before it
(`REFERRED_AFTER_REFERRING`), and referrals against their customers' signups (`SIGNUP_RULES`).

Pure functions over validated tables, called by `features.validation.validate_tables` after the referrals'
references and by the Spark engine's checks (`pipelines.engines.spark_checks.check_bucket`: every referral of
one customer is in that customer's bucket; `pipelines.engines.spark_stops.referral_stops`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.crossrefs import stop_when_most

#: A referral of a customer who had referred another before it: a customer already, whom the referral cannot have
#: brought (their own lifetime counted in the referrer's referred profit). Two customers naming each other (`A`
#: refers `B` in 2021, `B` refers `A` in 2023) or a chain back to its start always hold one such referral.
REFERRED_AFTER_REFERRING = "referred_id had referred a customer before this referral (a customer already)"
#: Rejects a referral may carry and still show that its referrer referred someone then (the Spark engine judges
#: those per customer bucket, apart from the row rules).
REFERRAL_EVIDENCE = ("duplicate referred_id", "unknown referrer_id", "unknown referred_id")


def referred_after_referring(referrals: pd.DataFrame, ok: np.ndarray, evidence: np.ndarray) -> np.ndarray:
    """Among the referrals `ok` (accepted so far), those whose `referred_id` is the `referrer_id` of an `evidence`
    referral (one no row rule rejected) dated strictly before them. Every referral of one customer, as referred
    and as referrer, is in that customer's Spark bucket (`pipelines.engines.spark_checks.check_bucket`)."""
    at = pd.Series(referrals["referred_at"]).astype("datetime64[ns]")
    source = pd.DataFrame({"by": referrals["referrer_id"], "at": at})[np.asarray(evidence, dtype=bool)]
    if source.empty:
        return np.zeros(len(referrals), dtype=bool)
    first = source.groupby("by", sort=False)["at"].min()
    before = pd.Series(referrals["referred_id"]).map(first).astype("datetime64[ns]")
    return np.asarray(ok, dtype=bool) & (before < at).to_numpy(dtype=bool)


def reject_referred_after_referring(t: pd.DataFrame, rej: Any) -> None:
    """`REFERRED_AFTER_REFERRING` on the referrals table (`t`, its `_Rejector`), after its references."""
    reasons = pd.Series(rej.reason, dtype=object)
    evidence = rej.ok | reasons.isin(REFERRAL_EVIDENCE).to_numpy(dtype=bool)
    rej.add(referred_after_referring(t, rej.ok, evidence), REFERRED_AFTER_REFERRING)


#: A referral dated a day or more before its referrer's own `signup_at`: the referrer was not a customer yet, so the
#: referral cannot be one of a customer's (the referred customer's value counted in a non-customer's worth). One
#: dated a day or more after the referred customer's `signup_at`: a customer already, whom the referral cannot
#: have brought (their profit before the referral counted in the referrer's referred profit); a referral precedes
#: or makes the signup (the demo: never after it). A day of slack: a date without its time.
BEFORE_REFERRER_SIGNUP = (
    "referred_at before the referrer's signup_at (a day earlier or more: not a customer yet)"
)
AFTER_REFERRED_SIGNUP = (
    "referred_at after the referred customer's signup_at (a day later or more: a customer already)"
)
#: (the side whose `signup_at` judges the referral, the reason, what most such referrals mean) in the order of
#: `reject_referrals_against_signups` (the Spark engine's join of a referral's two copies keeps it)
SIGNUP_RULES = (
    ("referred_id", AFTER_REFERRED_SIGNUP, "dated after the referred customer's signup_at"),
    ("referrer_id", BEFORE_REFERRER_SIGNUP, "dated before their referrer's own signup_at"),
)


#: A referral dated a day or more after the referred customer's first accepted order, the customer without a
#: `signup_at` (no column, or empty): a customer already, as after a signup (round 33: was accepted, exit 0, the
#: demo's referrals dated 500 days later without its signups: every referred customer's earlier profit counted in
#: the referrer's referred profit). With a `signup_at` the signup judges (a guest's order may precede it).
AFTER_REFERRED_FIRST_ORDER = "referred_at after the referred customer's first order (a day later or more, no signup_at: a customer already)"
#: Every rule dating a referral against its customers, with what most such referrals mean (`check_referral_signups`)
REFERRAL_DATE_RULES = (
    *SIGNUP_RULES,
    ("referred_id", AFTER_REFERRED_FIRST_ORDER, "dated after the referred customer's first order"),
)


def referrals_after_first_order(
    referrals: pd.DataFrame, customers: pd.DataFrame, orders: pd.DataFrame
) -> np.ndarray:
    """The referrals whose `referred_at` is a day or more after the first of `orders` (the accepted ones) of their
    `referred_id`, a customer of `customers` (the accepted ones) without a `signup_at`. Every referral's referred
    copy and its customer's orders are in that customer's Spark bucket."""
    if "referred_at" not in referrals.columns or orders.empty:
        return np.zeros(len(referrals), dtype=bool)
    ids = customers["customer_id"]
    if "signup_at" in customers.columns:
        ids = ids[customers["signup_at"].isna().to_numpy()]
    ordered = orders[orders["customer_id"].isin(ids)]
    first = ordered.groupby("customer_id", sort=False)["ordered_at"].min().astype("datetime64[ns]")
    at = pd.Series(referrals["referred_at"]).astype("datetime64[ns]").reset_index(drop=True)
    theirs = pd.Series(
        first.reindex(pd.Series(referrals["referred_id"]).to_numpy()).to_numpy(dtype="datetime64[ns]")
    )
    return ((at - theirs) >= pd.Timedelta(days=1)).to_numpy(dtype=bool)


def referrals_against_signup(referrals: pd.DataFrame, customers: pd.DataFrame, side: str) -> np.ndarray:
    """The referrals whose `referred_at` is a day or more after the `signup_at` of their `referred_id` (`side`),
    or before the one of their `referrer_id`; `customers`: the accepted customers (ids unique). A customer
    without a `signup_at`, or unknown, judges nothing."""
    if "signup_at" not in customers.columns or "referred_at" not in referrals.columns:
        return np.zeros(len(referrals), dtype=bool)
    signup = pd.Series(
        customers["signup_at"].to_numpy(dtype="datetime64[ns]"), index=customers["customer_id"]
    )
    signup = signup[signup.notna() & signup.index.notna()]
    at = pd.Series(referrals["referred_at"]).astype("datetime64[ns]").reset_index(drop=True)
    # `reindex`, not `map`: `map` over an empty Series (no customer with a signup_at) gives floats
    theirs = pd.Series(signup.reindex(pd.Series(referrals[side]).to_numpy()).to_numpy(dtype="datetime64[ns]"))
    gap = at - theirs if side == "referred_id" else theirs - at
    return (gap >= pd.Timedelta(days=1)).to_numpy(dtype=bool)


def reject_referrals_against_signups(
    t: pd.DataFrame, rej: Any, customers: pd.DataFrame, orders: pd.DataFrame
) -> None:
    """`SIGNUP_RULES` on the referrals table (`t`, its `_Rejector`), after `reject_referred_after_referring`, then
    `AFTER_REFERRED_FIRST_ORDER` (`orders`: the accepted ones); then most referrals so rejected is structural
    (`check_referral_signups`). Whole tables only (pandas)."""
    # the referred customer's dates first, as the Spark buckets judge them
    for side, reason, _ in SIGNUP_RULES:
        rej.add(referrals_against_signup(t, customers, side), reason)
        if side == "referred_id":
            rej.add(referrals_after_first_order(t, customers, orders), AFTER_REFERRED_FIRST_ORDER)
    check_referral_signups(t, rej.reason)


def check_referral_signups(referrals: pd.DataFrame, reasons: np.ndarray) -> None:
    """Structural error when one of the `REFERRAL_DATE_RULES` rejects more than half of the referrals (and at least 3):
    the export's `referred_at` is another date (the referred customer's first order, a reward's payment) or its
    two id columns are swapped. Rejected one by one, the referrals table would be lost with exit 0."""
    stop_when_most(
        "referrals",
        "referred_at",
        referrals,
        reasons,
        REFERRAL_DATE_RULES,
        ("referrer_id", "referred_id", "referred_at"),
        "a referral is dated when the referred customer was referred, at or before their signup; is it another "
        "date (a first order, a reward paid) or are referrer_id and referred_id swapped?",
    )
