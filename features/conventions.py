"""A column of validated numbers in another convention than the contract's, told from the whole column: money
mostly negative, ratings on another scale or in half points, cost above revenue, quantities 0 or revenue negative
on many orders, effort in seconds or hours. Each a structural error (exit 2); a few such values stay row rejects
(`features.row_rules`). Used by the contract's validation (`features.validation`) and, on their sums, the Spark
engine's stops (`pipelines.engines.spark_stops`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.errors import StructuralError
from features.names import examples
from features.placeholder_words import share_floor
from features.shares import MIN_ROWS

#: Money columns the contract wants positive (a refund is the amount refunded, > 0). Most of a column's values
#: negative is another sign convention (refunds written as -12.50), not a few wrong rows: rejecting them would
#: drop the table whole (every customer's returns gone, their profit overstated) with exit 0.
POSITIVE_MONEY: tuple[tuple[str, str], ...] = (
    ("orders", "revenue"),
    ("orders", "cost"),
    ("orders", "discount"),
    ("returns", "amount"),
    ("invoices", "amount"),
    ("customers", "acquisition_cost"),
)
#: Columns the contract wants 0 or more whose negative values are row rejects taking the whole row with them (an
#: order with its revenue, a ticket with its existence, a customer with every order of theirs). `orders.revenue`
#: and `orders.quantity` have their own words (`check_zero_quantities`); most of a column negative is the sign
#: convention above.
NON_NEGATIVE: tuple[tuple[str, str], ...] = (
    ("orders", "cost"),
    ("orders", "discount"),
    ("returns", "amount"),
    ("invoices", "amount"),
    ("tickets", "effort_minutes"),
    ("customers", "acquisition_cost"),
)
#: What to do about negative values of each `NON_NEGATIVE` column (`check_negative_values`): a placeholder's way
#: out, and what a negative value there may really be (a credit note is no invoice, a surcharge no discount).
NEGATIVE_ADVICE: dict[tuple[str, str], str] = {
    ("orders", "cost"): "Leave an unknown cost empty (the column is optional)",
    ("orders", "discount"): (
        "Leave an unknown discount empty (the column is optional); a surcharge or fee written as a negative "
        "discount belongs in the revenue (export the revenue with it, the discount 0)"
    ),
    ("returns", "amount"): "Export the amount refunded as a positive number, or leave a row without one out",
    ("invoices", "amount"): (
        "Credit notes are not invoices: route them out with a mapping (`where: amount >= 0` into invoices; a "
        "refund's credit note `where: amount < 0` into returns, `amount` derived as `-amount`), or leave them out "
        "of the export; an unknown amount: leave the row out"
    ),
    ("tickets", "effort_minutes"): "Export the effort, or leave a ticket without one out",
    ("customers", "acquisition_cost"): (
        "Leave an unknown acquisition cost empty (the column is optional); a rebate is no negative cost"
    ),
}
#: The rating scale of the contract; values outside it on `SCALE_SHARE` of a column or more are another scale.
RATINGS: dict[tuple[str, str], tuple[int, int]] = {("tickets", "satisfaction"): (1, 5)}
#: Ratings outside the scale on this share of a column (0-4: a fifth are 0; 1-10: half are above 5) are another
#: scale; fewer are typos (row rejects).
SCALE_SHARE = 0.05


#: True/false columns that are never true on every row of a real export, with what the features would read: every
#: invoice disputed is the column's default or an inverted flag written for each (`undisputed`), not a base of
#: customers who each dispute every bill. (`tickets.escalated` or `orders.promo` on every row can be the data: an
#: export of escalations only, a flash-sale shop.)
NEVER_ALL_TRUE = {
    ("invoices", "disputed"): "every invoiced customer a disputer of all their bills (the tier rule "
    "`dispute_share`: each a problem customer)",
}
#: Values needed before a column true on every one is judged (`check_flags_throughout`).
FLAG_VALUES_JUDGED = 20


def check_flags_throughout(table: str, t: pd.DataFrame) -> None:
    """Structural error when a `NEVER_ALL_TRUE` column is true on every row (`FLAG_VALUES_JUDGED` or more; an
    empty one is no, `Column.empty_means_no`): the export's default or an inverted flag (was: read, exit 0: the
    demo's invoices all `disputed`, every customer with an invoice a problem customer)."""
    for (name, column), reads in NEVER_ALL_TRUE.items():
        if name != table or column not in t.columns:
            continue
        # every row: a TRUE-or-empty export (`Column.empty_means_no`) leaves the rest empty
        values = t[column]
        if len(values) >= FLAG_VALUES_JUDGED and bool(values.eq(True).fillna(False).all()):
            raise StructuralError(
                f"table {table!r}, column {column!r}: true on every one of its {len(values):,} rows: the "
                f"export's default for the column, or a flag written the other way round? Read so, {reads}. "
                f"Export the flag true only where it holds, or leave the column out.\nExample rows:\n"
                f"{examples(t)}"
            )


