"""Row rules beyond types (signs, ranges, the order of a row's dates, allowed values), and the stop when one of them
rejects most of a table: then it is how the export writes those columns (two date columns swapped, a CRM's own
ticket kinds), not a few wrong rows. Used by the contract's validation (`features.validation`) for both engines
(`pipelines.engines.spark_stops` judges the whole table from its counts per reason)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.contract import TABLES, TICKET_KINDS
from features.errors import StructuralError
from features.names import examples

#: Row rules that, failing on most of a table's rows, are a convention of the export: per table, the reason and
#: the columns it reads.
CONVENTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "tickets": {"closed_at before opened_at": ("opened_at", "closed_at"), "unknown ticket kind": ("kind",)},
    "invoices": {
        "due_at before issued_at": ("issued_at", "due_at"),
        "paid before issued": ("issued_at", "paid_at"),
    },
    "customers": {"churned_at before signup_at": ("signup_at", "churned_at")},
    "account_managers": {"left_at before started_at": ("started_at", "left_at")},
    "referrals": {"self-referral": ("referrer_id", "referred_id")},
}
#: Amounts and quantities an export writes as nines for an unknown value (`9999999`, `99999999.99`): below the
#: sanity bounds (`data.max_values`, 1e9 per amount), so read as a customer's order or cost of ten million. Seven
#: nines or more before the point: a price of 99,999 or 999,999 is a price.
NINES_DIGITS = 7
#: ... and at or above this share of the column's configured bound (`data.max_values`): nines are "unknown" only
#: at the top of the column's own scale. A company in a weak currency raises its bounds (IDR: 1e13), and its Rp
#: 9.999.999 price is read (was: 3% of such orders stopped the run, 0.3% rejected as nines, no setting named).
NINES_OF_BOUND = 1e-3
NINES_COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("revenue", "cost", "discount", "quantity"),
    "returns": ("amount",),
    "invoices": ("amount",),
    "customers": ("acquisition_cost",),
}
NINES_REASON = "placeholder number in {column} (9999999: nines for an unknown value)"
NINES_REASONS = frozenset(
    NINES_REASON.format(column=c) for columns in NINES_COLUMNS.values() for c in columns
)
for _name, _columns in NINES_COLUMNS.items():  # a convention on 1% of the rows (`SHARES`), as placeholder ids
    CONVENTIONS.setdefault(_name, {}).update({NINES_REASON.format(column=c): (c,) for c in _columns})
#: More than this share of a table's rows (and `MIN_ROWS`) rejected by one of the `CONVENTIONS` stops the run.
SHARE = 0.5
MIN_ROWS = 3
#: ... but for ticket kinds: one kind outside the contract's on 1% of the tickets is a kind of the CRM's own (`chat`,
#: a channel added), not a typo: rejected, that share of every customer's service effort was lost with exit 0
#: (round 30: the demo with `chat` on 20% of its tickets lost 140 of 701). `fires` counts every unknown kind
#: (the Spark driver has its counts per reason), `check_row_conventions` then asks that one kind hold the share.
SHARES = {
    "unknown ticket kind": 0.01,
    **dict.fromkeys(NINES_REASONS, 0.01),
}
#: The least share that stops (the pandas engine builds the rows' reasons only from it).
FIRST_SHARE = min(SHARE, *SHARES.values())
#: The reason of a value above its sanity bound (`data.max_values`); most of a table above it is a convention too:
#: the bound or the column in another unit (`tickets.effort_minutes: 5` meant as hours), not a few wrong rows.
BOUND_REASON = "{column} above the configured maximum {bound:g} (data.max_values.{table}.{column})"
_BOUND = re.compile(r"(\w+) above the configured maximum (\S+) \(data\.max_values\.(\w+)\.\1\)")
#: A row a status column marks as no sale (`features.sale_status`: `order marked 'cancelled' in status (no sale)`).
_NO_SALE = re.compile(r"(order|invoice|return) marked .+ \((no sale|its refund is not in the data)\)")


def convention_reasons(name: str, reasons: Iterable[Any]) -> dict[str, tuple[str, ...]]:
    """The reasons whose rule, failing on most of table `name`, stops the run, with the columns each reads: its
    `CONVENTIONS`, and among `reasons` (those given so far) a bound of its own (`BOUND_REASON`)."""
    out = dict(CONVENTIONS.get(name, {}))
    for reason in reasons:
        found = _BOUND.fullmatch(str(reason))
        if found and found.group(3) == name:
            out[str(reason)] = (found.group(1),)
        elif (marked := _NO_SALE.fullmatch(str(reason))) and f"{marked.group(1)}s" == name:
            out[str(reason)] = (f"{marked.group(1)}_id", "customer_id")
    return out


def nines(values: pd.Series, bound: float | None = None) -> np.ndarray:
    """Whether each number is a placeholder of nines: `NINES_DIGITS` nines or more before the point, nothing
    after it but zeros or nines (`9999999`, `9999999.99`; missing: no), at or above `NINES_OF_BOUND` of the
    column's configured `bound` (`data.max_values`; none: the digits alone judge)."""
    v = values.to_numpy(dtype=np.float64, na_value=np.nan)
    least = max(10.0**NINES_DIGITS - 1, NINES_OF_BOUND * float(bound or 0.0))
    # up to 15 digits: a float holds each integer below 2**53 exactly (`1e300 + 1` is `1e300`)
    with np.errstate(invalid="ignore"):
        out = (v >= least) & (v < 1e15)
    if not out.any():  # most columns: one comparison (0.25 s per 1M values was the whole test on every value)
        return out
    big = v[out]
    whole = np.floor(big)
    digits = np.round(np.log10(whole + 1.0))
    fraction = np.round(big - whole, 6)
    tail = (fraction == 0) | np.isin(fraction, [0.9, 0.99, 0.999])
    out[out] = (digits >= NINES_DIGITS) & (10.0**digits == whole + 1.0) & tail
    return out


