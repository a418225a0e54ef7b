"""The customer data contract: which tables exist, their columns, kinds and row rules.

This module is the single declaration of the contract. The pandera schemas (`features.schemas`), the validation
(`features.validation`), the table of docs/data-contract.md and the demo generator all follow it.

Validated in-memory representation (what every later step reads): `dict[str, pd.DataFrame]` keyed by table name;
id and text columns `str`; timestamps naive `datetime64[ns]` wall-clock time in the configured timezone; money and
other numbers `float64`; flags nullable `boolean`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from features.errors import StructuralError
from features.profile_names import profile_column

Kind = Literal["id", "text", "timestamp", "money", "number", "bool", "rating"]

#: The true/false spellings a bool column takes (any case; `features.parsing.parse_bools`), and as messages say it.
BOOLS = (("true", "false"), ("t", "f"), ("yes", "no"), ("y", "n"), ("1", "0"), ("1.0", "0.0"))
BOOL_SPELLINGS = ", ".join(map("/".join, BOOLS))
TICKET_KINDS: tuple[str, ...] = ("request", "complaint", "billing", "technical", "meeting", "other")
PERSONAL_COLUMNS: frozenset[str] = frozenset({"name", "email", "phone", "address"})


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool
    description: str
    unit: str = ""
    #: The column shapes what the models see (features, statuses, labels): a model trained on data with it
    #: cannot score data without it (`check_model_inputs`). Required columns are inputs unless declared not.
    model_input: bool = False
    #: An empty value MEANS "no" / 0 to the features: a flag exported TRUE-or-empty (every `bool` column, read by
    #: `features.builder.as_flag`), a discount not given (read as 0). An export leaving it empty for months is
    #: no stop (`pipelines.data_age.filled_by_day` leaves it out; was: promotions ended warned as a stopped export).
    empty_means_no: bool = False


@dataclass(frozen=True)
class Table:
    """One contract table: its columns, key, and which columns reference a customer."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: str | None
    customer_refs: tuple[str, ...] = ()
    required: bool = False
    personal: frozenset[str] = field(default_factory=frozenset)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no contract column {name!r}")