def check_conventions(table: str, t: pd.DataFrame) -> None:
    """Structural error when a column of validated numbers follows another convention than the contract's: money
    mostly negative (refunds with a minus sign), ratings on another scale (1-10, 0-4: read as 1-5, a 4 of 10
    would be a 4 of 5 and the values above 5 rejected). A few such values stay row rejects."""
    for name, column in POSITIVE_MONEY:
        if name != table or column not in t.columns:
            continue
        values = t[column]
        negative = int((values < 0).sum())  # counted, not selected (issue 14: a copy of 9M amounts at 1M)
        if negative < MIN_ROWS:
            continue
        nonzero = int((values.notna() & (values != 0)).sum())
        if negative > 0.5 * nonzero:
            raise StructuralError(
                f"table {table!r}, column {column!r}: negative on {negative:,} of the {nonzero:,} "
                "rows with a non-zero value: written with a minus sign (a refund as -12.50)? The contract wants "
                "the amount as a positive number; rejected, every such row would be dropped. Export them "
                f"positive.\nExample rows:\n{examples(t, (values < 0).to_numpy(dtype=bool))}"
            )
    check_negative_values(table, t)
    check_flags_throughout(table, t)
    check_cost_above_revenue(table, t)
    check_zero_quantities(table, t)
    check_effort_unit(table, t)
    for (name, column), (low, high) in RATINGS.items():
        if name != table or column not in t.columns:
            continue
        values = t[column].dropna()
        off, halves = off_scale(values.to_numpy(dtype="float64"), low, high)
        outside, fractional = values[off], values[halves]
        if len(outside) >= max(MIN_ROWS, SCALE_SHARE * len(values)):
            seen = f"{values.min():g} to {values.max():g}"
            raise StructuralError(
                f"table {table!r}, column {column!r}: {len(outside):,} of {len(values):,} ratings outside "
                f"{low}-{high} (values from {seen}): another scale? Read as {low}-{high}, the others would be "
                f"wrong without a word (4 of 10 read as 4 of 5). Convert the ratings to {low}-{high}.\n"
                f"Example rows:\n{examples(t.loc[outside.index])}"
            )
        if len(fractional) >= max(MIN_ROWS, SCALE_SHARE * len(values)):  # `4.5`: half points, averages
            seen = ", ".join(f"{v:g}" for v in fractional.drop_duplicates().iloc[:3])
            raise StructuralError(
                f"table {table!r}, column {column!r}: {len(fractional):,} of {len(values):,} ratings not whole "
                f"numbers of the {low}-{high} scale ({seen}): a half-point scale, or averages of several ratings? "
                f"Rejected, their tickets would be lost with their effort. Export whole ratings {low}-{high}.\n"
                f"Example rows:\n{examples(t.loc[fractional.index])}"
            )


