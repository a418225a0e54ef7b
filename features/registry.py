"""The feature registry: every feature declared once, with its group, meaning, unit and a phrase for people.

Column names depend on the configured windows, so a feature is declared as a *stem* plus how it is windowed;
`feature_registry(config)` expands the declarations into one `FeatureSpec` per column the feature table can
produce, and `describe_value(name, value)` turns a value into a sentence for an account manager's report
("12 support hours in the last 90 days").

Window kinds:
- "none": one column, the name is the stem (`tenure_days`).
- "windows": one column per configured window, `{stem}_{w}d`.
- "windows_lifetime": per window plus `{stem}_lifetime` (everything before the cutoff).
- "lifetime": only `{stem}_lifetime`.
- "trend": one column `{stem}_{trend_window_days}d`.
- "season_windows": one column per configured window shorter than a year, `{stem}_{w}d` (`features.seasonal`).

Time-trending features (`FeatureSpec.time_trending`): columns that grow with the calendar by construction, whatever
the customers do: ages and times since a fixed start (`tenure_days`, `relationship_manager_tenure_days`,
`relationship_manager_assigned_days`) and totals over a customer's whole history (`*_lifetime` sums and counts,
e.g. `orders_count_lifetime`). Between the training cutoffs and a later scoring date they shift even when nothing
changed, so the scoring drift check leaves them out (`pipelines.engines.drift`) and says so; their windowed
siblings (`orders_count_365d`) and the shares and means (`payment_late_share_lifetime`) are still measured.
A declaration says `trending="always"` (every column) or `trending="lifetime"` (only its `_lifetime` column).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal, get_args

from features.config import FeatureConfig
from features.seasonal import seasonal_windows

Group = Literal[
    "profit",
    "tenure",
    "referral",
    "service_effort",
    "payment",
    "price_sensitivity",
    "relationship",
    "profile",
    "season",
]
GROUPS: tuple[str, ...] = get_args(Group)  # the groups, in display order
WindowKind = Literal["none", "windows", "windows_lifetime", "lifetime", "trend", "season_windows"]


@dataclass(frozen=True)
class FeatureSpec:
    """One feature column: what it means and how to say its value to a person.

    `description` and `phrase` may contain `{period}` ("in the last 90 days", "before the cutoff");
    `phrase` is a `str.format` template with `value` (and `period`).
    """

    name: str
    group: str
    description: str
    unit: str
    phrase: str
    dtype: str = "float64"
    window_days: int | None = None
    phrase_no: str = ""  # flags only: the phrase when the flag is 0 (`phrase` is used when it is 1)
    time_trending: bool = False  # grows with the calendar by construction (module docstring); no drift check


Trending = Literal["never", "always", "lifetime"]


@dataclass(frozen=True)
class _Decl:
    stem: str
    group: Group
    description: str
    unit: str
    phrase: str
    windowing: WindowKind = "windows_lifetime"
    dtype: str = "float64"
    phrase_no: str = ""
    trending: Trending = "never"


_MONEY = "currency"
_DECLS: tuple[_Decl, ...] = (
    # profit
    _Decl("profit_revenue", "profit", "Revenue paid (after discounts) {period}", _MONEY,
          "{value:,.0f} revenue {period}", trending="lifetime"),
    _Decl("profit_margin", "profit", "Gross margin (revenue minus cost of goods) {period}", _MONEY,
          "{value:,.0f} gross margin {period}", trending="lifetime"),
    _Decl("profit_discount", "profit", "Discounts given {period}", _MONEY, "{value:,.0f} in discounts {period}",
          trending="lifetime"),
    _Decl("profit_returns", "profit", "Amount refunded on returns {period}", _MONEY,
          "{value:,.0f} refunded on returns {period}", trending="lifetime"),
    _Decl("profit_cost_to_serve", "profit",
          "Cost to serve: effort hours x hourly cost + tickets x cost per ticket {period}", _MONEY,
          "{value:,.0f} cost to serve {period}", trending="lifetime"),
    _Decl("profit_net", "profit", "Net profit: margin minus returns minus cost to serve (if known) {period}",
          _MONEY, "{value:,.0f} net profit {period}", trending="lifetime"),
    _Decl("profit_avg_order_value", "profit", "Average revenue per order {period}", _MONEY,
          "{value:,.0f} average order value {period}", "lifetime"),
    _Decl("profit_margin_trend", "profit",
          "Gross margin in the last {window} days minus gross margin in the {window} days before", _MONEY,
          "margin changed by {value:+,.0f} over the last {window} days versus the {window} days before", "trend"),
    _Decl("profit_revenue_share", "profit", "Share of the company's revenue {period} (concentration)", "share",
          "{value:.2%} of all revenue {period}", "windows"),
    # tenure and rhythm
    _Decl("tenure_days", "tenure", "Days since the first order or signup, whichever is earlier", "days",
          "a customer for {value:,.0f} days", "none", trending="always"),
    _Decl("recency_days", "tenure", "Days since the last order", "days", "last ordered {value:,.0f} days ago",
          "none"),
    _Decl("orders_count", "tenure", "Number of orders {period}", "orders", "{value:,.0f} orders {period}",
          trending="lifetime"),
    _Decl("orders_purchase_days", "tenure", "Distinct calendar days with an order {period}", "days",
          "bought on {value:,.0f} different days {period}", trending="lifetime"),
    _Decl("orders_gap_mean_days", "tenure", "Mean days between consecutive purchase days (needs 2+ days)",
          "days", "buys every {value:,.0f} days on average", "none"),
    _Decl("orders_gap_cv", "tenure",
          "Coefficient of variation of the gaps between purchase days (needs 3+ days); high = irregular",
          "ratio", "buying rhythm irregularity {value:.2f} (0 = like clockwork)", "none"),
    _Decl("orders_overdue_ratio", "tenure", "Days since the last order divided by the mean gap", "ratio",
          "{value:.1f}x their usual time between purchases since the last order", "none"),
    # referral
    _Decl("referral_made", "referral", "Customers referred {period}", "customers",
          "referred {value:,.0f} customers {period}", trending="lifetime"),
    _Decl("referral_active_referred", "referral",
          "Referred customers who ordered in the {active_days} before the cutoff", "customers",
          "{value:,.0f} referred customers still buying", "none"),
    _Decl("referral_referred_net_profit", "referral",
          "Net profit before the cutoff of the customers this customer referred", _MONEY,
          "{value:,.0f} net profit from the customers they referred", "lifetime", trending="lifetime"),
    _Decl("referral_was_referred", "referral", "1 if this customer was referred by another customer", "flag",
          "came through a referral", "none", phrase_no="did not come through a referral"),
    # service effort
    _Decl("service_tickets", "service_effort", "Support tickets opened {period}", "tickets",
          "{value:,.0f} support tickets {period}", trending="lifetime"),
    _Decl("service_effort_hours", "service_effort", "Service effort hours {period}", "hours",
          "{value:,.0f} support hours {period}", trending="lifetime"),
    _Decl("service_complaints", "service_effort", "Complaint tickets {period}", "tickets",
          "{value:,.0f} complaints {period}", trending="lifetime"),
    _Decl("service_escalations", "service_effort", "Escalated tickets {period}", "tickets",
          "{value:,.0f} escalations {period}", trending="lifetime"),
    _Decl("service_effort_hours_per_1k_revenue", "service_effort",
          "Effort hours per 1,000 of revenue {period} (NaN without revenue)", "hours per 1,000 currency",
          "{value:,.1f} support hours per 1,000 of revenue {period}", "windows"),
    _Decl("service_satisfaction_mean", "service_effort", "Mean ticket satisfaction (1-5) {period}", "score 1-5",
          "average satisfaction {value:.1f} of 5 {period}", "lifetime"),
    _Decl("service_days_since_complaint", "service_effort", "Days since the last complaint ticket", "days",
          "last complained {value:,.0f} days ago", "none"),
    # payment
    _Decl("payment_invoices_due", "payment", "Invoices due {period}", "invoices",
          "{value:,.0f} invoices due {period}", "lifetime", trending="lifetime"),
    _Decl("payment_late_share", "payment",
          "Share of invoices due {period} paid after the due date or still unpaid and past due at the cutoff",
          "share", "{value:.0%} of invoices paid late {period}", "lifetime"),
    _Decl("payment_days_late_mean", "payment",
          "Mean days late over invoices due {period} (on time = 0; unpaid counts until the cutoff)", "days",
          "invoices paid {value:,.0f} days late on average {period}", "lifetime"),
    _Decl("payment_overdue_amount", "payment", "Amount of invoices past due and unpaid at the cutoff", _MONEY,
          "{value:,.0f} overdue at the cutoff", "none"),
    _Decl("payment_disputes", "payment", "Disputed invoices issued {period}", "invoices",
          "{value:,.0f} disputed invoices {period}", "lifetime", trending="lifetime"),
    _Decl("payment_dispute_share", "payment", "Share of invoices issued {period} that were disputed", "share",
          "{value:.0%} of invoices disputed {period}", "lifetime"),
    # price sensitivity and abuse
    _Decl("price_promo_order_share", "price_sensitivity", "Share of orders bought on promotion {period}",
          "share", "{value:.0%} of orders on promotion {period}"),
    _Decl("price_discount_rate", "price_sensitivity", "Discount / (revenue + discount) {period}", "share",
          "{value:.0%} average discount {period}"),
    _Decl("price_return_rate_value", "price_sensitivity", "Returned amount / revenue {period}", "share",
          "returned {value:.0%} of what they bought {period}"),
    _Decl("price_return_rate_count", "price_sensitivity", "Returns / orders {period}", "returns per order",
          "{value:.2f} returns per order {period}"),
    # relationship owner
    _Decl("relationship_manager_departed_90d", "relationship",
          "1 if the customer's account manager left the company in the 90 days before the cutoff", "flag",
          "their account manager left in the last 90 days", "none",
          phrase_no="their account manager did not leave in the last 90 days"),
    _Decl("relationship_manager_changes", "relationship", "Changes of account manager {period}", "changes",
          "{value:,.0f} account-manager changes {period}", "lifetime", trending="lifetime"),
    _Decl("relationship_manager_tenure_days", "relationship",
          "Days the current account manager has worked at the company", "days",
          "their account manager has been here {value:,.0f} days", "none", trending="always"),
    _Decl("relationship_manager_assigned_days", "relationship",
          "Days since the current account manager was assigned to the customer", "days",
          "with their current account manager for {value:,.0f} days", "none", trending="always"),
    # profile (categorical)
    _Decl("profile_segment", "profile", "Customer segment", "category", "segment {value}", "none", "category"),
    _Decl("profile_size", "profile", "Customer size class", "category", "size {value}", "none", "category"),
    _Decl("profile_region", "profile", "Region", "category", "region {value}", "none", "category"),
    _Decl("profile_acquisition_channel", "profile", "How the customer was acquired", "category",
          "acquired via {value}", "none", "category"),
    # season (features.seasonal): where the horizon starts in the year and how the business moves through it;
    # company-level values are the same for every customer at a cutoff, so they move with the calendar.
    _Decl("season_start_sin", "season", "Position of the cutoff in the year: sine of the day of year", "ratio",
          "time of year (sine) {value:.2f}", "none", trending="always"),
    _Decl("season_start_cos", "season", "Position of the cutoff in the year: cosine of the day of year", "ratio",
          "time of year (cosine) {value:.2f}", "none", trending="always"),
    _Decl("season_company_index", "season",
          "Company revenue in the same {window} days one year earlier / company revenue in the last {window} days",
          "ratio", "the coming {window} days were {value:.2f}x the last {window} days, a year ago", "season_windows",
          trending="always"),
    _Decl("season_revenue_last_year", "season",
          "The customer's revenue in the same {window} days one year earlier (missing without a year of history)",
          _MONEY, "{value:,.0f} revenue in the same {window} days a year ago", "season_windows"),
)  # fmt: skip

_BY_STEM: dict[str, _Decl] = {d.stem: d for d in _DECLS}


def _period(window_days: int | None) -> str:
    return "before the cutoff" if window_days is None else f"in the last {window_days} days"


def _spec(
    decl: _Decl, name: str, window_days: int | None, active_within_days: int | None = None
) -> FeatureSpec:
    # a setting a description depends on, in words with its value (round 38, was: "within active_within_days")
    active = "set number of days" if active_within_days is None else f"{active_within_days:,} days"
    fill = {"period": _period(window_days), "window": window_days, "active_days": active}
    trending = decl.trending == "always" or (decl.trending == "lifetime" and name.endswith("_lifetime"))
    description = decl.description.format(**fill)
    # Only {period}/{window} are filled now; {value} stays for describe_value.
    phrase = decl.phrase.replace("{period}", fill["period"]).replace("{window}", str(window_days))
    return FeatureSpec(
        name, decl.group, description, decl.unit, phrase, decl.dtype, window_days, decl.phrase_no, trending
    )


def _expand(decl: _Decl, config: FeatureConfig) -> list[FeatureSpec]:
    if decl.windowing == "none":
        return [_spec(decl, decl.stem, None, config.active_within_days)]
    if decl.windowing == "trend":
        t = config.trend_window_days
        return [_spec(decl, f"{decl.stem}_{t}d", t)]
    if decl.windowing == "season_windows":
        return [_spec(decl, f"{decl.stem}_{w}d", w) for w in seasonal_windows(config.windows_days)]
    specs = []
    if decl.windowing in ("windows", "windows_lifetime"):
        specs += [_spec(decl, f"{decl.stem}_{w}d", w) for w in config.windows_days]
    if decl.windowing in ("windows_lifetime", "lifetime"):
        specs.append(_spec(decl, f"{decl.stem}_lifetime", None))
    return specs


def feature_registry(config: FeatureConfig) -> dict[str, FeatureSpec]:
    """Every feature column `build_feature_table` can produce under `config`, keyed by column name."""
    return {s.name: s for d in _DECLS for s in _expand(d, config)}


_SUFFIX = re.compile(r"^(?P<stem>.+?)(?:_(?P<w>\d+)d|_lifetime)$")


def feature_spec(name: str) -> FeatureSpec:
    """The spec of one column name, for any window configuration (the window is read from the name)."""
    if name in _BY_STEM and _BY_STEM[name].windowing == "none":
        return _spec(_BY_STEM[name], name, None)
    m = _SUFFIX.match(name)
    if m and m["stem"] in _BY_STEM and _BY_STEM[m["stem"]].windowing != "none":
        decl = _BY_STEM[m["stem"]]
        window = int(m["w"]) if m["w"] else None
        lifetime_ok = decl.windowing in ("windows_lifetime", "lifetime")
        if (window is None and lifetime_ok) or (window is not None and decl.windowing != "lifetime"):
            return _spec(decl, name, window)
    raise KeyError(f"{name!r} is not a registered feature")


def describe_value(name: str, value: object, currency: str = "") -> str:
    """A plain-language sentence fragment for one feature value ("12 support hours in the last 90 days").

    Missing values (None/NaN) say "unknown" rather than printing a number. An amount of money says `currency`
    after it ("1,015 EUR gross margin in the last 90 days"; round 38, was "1,015 gross margin").
    """
    spec = feature_spec(name)
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    if missing:
        return f"{spec.description}: unknown"
    if spec.unit == "flag":
        return spec.phrase if float(value) >= 0.5 else spec.phrase_no  # type: ignore[arg-type]
    phrase = spec.phrase
    if spec.unit == _MONEY and currency:
        phrase = re.sub(r"(\{value:[^}]*\})", lambda m: m[1] + " " + currency.replace("{", "{{").replace("}", "}}"),
                        phrase, count=1)  # fmt: skip
    return phrase.format(value=value)


# --------------------------------------------------------------------------------------------------------
# Reason words: how a reason sentence for an account manager speaks of a feature and of its group.
#
# Kept apart from the declarations above (whose `phrase` describes a value for data people): these are the
# words of `models.explain.top_reasons`. Rules: every amount carries the currency (`{currency}`), windows read
# "in the last 12 months" / "in the last 90 days", whole-history columns read "so far" (sums and counts) or "over
# the whole relationship" (shares and averages), never "cutoff", "lifetime", "feature" or a column name. A
# feature whose effect can surprise a reader (more returns raising expected profit: returns mark big buyers)
# has `high_signal` / `low_signal` phrases saying what the value signals instead.

SO_FAR = "so far"
WHOLE_RELATIONSHIP = "over the whole relationship"


@dataclass(frozen=True)
class ReasonWords:
    """The words for one feature stem in reason sentences.

    `phrase`: a noun phrase with `{value}` (and `{period}`, `{currency}`); `missing`: the phrase when the value is
    missing (the model used the missingness); `lifetime`: the period words of the whole-history column;
    `plural`: the phrase takes a plural verb ("14 support hours ... lower"). Flags: `phrase` is said for value 1,
    `reason_flag_no` for value 0. `high_signal` (value > 0; `high_plural`: it takes a plural verb) and
    `low_signal` (value 0): for a feature where more of it plainly reads as bad for profit and for staying,
    the words used when its effect points the other way (`models.explain.top_reasons` decides).
    """

    phrase: str
    missing: str
    lifetime: str = SO_FAR
    plural: bool = False
    high_signal: str = ""
    low_signal: str = ""
    high_plural: bool = False


_M = "{value:,.0f} {currency}"
_REASON_WORDS: dict[str, ReasonWords] = {
    # profit
    "profit_revenue": ReasonWords(f"{_M} revenue {{period}}", "no revenue recorded {period}"),
    "profit_margin": ReasonWords(f"{_M} gross margin {{period}}", "no gross margin recorded {period}"),
    "profit_discount": ReasonWords(
        f"{_M} in discounts {{period}}", "no discounts recorded {period}",
        high_signal=f"a lot of discounts ({_M} {{period}}), which comes with buying a lot,",
        low_signal="no discounts {period}, which comes with buying little,"),
    "profit_returns": ReasonWords(
        f"{_M} refunded on returns {{period}}", "no returns recorded {period}",
        high_signal=f"a lot of returns ({_M} refunded {{period}}), which comes with buying a lot,",
        low_signal="no returns {period}, which comes with buying little,"),
    "profit_cost_to_serve": ReasonWords(
        f"{_M} cost to serve {{period}}", "no cost to serve recorded {period}",
        high_signal=f"the cost to serve ({_M} {{period}}), which comes with an active account,",
        low_signal="no cost to serve {period}, which comes with little contact,"),
    "profit_net": ReasonWords(f"{_M} net profit {{period}}", "no net profit recorded {period}"),
    "profit_avg_order_value": ReasonWords(
        f"an average order of {_M} {{period}}", "no orders to average {period}", WHOLE_RELATIONSHIP),
    "profit_margin_trend": ReasonWords(
        "gross margin changed by {value:+,.0f} {currency} {period} versus the same time before",
        "no margin to compare {period}"),
    "profit_revenue_share": ReasonWords(
        "{value:.2%} of the company's revenue {period}", "no share of revenue recorded {period}"),
    # tenure and rhythm
    "tenure_days": ReasonWords("a customer for {value:,.0f} days", "no start date known"),
    "recency_days": ReasonWords("last ordered {value:,.0f} days ago", "no order date known"),
    "orders_count": ReasonWords("{value:,.0f} orders {period}", "no orders {period}", plural=True),
    "orders_purchase_days": ReasonWords(
        "bought on {value:,.0f} different days {period}", "no purchase days {period}"),
    "orders_gap_mean_days": ReasonWords(
        "buys every {value:,.0f} days on average", "only one purchase day so far, so no buying rhythm yet"),
    "orders_gap_cv": ReasonWords(
        "a buying rhythm irregularity of {value:.2f}, where 0 is like clockwork,",
        "too few purchase days so far to judge how regular the buying is"),
    "orders_overdue_ratio": ReasonWords(
        "{value:.1f} times their usual time between purchases since the last order",
        "only one purchase day so far, so no usual time between purchases yet"),
    # referral
    "referral_made": ReasonWords("referred {value:,.0f} customers {period}", "no referrals recorded {period}"),
    "referral_active_referred": ReasonWords(
        "{value:,.0f} referred customers still buying", "no referred customers recorded", plural=True),
    "referral_referred_net_profit": ReasonWords(
        f"{_M} net profit from the customers they referred {{period}}", "no referred customers recorded"),
    "referral_was_referred": ReasonWords("having come through a referral", "no record of how they came"),
    # service effort
    "service_tickets": ReasonWords(
        "{value:,.0f} support tickets {period}", "no support tickets recorded {period}", plural=True,
        high_signal="support tickets ({value:,.0f} {period}), which come with an active account,",
        low_signal="no support tickets {period}, which comes with little contact,", high_plural=True),
    "service_effort_hours": ReasonWords(
        "{value:,.0f} support hours {period}", "no support hours recorded {period}", plural=True,
        high_signal="support hours ({value:,.0f} {period}), which come with an active account,",
        low_signal="no support hours {period}, which comes with little contact,", high_plural=True),
    "service_complaints": ReasonWords(
        "{value:,.0f} complaints {period}", "no complaints recorded {period}", plural=True,
        high_signal="complaints ({value:,.0f} {period}), which come with an active account,",
        low_signal="no complaints {period}, which comes with little contact,", high_plural=True),
    "service_escalations": ReasonWords(
        "{value:,.0f} escalations {period}", "no escalations recorded {period}", plural=True,
        high_signal="escalations ({value:,.0f} {period}), which come with an active account,",
        low_signal="no escalations {period}, which comes with little contact,", high_plural=True),
    "service_effort_hours_per_1k_revenue": ReasonWords(
        "{value:,.1f} support hours per 1,000 {currency} of revenue {period}",
        "no revenue {period} to weigh support hours against"),
    "service_satisfaction_mean": ReasonWords(
        "an average satisfaction of {value:.1f} out of 5 {period}", "no satisfaction scores {period}",
        WHOLE_RELATIONSHIP),
    "service_days_since_complaint": ReasonWords("last complained {value:,.0f} days ago", "has never complained"),
    # payment
    "payment_invoices_due": ReasonWords("{value:,.0f} invoices due {period}", "no invoices due {period}",
                                        plural=True),
    "payment_late_share": ReasonWords(
        "{value:.0%} of invoices paid late {period}", "no invoices due {period}", WHOLE_RELATIONSHIP),
    "payment_days_late_mean": ReasonWords(
        "invoices paid {value:,.0f} days late on average {period}", "no invoices due {period}",
        WHOLE_RELATIONSHIP),
    "payment_overdue_amount": ReasonWords(f"{_M} overdue today", "no invoices recorded"),
    "payment_disputes": ReasonWords(
        "{value:,.0f} disputed invoices {period}", "no invoices recorded {period}", plural=True,
        high_signal="disputed invoices ({value:,.0f} {period}), which come with large accounts,",
        low_signal="no disputed invoices {period}, which comes with small accounts,", high_plural=True),
    "payment_dispute_share": ReasonWords(
        "{value:.0%} of invoices disputed {period}", "no invoices recorded {period}", WHOLE_RELATIONSHIP),
    # price sensitivity
    "price_promo_order_share": ReasonWords(
        "{value:.0%} of orders bought on promotion {period}", "no orders {period}", WHOLE_RELATIONSHIP),
    "price_discount_rate": ReasonWords(
        "an average discount of {value:.0%} {period}", "no orders {period}", WHOLE_RELATIONSHIP),
    "price_return_rate_value": ReasonWords(
        "returned {value:.0%} of what they bought {period}", "no purchases {period} to compare returns with",
        WHOLE_RELATIONSHIP),
    "price_return_rate_count": ReasonWords(
        "{value:.2f} returns per order {period}", "no orders {period}", WHOLE_RELATIONSHIP),
    # relationship owner
    "relationship_manager_departed_90d": ReasonWords(
        "their account manager left in the last 90 days", "no account manager on record"),
    "relationship_manager_changes": ReasonWords(
        "{value:,.0f} changes of account manager {period}", "no account manager on record", plural=True),
    "relationship_manager_tenure_days": ReasonWords(
        "an account manager who has been here {value:,.0f} days", "no account manager on record"),
    "relationship_manager_assigned_days": ReasonWords(
        "with their current account manager for {value:,.0f} days", "no account manager on record"),
    # profile
    "profile_segment": ReasonWords("being in the {value} segment", "no segment on record"),
    "profile_size": ReasonWords("being of size {value}", "no size on record"),
    "profile_region": ReasonWords("being in region {value}", "no region on record"),
    "profile_acquisition_channel": ReasonWords("having come through {value}", "no record of how they came"),
    # season: the time of year and how the company's business moved through it a year before
    "season_start_sin": ReasonWords("the time of year", "the time of year"),
    "season_start_cos": ReasonWords("the time of year", "the time of year"),
    "season_company_index": ReasonWords(
        "how busy the coming weeks were a year ago ({value:.2f} times the recent weeks)",
        "no year of history to compare the coming weeks with"),
    "season_revenue_last_year": ReasonWords(
        f"{_M} revenue in the same weeks a year ago", "no year of history to compare with"),
}  # fmt: skip

# Flags: the phrase for value 1 is `phrase`, for value 0 this one.
_REASON_FLAG_NO: dict[str, str] = {
    "referral_was_referred": "not having come through a referral",
    "relationship_manager_departed_90d": "an account manager who stayed",
}

# How a reason names the rest of a group when it speaks for the whole group ("together with the other ...").
GROUP_NOUNS: dict[str, str] = {
    "profit": "profit figures",
    "tenure": "buying-rhythm figures",
    "referral": "referral figures",
    "service_effort": "support figures",
    "payment": "payment figures",
    "price_sensitivity": "discount and return figures",
    "relationship": "account-manager figures",
    "profile": "profile details",
    "season": "time-of-year figures",
    "model": "buying-pattern estimates",
}

# Inputs the registry does not declare (BG/NBD + Gamma-Gamma outputs, `btyd_<output>[_<h>d]`).
_MODEL_WORDS: dict[str, ReasonWords] = {
    "btyd_expected_purchases": ReasonWords(
        "{value:,.1f} purchases expected from their buying pattern",
        "no buying pattern to go by yet",
        plural=True,
    ),
    "btyd_prob_alive": ReasonWords(
        "a {value:.0%} chance, from their buying pattern, that they still buy",
        "no buying pattern to go by yet",
    ),
    "btyd_expected_spend": ReasonWords(
        f"{_M} per order expected from their buying pattern", "no buying pattern to go by yet"
    ),
    "btyd_expected_revenue": ReasonWords(
        f"{_M} revenue expected from their buying pattern", "no buying pattern to go by yet"
    ),
}
_UNKNOWN_WORDS = ReasonWords("another estimate made by the model", "another estimate made by the model")


def people_period(window_days: int | None, lifetime: str = SO_FAR) -> str:
    """A window in people's words: "in the last 12 months", "in the last 90 days"; whole history: `lifetime`."""
    if window_days is None:
        return lifetime
    if window_days % 365 == 0:
        years = window_days // 365
        return "in the last 12 months" if years == 1 else f"in the last {years} years"
    return f"in the last {window_days} days"


def reason_words(name: str) -> tuple[ReasonWords, str]:
    """(the reason words of a column, its period in people's words) for any window configuration.

    Columns the registry does not know get the model words (`btyd_*`) or a neutral phrase without the value.
    """
    try:
        spec = feature_spec(name)
    except KeyError:
        stem = re.sub(r"_\d+d$", "", name)
        return _MODEL_WORDS.get(stem, _UNKNOWN_WORDS), ""
    m = _SUFFIX.match(name)
    stem = name if name in _REASON_WORDS else (m["stem"] if m else name)
    words = _REASON_WORDS[stem]
    return words, people_period(spec.window_days, words.lifetime)


def reason_flag_no(name: str) -> str:
    """The reason phrase of a flag column whose value is 0."""
    return _REASON_FLAG_NO[name]