def _c(
    name: str,
    kind: Kind,
    required: bool,
    description: str,
    unit: str = "",
    model_input: bool | None = None,
    empty_means_no: bool | None = None,
) -> Column:
    flag = kind == "bool" if empty_means_no is None else empty_means_no
    return Column(
        name, kind, required, description, unit, required if model_input is None else model_input, flag
    )


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "orders",
            "One row per order.",
            (
                _c("order_id", "id", True, "unique order id"),
                _c("customer_id", "id", True, "the buying customer"),
                _c("ordered_at", "timestamp", True, "when the order was placed"),
                _c("revenue", "money", True, "what the customer paid, after discounts", "currency, >= 0"),
                _c("cost", "money", False, "cost of goods sold", "currency, >= 0", model_input=True),
                _c(
                    "discount",
                    "money",
                    False,
                    "discount given on the order",
                    "currency, >= 0",
                    model_input=True,
                    empty_means_no=True,  # `features.builder`: a discount's empty read as 0
                ),
                _c("promo", "bool", False, "bought on a promotion", model_input=True),
                _c("quantity", "number", False, "units ordered", "units, > 0"),
                _c("channel", "text", False, "sales channel"),
            ),
            key="order_id",
            customer_refs=("customer_id",),
            required=True,
        ),
        Table(
            "returns",
            "One row per return or credit note.",
            (
                _c("return_id", "id", True, "unique return id"),
                _c("customer_id", "id", True, "the returning customer"),
                _c("returned_at", "timestamp", True, "when the return was booked"),
                _c("amount", "money", True, "amount refunded", "currency, > 0"),
                _c("order_id", "id", False, "the order returned, if known"),
                _c("reason", "text", False, "return reason"),
            ),
            key="return_id",
            customer_refs=("customer_id",),
        ),
        Table(
            "tickets",
            "Every service interaction: support tickets, calls, meetings.",
            (
                _c("ticket_id", "id", True, "unique ticket id"),
                _c("customer_id", "id", True, "the customer served"),
                _c("opened_at", "timestamp", True, "when the interaction started"),
                _c("effort_minutes", "number", True, "staff time spent", "minutes, >= 0"),
                _c("closed_at", "timestamp", False, "when it was closed", ">= opened_at"),
                _c("kind", "text", False, "one of " + ", ".join(TICKET_KINDS), model_input=True),
                _c("escalated", "bool", False, "escalated to a senior person", model_input=True),
                _c("satisfaction", "rating", False, "customer satisfaction score", "1-5", model_input=True),
            ),
            key="ticket_id",
            customer_refs=("customer_id",),
        ),
        Table(
            "invoices",
            "One row per invoice.",
            (
                _c("invoice_id", "id", True, "unique invoice id"),
                _c("customer_id", "id", True, "the billed customer"),
                _c("issued_at", "timestamp", True, "issue date"),
                _c("due_at", "timestamp", True, "payment due date", ">= issued_at"),
                _c("amount", "money", True, "invoiced amount", "currency, >= 0"),
                _c(
                    "paid_at",
                    "timestamp",
                    False,
                    "payment date; empty = unpaid",
                    ">= issued_at",
                    model_input=True,
                ),
                _c("disputed", "bool", False, "the customer disputed the invoice", model_input=True),
            ),
            key="invoice_id",
            customer_refs=("customer_id",),
        ),
        Table(
            "referrals",
            "Who brought whom.",
            (
                _c("referrer_id", "id", True, "the customer who recommended"),
                _c("referred_id", "id", True, "the customer who came"),
                _c("referred_at", "timestamp", True, "when the referral happened"),
            ),
            key="referred_id",
            customer_refs=("referrer_id", "referred_id"),
        ),
        Table(
            "customers",
            "Customer master data. Personal columns are carried for reports only, never features.",
            (
                _c("customer_id", "id", True, "unique customer id"),
                _c("signup_at", "timestamp", False, "when the customer was won", model_input=True),
                _c("segment", "text", False, "business segment", model_input=True),
                _c("size", "text", False, "size class", model_input=True),
                _c("region", "text", False, "region", model_input=True),
                _c("acquisition_channel", "text", False, "how the customer was won", model_input=True),
                _c("acquisition_cost", "money", False, "what winning the customer cost", "currency, >= 0"),
                _c("account_manager_id", "id", False, "current account manager", model_input=True),
                _c(
                    "churned_at",
                    "timestamp",
                    False,
                    "explicit cancellation (subscription businesses)",
                    model_input=True,
                ),
                _c("name", "text", False, "personal: reports only"),
                _c("email", "text", False, "personal: reports only"),
                _c("phone", "text", False, "personal: reports only"),
                _c("address", "text", False, "personal: reports only"),
            ),
            key="customer_id",
            personal=PERSONAL_COLUMNS,
        ),
        Table(
            "account_managers",
            "The people who own customer relationships.",
            (
                _c("account_manager_id", "id", True, "unique manager id", model_input=False),
                _c("name", "text", False, "personal: reports only"),
                _c("started_at", "timestamp", False, "start date", model_input=True),
                _c(
                    "left_at",
                    "timestamp",
                    False,
                    "leaving date; empty = still there",
                    ">= started_at",
                    model_input=True,
                ),
            ),
            key="account_manager_id",
            personal=frozenset({"name"}),
        ),
        Table(
            "assignments",
            "Account-manager assignment history (optional): makes the manager point-in-time.",
            (
                _c("customer_id", "id", True, "the customer"),
                _c("account_manager_id", "id", True, "the manager assigned"),
                _c("assigned_at", "timestamp", True, "from when"),
            ),
            key=None,
            customer_refs=("customer_id",),
        ),
    )
}

#: Tables whose timestamp columns are events (used to find where the data starts and ends).
EVENT_TIME_COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("ordered_at",),
    "returns": ("returned_at",),
    "tickets": ("opened_at",),
    "invoices": ("issued_at",),
    "referrals": ("referred_at",),
}