def check_negative_values(table: str, t: pd.DataFrame) -> None:
    """Structural error when a `NON_NEGATIVE` column is negative on `PLACEHOLDER_SHARE` of the rows or more (and
    `MIN_ROWS`), under the half the sign convention's stop takes: an export's `-1` (`-99`, `-999`) for an unknown
    cost, effort or amount, or part of the column signed another way. Each would be a `negative <column>` reject
    taking its whole row with it, with exit 0 (the demo with `orders.cost` -1 on 10% of its orders: 316 orders and
    their revenue gone; `tickets.effort_minutes` -1: 64 of 701 tickets). A few stay row rejects."""
    for name, column in NON_NEGATIVE:
        if name != table or column not in t.columns:
            continue
        negative = (t[column] < 0).to_numpy(dtype=bool)
        if int(negative.sum()) < share_floor(len(t)):
            continue
        values = t.loc[negative, column].value_counts()
        seen = ", ".join(f"{v:g} ({n:,})" for v, n in values.head(3).items())
        raise StructuralError(
            f"table {table!r}, column {column!r}: negative on {int(negative.sum()):,} of {len(t):,} rows "
            f"({seen}): an export's -1 (-99, ...) for an unknown value, or part of the column signed another way? "
            f"The contract wants no negative {column}; each such row would be rejected whole. "
            f"{NEGATIVE_ADVICE[(table, column)]}.\nExample rows:\n{examples(t, negative)}"
        )