def earlier_than(later: pd.Series, earlier: pd.Series) -> pd.Series:
    """Where `later` (a row's end: `closed_at`, `paid_at`, `due_at`, `churned_at`, `left_at`) is before `earlier`
    (its start), a value written as a date without its time (at midnight) compared by its day: a ticket opened
    `2023-02-01 10:30` and closed `2023-02-01` (a help desk's closing date, a bank's value date for a payment) is
    closed that day, not before it. Round 38: was "closed_at before opened_at" / "paid before issued", the ticket
    with its effort, the invoice with its payment, rejected (27% of such a help desk's tickets, exit 0)."""
    dated = later == later.dt.normalize()
    return later < earlier.where(~dated, earlier.dt.normalize())


def row_rules(name: str, t: pd.DataFrame, rej: Any, max_values: Mapping[str, float] | None = None) -> None:
    """Row rules beyond types: signs, ranges, order of dates, allowed values (`rej`: the table's `_Rejector`;
    `max_values`: `data.max_values`, the bounds the nines are judged against)."""

    def has(c: str) -> bool:
        return c in t.columns

    for c in NINES_COLUMNS.get(name, ()):
        if has(c):
            rej.add(nines(t[c], (max_values or {}).get(f"{name}.{c}")), NINES_REASON.format(column=c))
    if name == "orders":
        rej.add(t["revenue"] < 0, "negative revenue")
        for c in ("cost", "discount"):
            if has(c):
                rej.add(t[c] < 0, f"negative {c}")
        if has("quantity"):
            rej.add(t["quantity"] <= 0, "non-positive quantity")
    elif name == "returns":
        rej.add(t["amount"] <= 0, "non-positive return amount")
    elif name == "tickets":
        rej.add(t["effort_minutes"] < 0, "negative effort_minutes")
        if has("closed_at"):
            rej.add(earlier_than(t["closed_at"], t["opened_at"]), "closed_at before opened_at")
        if has("kind"):
            rej.add(t["kind"].notna() & ~t["kind"].str.lower().isin(TICKET_KINDS), "unknown ticket kind")
        if has("satisfaction"):
            s = t["satisfaction"]
            rej.add(s.notna() & ~s.between(1, 5), "satisfaction outside 1-5")
            rej.add(s.notna() & (s % 1 != 0), "satisfaction not a whole number of the 1-5 scale (4.5)")
    elif name == "invoices":
        rej.add(t["amount"] < 0, "negative invoice amount")
        rej.add(earlier_than(t["due_at"], t["issued_at"]), "due_at before issued_at")
        if has("paid_at"):
            rej.add(earlier_than(t["paid_at"], t["issued_at"]), "paid before issued")
    elif name == "referrals":
        rej.add(t["referrer_id"] == t["referred_id"], "self-referral")
    elif name == "customers":
        if has("acquisition_cost"):
            rej.add(t["acquisition_cost"] < 0, "negative acquisition_cost")
        # cancelled before being won: one of the two dates is wrong
        if has("churned_at") and has("signup_at"):
            rej.add(earlier_than(t["churned_at"], t["signup_at"]), "churned_at before signup_at")
    elif name == "account_managers":
        if has("left_at") and has("started_at"):
            rej.add(earlier_than(t["left_at"], t["started_at"]), "left_at before started_at")