#: The tables each feature group reads (`features.table` leaves out a group whose tables are absent; a refused
#: scoring run names the groups a missing table feeds).
GROUP_TABLES: dict[str, tuple[str, ...]] = {
    "profit": ("orders", "returns", "tickets"),
    "tenure": ("orders", "customers"),
    "referral": ("referrals", "orders"),
    "service_effort": ("tickets", "orders"),
    "payment": ("invoices",),
    "price_sensitivity": ("orders", "returns"),
    "relationship": ("assignments", "customers", "account_managers"),
    "profile": ("customers",),
    "season": ("orders",),
}


#: Amount columns whose typical size a model records (`amount_scale`): the median of the positive values. Money,
#: and the staff minutes per ticket (an export in hours is 60 times smaller: customers that look cheap to serve).
SCALE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("orders", "revenue"),
    ("returns", "amount"),
    ("invoices", "amount"),
    ("tickets", "effort_minutes"),
)
#: A typical amount this many times larger or smaller than in training is another unit, not another season:
#: cents for units is x100, thousands for units x1/1000; a business's typical order rarely moves x20.
SCALE_FACTOR = 20.0


def amount_scale(tables: Mapping[str, Any]) -> dict[str, float]:
    """`table.column` -> median of the positive values, for the `SCALE_COLUMNS` these tables have (a trained model
    records it of its training data; scoring data is held to it by `check_amount_scale`). Tables that carry it
    measured (`amount_scale`: the Spark driver's, measured as they streamed in, which then let go of the amounts
    no other step reads, issue 11) give that."""
    measured = getattr(tables, "amount_scale", None)
    if measured is not None:
        return dict(measured)
    out: dict[str, float] = {}
    for name, col in SCALE_COLUMNS:
        frame = tables.get(name)
        if frame is None or col not in frame.columns:
            continue
        values = frame[col]
        positive = values[values > 0]
        if len(positive):
            out[f"{name}.{col}"] = median(positive)
    return out


def median(values: Any) -> float:
    """pandas' `median` of these values (a Series without missing ones), float64's at a quarter of its CPU (issue
    14: ~1 CPU-s on 1M customers' orders and invoices): one partition of a copy at the middle, no NaN pass (numpy's
    `median`, pandas' under it, copies and partitions for NaNs first); an even count the mean of the middle two."""
    import numpy as np

    if values.dtype != np.float64:
        return float(values.median())
    x = values.to_numpy(dtype=np.float64, copy=True)
    half = len(x) // 2
    x.partition(half)
    if len(x) % 2:
        return float(x[half])
    return float((x[:half].max() + x[half]) / 2)


def check_amount_scale(recorded: Mapping[str, float] | None, tables: Mapping[str, Any]) -> None:
    """Refuse data whose amounts are in another unit than the model's training data: a median order revenue 100
    times the training one (cents for units) gives features the trees never saw, scored as the largest customers
    they know, without a word but a drift warning. `recorded` None: a model saved before models recorded it."""
    if not recorded:
        return
    now = amount_scale(tables)
    off = [
        (key, was, now[key])
        for key, was in recorded.items()
        if key in now and was > 0 and not (1 / SCALE_FACTOR < now[key] / was < SCALE_FACTOR)
    ]
    if off:
        parts = "; ".join(
            f"{k}: median {v:,.4g} in this data, {w:,.4g} in training (x{v / w:.3g})" for k, w, v in off
        )
        raise StructuralError(
            f"amounts look like another unit than the model's training data ({parts}): cents for units, "
            f"thousands, hours for minutes? Amounts more than {SCALE_FACTOR:g} times larger or smaller would be scored as features "
            "the model never saw. Convert the amounts to the training data's unit, or train a model on this data"
        )


#: A profile category (`customers.segment`, ...) whose values were never seen in training on more than this share
#: of the rows that have one was relabeled (`B2C` now `Consumer`), not grown: scored as missing, it would be gone
#: for most customers, as if the column had arrived empty (`check_model_inputs`' rule).
UNSEEN_SHARE = 0.5