def off_scale(values: np.ndarray, low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """(outside `low`-`high`, inside it but not a whole number: `4.5`) masks of ratings (missing: neither); the
    one test of `check_conventions` and the Spark engine's masks."""
    known = ~np.isnan(values)
    inside = (values >= low) & (values <= high)
    return known & ~inside, inside & (values % 1 != 0)


def no_margin(cost: np.ndarray, revenue: np.ndarray) -> np.ndarray:
    """Whether each order's cost is at or above its revenue (missing: no); the one test of
    `check_cost_above_revenue` and the Spark engine's `ABOVE` mask."""
    with np.errstate(invalid="ignore"):
        return cost >= revenue


def check_cost_above_revenue(table: str, t: pd.DataFrame) -> None:
    """Structural error when `orders.cost` is at or above `orders.revenue` on most orders having both (and
    `MIN_ROWS`): a company does not sell most orders at a loss, nor at no margin at all; the columns are swapped,
    the cost is another quantity (a list price, per line against per order, another currency or unit), or, equal,
    the revenue copied into a cost the export lacked (round 33: was exit 0, every margin 0, every customer's profit
    its discounts, returns and cost to serve taken away). Read as given, every customer's margin is negative or
    nothing: all `problem`, a model trained to predict losses, exit 0. A few orders at or below cost (clearance, a
    promotion) are the data: kept."""
    if table != "orders" or not {"cost", "revenue"} <= set(t.columns):
        return
    both = t["cost"].notna() & t["revenue"].notna() & (t["revenue"] > 0)
    cost, revenue = (t[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in ("cost", "revenue"))
    above = both & no_margin(cost, revenue)
    if int(above.sum()) < MIN_ROWS or above.sum() <= 0.5 * both.sum():
        return
    equal = int((above & (cost == revenue)).sum())
    said = (
        f"above the order's revenue on {int(above.sum()):,} of the {int(both.sum()):,} orders with both: every "
        "customer would bring a loss. Are cost and revenue swapped, or is cost another quantity (a list price, per "
        "line, another unit)?"
        if 2 * equal <= above.sum()
        else f"equal to the order's revenue on {equal:,} of the {int(both.sum()):,} orders with both (at or above "
        f"it on {int(above.sum()):,}): read so, those orders bring no margin. Is the revenue copied into a cost the "
        "export lacks? Leave the column out if there is no cost (`features.margin_rate_when_cost_missing` is read "
        "then). A seller passing most sales through at cost (a marketplace): export what the company earns on "
        "each order (its commission or fee) as the revenue and that earning's cost as the cost."
    )
    raise StructuralError(
        f"table 'orders', column 'cost': {said} The contract wants revenue = what the customer paid for the "
        f"order, cost = the cost of its goods.\nExample rows:\n"
        f"{t.loc[above, ['order_id', 'revenue', 'cost']].head(5).to_string(max_colwidth=40)}"
    )


def check_zero_quantities(table: str, t: pd.DataFrame) -> None:
    """Structural error when `orders.quantity` is 0 or negative, or `orders.revenue` negative, on `PLACEHOLDER_SHARE`
    of the orders or more (and `MIN_ROWS`): an export's 0 for an unknown quantity, or returns written as negative
    lines. Each is a `non-positive quantity` (`negative revenue`) reject, so the orders would be dropped with exit
    0 (a third of the demo's orders with quantity 0: 9,527 orders gone; 5% of them refunds at -revenue: 149). A few
    stay row rejects."""
    if table == "orders" and "revenue" in t.columns:  # refunds as negative orders: the same share
        refunds = (t["revenue"] < 0).to_numpy(dtype=bool)
        if int(refunds.sum()) >= share_floor(len(t)):
            raise StructuralError(
                f"table 'orders', column 'revenue': negative on {int(refunds.sum()):,} of {len(t):,} orders: "
                "refunds or credit notes as negative orders? Each would be rejected, and the customers' revenue "
                "read without them. Give refunds in the returns table: export the credit notes as it, or a mapping "
                "(`--mapping`) routing `where: revenue < 0` into returns with `amount` derived as `-revenue` (and "
                f"`revenue >= 0` into orders).\nExample rows:\n{examples(t, refunds)}"
            )
    if table != "orders" or "quantity" not in t.columns:
        return
    bad = t["quantity"].notna() & (t["quantity"] <= 0)
    if int(bad.sum()) >= share_floor(len(t)):
        raise StructuralError(
            f"table 'orders', column 'quantity': 0 or negative on {int(bad.sum()):,} of {len(t):,} orders: an "
            "export's 0 for an unknown quantity, or returns as negative lines? Each such order would be rejected "
            "with its revenue. Leave an unknown quantity empty (the column is optional) and give returns in the "
            f"returns table.\nExample rows:\n{t.loc[bad, ['order_id', 'revenue', 'quantity']].head(5).to_string()}"
        )


#: The typical staff time of one service interaction, in minutes: a median outside is another unit (seconds: a
#: 36-minute ticket read as 36 hours; hours: 0.6), since the contract's `tickets.effort_minutes` is minutes.
EFFORT_MEDIAN_MINUTES = (1.0, 480.0)


def check_effort_unit(table: str, t: pd.DataFrame) -> None:
    """Structural error when the median positive `tickets.effort_minutes` (of `MIN_ROWS` tickets or more) is
    outside `EFFORT_MEDIAN_MINUTES`: the effort is in seconds or hours, and read as minutes every customer's cost to
    serve would be 60 times too large (all `problem`) or too small, with exit 0."""
    if table != "tickets" or "effort_minutes" not in t.columns:
        return
    positive = t["effort_minutes"][t["effort_minutes"] > 0]
    low, high = EFFORT_MEDIAN_MINUTES
    if len(positive) < MIN_ROWS or low <= positive.median() <= high:
        return
    unit = "seconds" if positive.median() > high else "hours"
    raise StructuralError(
        f"table 'tickets', column 'effort_minutes': the median ticket takes {positive.median():g} minutes (over "
        f"{len(positive):,} tickets with effort), outside {low:g}-{high:g}: is the effort in {unit}? The contract "
        f"wants staff minutes per ticket; convert the column.\nExample rows:\n{examples(t)}"
    )


#: Money columns told against the whole orders' revenue (`amount_unit_notes`): -> the most their accepted total
#: may be of it. Invoices bill the orders: with tax, fees and what the orders table lacks, their total may pass the
#: orders' a little, never 20 times (cents for units: 100 times). Refunds never pass what was sold: twice it leaves
#: room for returns exported over a longer span than the orders (cents for units at a 5% return rate: 5 times).
UNIT_TOTALS: dict[tuple[str, str], float] = {("invoices", "amount"): 20.0, ("returns", "amount"): 2.0}
#: The total the rule reads the others against (`table.column`).
UNIT_BASE = "orders.revenue"


#: The same told customer by customer, where the whole totals cannot: invoices in thousands (each customer billed a
#: thousandth of what they ordered), refunds in cents at a small return rate (1% of the revenue refunded, in cents
#: 1.0 times it: under `UNIT_TOTALS`' twice). -> (least, most) the median customer's total may be of their own
#: orders' revenue, over the customers with orders and such amounts above 0 (`UNIT_CUSTOMERS` or more). Invoices
#: bill the orders: a twentieth to 20 times. Refunds never pass what was bought: most returning customers refunded
#: half again what they bought in all is another unit (the demo's median customer: 0.13; Online Retail's: 0.02).
UNIT_MEDIANS: dict[tuple[str, str], tuple[float, float]] = {
    ("invoices", "amount"): (0.05, 20.0),
    ("returns", "amount"): (0.0, 1.5),
}
UNIT_CUSTOMERS = 10


def customer_amounts(
    name: str, table: pd.DataFrame, customers: pd.Index | None = None
) -> dict[str, pd.Series]:
    """`table.column` -> its sum per customer id, of `UNIT_BASE` and the `UNIT_MEDIANS` columns table `name` has:
    sums of rows, which the Spark driver adds up batch by batch as the tables stream in (`StreamedCounts`).
    `customers`: the accepted customers' ids (distinct), each table's ids found among them in one Arrow hash pass
    and summed by `np.bincount`, indexed by that one index (`customer_medians` then compares by position; a string
    groupby per table and an intersection of string indexes cost 1.2 s a load at 100k customers); None (a batch):
    a groupby of its ids."""
    from features.ids import positions_in

    out = {}
    wanted = [
        c for t, c in (k.split(".") for k in (UNIT_BASE, *(f"{t}.{c}" for t, c in UNIT_MEDIANS))) if t == name
    ]
    if "customer_id" not in table.columns:
        return out
    at = None
    for column in (c for c in wanted if c in table.columns):
        if customers is None:
            out[f"{name}.{column}"] = (
                table[column].groupby(table["customer_id"], sort=False, observed=True).sum()
            )
            continue
        if at is None:
            at = positions_in(table["customer_id"], customers)
            known = at >= 0  # accepted tables hold known customers only; a stray id adds to no one
        values = table[column].to_numpy(dtype=np.float64, na_value=np.nan)[known]
        values[np.isnan(values)] = 0.0  # as a groupby's sum skips a missing value
        sums = np.bincount(at[known], weights=values, minlength=len(customers))
        out[f"{name}.{column}"] = pd.Series(sums, index=customers)
    return out


def customer_medians(sums: Mapping[str, pd.Series]) -> dict[str, tuple[float, ...]]:
    """`table.column@customer` -> (customers, the median of their total over their orders' revenue) for each
    `UNIT_MEDIANS` column of `sums` (`customer_amounts` of the whole tables), over the customers having both above 0:
    what `amount_unit_notes` reads beside `amount_totals`."""
    base = sums.get(UNIT_BASE)
    out: dict[str, tuple[float, ...]] = {}
    if base is None:
        return out
    for table, column in UNIT_MEDIANS:
        got = sums.get(f"{table}.{column}")
        if got is None:
            continue
        # one index (`customer_amounts` of `customers`): by position; a batch's sums by id (Spark)
        got, of = (got, base) if got.index is base.index else got.align(base, join="inner")
        g, b = got.to_numpy(dtype=np.float64), of.to_numpy(dtype=np.float64)
        both = (g > 0) & (b > 0)
        ratio = g[both] / b[both]
        out[f"{table}.{column}@customer"] = (int(both.sum()), float(np.median(ratio)) if len(ratio) else 0.0)
    return out


#: `orders.discount` given as a rate (0.15) rather than the amount: judged from this many positive discounts on,
#: when this share of them are at most 1 and half of those orders' revenues at least `RATE_REVENUE` (as an amount,
#: a discount of 5% or more of such an order is 1 or more; the demo's amounts: 27% at most 1).
RATE_ROWS, RATE_SHARE, RATE_REVENUE = 20, 0.99, 20.0
RATE_KEY = "orders.discount"
#: `orders.discount` holding the price before the discount (a list price, the gross amount) or swapped with the
#: revenue: a discount at or above what the customer paid (half off or more) on more than this share of the
#: `RATE_ROWS` or more positive discounts (the demo's: 0.06%). Read so, every customer's discount rate is 50% or more,
#: flagged `discount_abuse` (rate above 0.4).
GROSS_SHARE = 0.5


def amount_totals(tables: Mapping[str, pd.DataFrame]) -> dict[str, tuple[float, ...]]:
    """`table.column` -> (rows with a value, their sum) of `UNIT_BASE` and the `UNIT_TOTALS` columns these
    accepted tables have, and `RATE_KEY` -> (positive discounts, of them at most 1, of those on an order of
    `RATE_REVENUE` or more, positive discounts at or above their order's revenue). Counts and sums of rows: the Spark driver adds them up batch by batch as the tables
    stream in (`SparkTables.amount_totals`)."""
    out: dict[str, tuple[float, ...]] = {}
    for key in (UNIT_BASE, *(f"{t}.{c}" for t, c in UNIT_TOTALS)):
        name, column = key.split(".")
        frame = tables.get(name)
        if frame is not None and column in frame.columns:
            values = frame[column]
            out[key] = (int(values.notna().sum()), float(values.sum()))
    orders = tables.get("orders")
    if orders is not None and "discount" in orders.columns:
        given = (orders["discount"] > 0).to_numpy(dtype=bool)
        small = given & (orders["discount"] <= 1).to_numpy(dtype=bool)
        large = small & (orders["revenue"] >= RATE_REVENUE).to_numpy(dtype=bool)
        half_off = given & (orders["discount"] >= orders["revenue"]).to_numpy(dtype=bool)
        out[RATE_KEY] = (int(given.sum()), int(small.sum()), int(large.sum()), int(half_off.sum()))
    return out


def discount_rate_notes(totals: Mapping[str, tuple[float, ...]]) -> list[str]:
    """A note when `orders.discount` may be a rate (0.15 for 15%) rather than the amount given (`RATE_ROWS`,
    `RATE_SHARE`, `RATE_REVENUE`): read as amounts, every customer's discounts would be a few cents. A note, not a
    stop: small amounts are real too (a 1% loyalty discount, cash rounding in cents). `totals`: `amount_totals`
    (both engines). No example rows: the counts say it, and the Spark driver keeps no such rows."""
    given, small, large, half_off = totals.get(RATE_KEY, (0, 0, 0, 0))
    if given >= RATE_ROWS and half_off > GROSS_SHARE * given:  # since round 36 (was: read, exit 0, no word)
        return [
            f"table 'orders', column 'discount': {int(half_off):,} of the {int(given):,} positive discounts "
            f"({half_off / given:.0%}) are at or above their order's revenue (half off or more): the price before "
            "the discount (a list price, the gross amount) given as the discount, or discount and revenue "
            "swapped? Read so, every customer's discount rate is 50% or more (`price_discount_rate_*`, the "
            "`discount_abuse` flag above 0.4): give the discount as the amount taken off (gross - revenue) and "
            "load again; if most orders really are sold at half off or more (a trade or dealer discount off the list "
            "price, as a wholesaler or B2B supplier gives), they are read as they are"
        ]
    if given < RATE_ROWS or small < RATE_SHARE * given or large < 0.5 * small:
        return []
    return [
        f"table 'orders', column 'discount': {int(small):,} of the {int(given):,} positive discounts ({small / given:.0%}) "
        f"are at most 1 while most of those orders' revenues are {RATE_REVENUE:g} or more: a rate (0.15 for 15%), "
        "not an amount? If so, every discount is read as a few cents: give the amount in the orders' currency "
        "(revenue x rate / (1 - rate) when revenue is after it) and load again; small amounts (a 1% loyalty "
        "discount, cash rounding) are read as they are"
    ]


def amount_unit_notes(totals: Mapping[str, tuple[float, ...]]) -> list[str]:
    """A note per invoices' (returns') accepted total more than `UNIT_TOTALS` times the accepted orders' revenue
    (each of `MIN_ROWS` rows or more): amounts in cents beside orders in units? Else, from the median customer
    (`customer_medians`' keys in `totals`): outside `UNIT_MEDIANS`, in cents or thousands? A note, not a stop: a
    subscription business invoices many times its one-off orders, returns may span more years than the orders.
    `totals`: `amount_totals` and `customer_medians` (both engines); the figures say it, no example rows."""
    n_base, base = totals.get(UNIT_BASE, (0, 0.0))
    if n_base < MIN_ROWS or base <= 0:
        return []
    out = []
    for (table, column), most in UNIT_TOTALS.items():
        n, total = totals.get(f"{table}.{column}", (0, 0.0))
        what, read = ("invoiced", "payment") if table == "invoices" else ("refunded", "refund and profit")
        if n < MIN_ROWS or total <= most * base:
            out += _median_notes(table, column, totals, what, read)
            continue
        out.append(
            f"table {table!r}, column {column!r}: {total:,.2f} {what} in all, {total / base:,.3g} times the "
            f"orders' whole revenue ({base:,.2f}, orders.revenue): written in cents (or another unit) beside "
            f"orders in units? If so, every customer's {read} features are off by the unit's factor (100 for "
            "cents): give the amounts in the orders' unit and load again; if the orders are a part of what is "
            f"{what} (subscriptions, a longer span of {table}), they are read as they are"
        )
    return out


def _median_notes(
    table: str, column: str, totals: Mapping[str, tuple[float, ...]], what: str, read: str
) -> list[str]:
    """`amount_unit_notes`' note from the median customer (`customer_medians`, in `totals`), when the whole totals
    gave none: outside `UNIT_MEDIANS` over `UNIT_CUSTOMERS` customers or more."""
    customers, median = totals.get(f"{table}.{column}@customer", (0, 0.0))
    least, most = UNIT_MEDIANS[(table, column)]
    if customers < UNIT_CUSTOMERS or least <= median <= most:
        return []
    if table == "returns":  # a refund rate and a unit in one figure: no factor to tell
        unit = (
            "refunds in cents beside orders in units (a refund never passes what was bought; 100 for cents)"
        )
    else:  # invoices bill the orders: the median is the factor (100: cents for units; 0.001: thousands)
        unit = f"one of the two in another unit, {_unit_factor(median, most)}"
    return [
        f"table {table!r}, column {column!r}: the median customer is {what} {median:,.3g} times the revenue of "
        f"their own orders (orders.revenue; over {int(customers):,} customers with both): {unit}? If so, every "
        f"customer's {read} features are off by the unit's factor: give both in one unit and load again"
    ]


#: The units a factor of 10**k between two amounts names: (the first's, the second's).
_FACTOR_UNITS = {
    2: ("cents", "units"),
    3: ("units", "thousands"),
    -2: ("units", "cents"),
    -3: ("thousands", "units"),
}


def unit_names(ratio: float) -> tuple[str, str, str] | None:
    """The units a ratio of two amounts names: ("about 100 times", "cents", "units"), the first amount's unit then
    the second's, when it lies within twice a factor of `_FACTOR_UNITS` (`0.0012`: thousands), else None (21.6,
    41: no unit's factor; 0.03: a commission's 3%, no hundredth). The one rule of both amount-unit notes: invoices
    against orders (`amount_unit_notes`) and the orders after a step against before (`features.unit_steps`)."""
    exp = round(float(np.log10(ratio)))
    if exp in _FACTOR_UNITS and abs(float(np.log10(ratio)) - exp) <= float(np.log10(2.0)):
        about = f"about {10.0**exp:,.0f} times" if exp > 0 else f"about 1/{10.0**-exp:,.0f} of"
        return (about, *_FACTOR_UNITS[exp])
    return None


def _unit_factor(median: float, most: float) -> str:
    """How the median customer's invoices-to-orders ratio reads: "about 100 times" with the units it names
    (`unit_names`), else "many times" or "a small part of" with no unit."""
    if named := unit_names(median):
        about, mine, theirs = named
        return f"{about} the other (invoices in {mine} beside orders in {theirs})"
    return "many times the other" if median > most else "a small part of the other"
