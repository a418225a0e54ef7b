"""The referrals' rules across rows and tables: a referral of a customer who had referred another before it
(`REFERRED_AFTER_REFERRING`), and referrals against their customers' signups (`SIGNUP_RULES`).

Pure functions over validated tables, called by `features.validation.validate_tables` after the referrals'
references and by the Spark engine's checks (`pipelines.engines.spark_checks.check_bucket`: every referral of
one customer is in that customer's bucket; `pipelines.engines.spark_cross_stops.referral_stops`).
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
#: dated a day or more after the referred customer became one: their `signup_at`, else (no column, that
#: customer's empty, or no customers table) their first accepted order: a customer already, whom the referral
#: cannot have brought (their profit before the referral counted in the referrer's referred profit); a referral
#: precedes or makes the signup (the demo: never after it). The signup, not the earlier of the two: a shop whose
#: guests buy, then sign up with a referral code, dates the referral at the signup it made (round 13's rule: the
#: signups judge); without one the first order is the only start (round 33: was accepted, exit 0, with no customers
#: table whatever the dates). A day of slack: a date without its time.
BEFORE_REFERRER_SIGNUP = (
    "referred_at before the referrer's signup_at (a day earlier or more: not a customer yet)"
)
AFTER_REFERRED_SIGNUP = (
    "referred_at after the referred customer's signup_at (a day later or more: a customer already)"
)
AFTER_REFERRED_FIRST_ORDER = (
    "referred_at after the referred customer's first order (a day later or more: a customer already)"
)
#: (the side whose date judges the referral, the reason, what most such referrals mean) in the order of
#: `reject_referrals_against_signups` (the Spark engine's join of a referral's two copies keeps it)
SIGNUP_RULES = (
    ("referred_id", AFTER_REFERRED_SIGNUP, "dated after the referred customer's signup_at"),
    ("referrer_id", BEFORE_REFERRER_SIGNUP, "dated before their referrer's own signup_at"),
)
#: Every rule dating a referral against its customers, with what most such referrals mean (`check_referral_signups`)
REFERRAL_DATE_RULES = (
    *SIGNUP_RULES,
    ("referred_id", AFTER_REFERRED_FIRST_ORDER, "dated after the referred customer's first order"),
)


def _by_id(values: pd.Series, ids: pd.Series) -> np.ndarray:
    """`values` (dates by customer id) at each of `ids` (NaT where none): `reindex`, not `map` (`map` over an
    empty Series gives floats)."""
    values = values[values.notna() & values.index.notna()]
    return values.reindex(pd.Series(ids).to_numpy()).to_numpy(dtype="datetime64[ns]")


def referrals_against_signup(
    referrals: pd.DataFrame, customers: pd.DataFrame | None, orders: pd.DataFrame | None, side: str
) -> dict[str, np.ndarray]:
    """The referrals dated a day or more before their `referrer_id`'s `signup_at` (`side`), or after their
    `referred_id` became a customer: their `signup_at`, else their first of `orders`; per reason (the
    date that judged). `customers`, `orders`: the accepted ones (customer ids unique; None: no such table). A
    customer without either date, or unknown, judges nothing. Every referral's copy in a Spark bucket meets its
    customer's row and orders there."""
    if "referred_at" not in referrals.columns:
        return {}
    signup = pd.Series(dtype="datetime64[ns]")
    if customers is not None and "signup_at" in customers.columns:
        signup = pd.Series(
            customers["signup_at"].to_numpy(dtype="datetime64[ns]"), index=customers["customer_id"]
        )
    at = pd.Series(referrals["referred_at"]).to_numpy(dtype="datetime64[ns]")
    signed = _by_id(signup, referrals[side])
    day = np.timedelta64(1, "D")
    if side == "referrer_id":
        return {BEFORE_REFERRER_SIGNUP: (signed - at) >= day}
    first = np.full(len(at), np.datetime64("NaT"), dtype="datetime64[ns]")
    if orders is not None and not orders.empty:
        firsts = orders.groupby("customer_id", sort=False)["ordered_at"].min().astype("datetime64[ns]")
        first = _by_id(firsts, referrals[side])
    by_signup = ~np.isnat(signed)
    late = (at - np.where(by_signup, signed, first)) >= day  # NaT: False
    return {AFTER_REFERRED_SIGNUP: late & by_signup, AFTER_REFERRED_FIRST_ORDER: late & ~by_signup}


def reject_referrals_against_signups(
    t: pd.DataFrame, rej: Any, customers: pd.DataFrame | None, orders: pd.DataFrame | None
) -> None:
    """`REFERRAL_DATE_RULES` on the referrals table (`t`, its `_Rejector`), after
    `reject_referred_after_referring` (`customers`, `orders`: the accepted ones, None without the table); then
    most referrals so rejected is structural (`check_referral_signups`). Whole tables only (pandas)."""
    # the referred customer's dates first, as the Spark buckets judge them
    for side in ("referred_id", "referrer_id"):
        for reason, hit in referrals_against_signup(t, customers, orders, side).items():
            rej.add(hit, reason)
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
        "a referral is dated when the referred customer was referred, at or before they became a customer (their "
        "signup_at, else their first order); is it another date (a reward paid, a later order) or are "
        "referrer_id and referred_id swapped?",
    )