def check_categories(categories: Mapping[str, list[str]] | None, tables: Mapping[str, Any]) -> None:
    """Refuse scoring data whose profile categories are mostly values the model never saw (`UNSEEN_SHARE`).

    `categories`: the model's training categories per feature (`profile_<column>` reads `customers.<column>`).
    A few unseen values (a new region) are scored as missing and reported by the run; most of them means the
    labels changed (`B2C` -> `Consumer`, `web` -> `Web`): every customer would lose the feature without a word."""
    import pandas as pd

    customers = tables.get("customers")
    if not categories or not isinstance(customers, pd.DataFrame):
        return
    problems = []
    for feature, known in categories.items():
        column = profile_column(feature)
        if column is None or column not in customers.columns:
            continue
        values = customers[column].dropna().astype("str")
        unseen = values[~values.isin(list(known))]
        if not len(unseen) or len(unseen) <= UNSEEN_SHARE * len(values):
            continue
        folded = {str(k).casefold().replace(" ", "_"): str(k) for k in known}
        shown = []
        for value, n in unseen.value_counts().head(4).items():
            twin = folded.get(str(value).casefold().replace(" ", "_"))
            shown.append(f"{value!r} ({n:,}{f', {twin!r} in training' if twin else ''})")
        problems.append(
            f"customers.{column}: {len(unseen):,} of {len(values):,} values never seen in training "
            f"({', '.join(shown)}; training had {', '.join(map(repr, list(known)[:8]))})"
        )
    if problems:
        raise StructuralError(
            "profile categories the model never saw on most rows: "
            + "; ".join(problems)
            + ". Scored as missing, the feature would be gone for these customers: the labels changed since "
            "training? Write them as the training data did, or train a model on this data"
        )


def look_ahead_error(training_cutoffs: list[str] | None, horizon_days: int, as_of: Any) -> str | None:
    """Why a model cannot score `as_of` without looking ahead, or None: its labels of the latest training cutoff
    are what its customers did in [cutoff, cutoff + horizon), so at any as-of before that window's end the model
    has learnt from what the customers did after the as-of (a backfill of past months with today's champion).
    A model without recorded cutoffs (registered before they were) is not judged."""
    import pandas as pd

    if not training_cutoffs:
        return None
    latest = pd.Timestamp(max(training_cutoffs))
    trained_to = latest + pd.Timedelta(days=horizon_days)
    if pd.Timestamp(as_of) >= trained_to:
        return None
    return (
        f"--as-of {pd.Timestamp(as_of).date()} is before the end of the model's training labels, "
        f"{trained_to.date()} (its latest training cutoff, {latest.date()}, + the {horizon_days}-day horizon): "
        "the model learnt from what customers did after the as-of, so its scores would look ahead; score at or "
        "after that date, or with a model trained on data before the as-of (`cvp train --as-of`)"
    )


def model_age_note(
    training_cutoffs: list[str] | None, horizon_days: int, as_of: Any, max_days: int | None
) -> str | None:
    """Why a model is too old for `as_of`, or None: its newest labels end at its latest training cutoff plus the
    horizon (the training data's as-of); more than `max_days` (`scoring.max_model_age_days`) later, the model has
    seen nothing of the customers' recent years (prices, products, a new customer mix) while the scores look as
    sure as ever. A model without recorded cutoffs (registered before they were) is not judged."""
    import pandas as pd

    if not training_cutoffs or max_days is None:
        return None
    latest = pd.Timestamp(max(training_cutoffs))
    trained_to = latest + pd.Timedelta(days=horizon_days)
    age = int((pd.Timestamp(as_of) - trained_to) / pd.Timedelta(days=1))
    if age <= max_days:
        return None
    return (
        f"the model is stale: its training data ends on {trained_to.date()} (latest training cutoff "
        f"{latest.date()} + the {horizon_days}-day horizon), {age} days before --as-of {pd.Timestamp(as_of).date()}, "
        f"more than scoring.max_model_age_days ({max_days}); retrain it on recent data (`cvp train`)"
    )