def _groups(name: str, reasons: Iterable[Any]) -> dict[str, tuple[str, ...]]:
    """The `convention_reasons` of table `name` among `reasons`, grouped as they are judged: the rows a status
    marks as no sale together, whatever the value (`cancelled` on 30% and `voided` on 25%: most of the table no
    sale), every other reason on its own. Each group's reasons in the order given."""
    out: dict[str, tuple[str, ...]] = {}
    for reason in convention_reasons(name, reasons):
        group = "no sale" if _NO_SALE.fullmatch(reason) else reason
        out[group] = (*out.get(group, ()), reason)
    return out


def fires(name: str, counts: Mapping[str, int], rows: int) -> list[tuple[str, ...]]:
    """The groups of reasons (`_groups`) that, rejecting together `counts[reason]` of a table's `rows`, make it the
    export's convention (the Spark engine passes its counts per reason)."""
    out = []
    for group in _groups(name, counts).values():
        n = sum(int(counts.get(reason, 0)) for reason in group)
        if n >= MIN_ROWS and n > SHARES.get(group[0], SHARE) * rows:
            out.append(group)
    return out


def check_row_conventions(name: str, t: pd.DataFrame, reasons: pd.Series) -> None:
    """Structural error when one of the `CONVENTIONS` rules rejects most of the table's rows (`reasons`: each
    row's reason so far, index of `t`): rejected, the table would be lost with exit 0 (every ticket closed before
    it was opened: the columns swapped; every kind `Anfrage`: a CRM's own words)."""
    given = reasons.dropna()
    for group in fires(name, given.value_counts(sort=False).to_dict(), len(t)):
        reason, columns = group[0], convention_reasons(name, group)[group[0]]
        hit = reasons.isin(group).to_numpy(dtype=bool)
        if reason == "unknown ticket kind":
            seen = t.loc[hit, "kind"].value_counts().head(5)
            if hit.sum() <= SHARE * len(t) and seen.iloc[0] < max(MIN_ROWS, SHARES[reason] * len(t)):
                continue  # under half, only one kind written on the share is the CRM's own: typos stay rejects
            why = (
                f"the kinds written ({', '.join(f'{k!r} ({v:,})' for k, v in seen.items())}) are not the contract's "
                f"({', '.join(TICKET_KINDS)}): export them as those, a kind of the CRM's own as `other` (a mapping "
                "cannot recode values), or leave `kind` out"
            )
        elif reason in NINES_REASONS:  # nines for an unknown amount
            why = (
                f"the export writes nines for an unknown {columns[0]}: export an unknown value as an empty cell "
                f"(or leave the row out), or the real {columns[0]}. Nines are read so at or above "
                f"{NINES_OF_BOUND:g} of data.max_values.{name}.{columns[0]}: if they are real amounts (a weak "
                "currency), raise that bound to the column's scale (--config)"
            )
        elif reason == "self-referral":
            why = "referrer_id and referred_id are the same id on most rows: one column exported twice?"
        elif _NO_SALE.fullmatch(reason):
            why = (
                f"the export's status column marks most of its {name} so: export the {name} that stand (filter on "
                "the column), or check which column holds the status"
            )
        elif reason not in CONVENTIONS.get(
            name, {}
        ):  # a bound (was: the rows rejected, the table lost, exit 0)
            bound = _BOUND.fullmatch(reason).group(2)  # type: ignore[union-attr]
            why = (
                f"the bound data.max_values.{name}.{columns[0]} = {bound} is below most of the column: the bound "
                "set in another unit than the column (hours for minutes, thousands for units), or the column "
                "exported in another? Set the bound in the column's unit (--config), or export it so"
            )
        else:
            why = (
                f"on most rows this is how the export writes {' and '.join(columns)}: swapped, or another meaning? "
                "Check which column holds which date"
            )
        shown = list(columns)
        if reason in NINES_REASONS:  # nines: the rows' keys too, as other stops
            keys = dict.fromkeys(c for c in (TABLES[name].key, "customer_id") if c and c in t.columns)
            shown = [*keys, *shown]
        said = ", ".join(f"`{r}`" for r in group)
        n = int(hit.sum())
        lost = "the table" if n > SHARE * len(t) else f"{n / len(t):.0%} of the table"
        raise StructuralError(
            f"table {name!r}: {n:,} of {len(t):,} rows would be rejected {said}, and {lost} "
            f"lost: {why}.\nExample rows:\n{examples(t[shown], hit)}"
        )
