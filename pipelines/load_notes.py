"""The notes every loading command prints under its counts (`pipelines.loading.print_load_report`, both engines).

What the counts do not say about the data as loaded: columns outside the contract (`ignored_columns_notes`), files
not read counted past a few (`files_not_read`), customer ids differing only by letter case (`case_notes`), one
customer holding a share of the orders no real customer holds (`pooled_customer_notes`), and optional columns the
models read that are in the file but empty (`empty_column_notes`) or 0 throughout (`zero_column_notes`), ids sharing an e-mail address
(`shared_email_notes`), amounts perhaps in cents or rates (`amount_notes`), orders starting long after the other
tables (`late_orders_start_notes`), no customer with a second order (`one_order_notes`). Notes, not stops: each returns plain lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pipelines.io import LoadedData


def ignored_columns_notes(loaded: LoadedData) -> list[str]:
    """One line per table with columns outside the contract, each with its "did you mean" if it has one. The plain
    names beyond `MAX_FILE_NOTES` are counted, as `files_not_read` counts files (a 500-column export printed a
    3.7 KB line naming every one); those with a "did you mean" and the unnamed ones are all kept."""
    from features.names import shown_name
    from features.sale_status import judged_columns
    from features.zone_columns import zone_columns

    out = []
    for name, r in loaded.result.report.items():
        if not r.ignored_columns:
            continue
        # a status, cancellation or time-zone column is read to judge the rows (not a model input): said so
        judged = judged_columns(name, r.ignored_columns) + zone_columns(name, r.ignored_columns)
        if judged:
            out.append(
                f"{name}: {', '.join(shown_name(c) for c in judged)} read only to judge its rows (a status marking "
                "no sale, a time zone), not a model input"
            )
        unread = [c for c in r.ignored_columns if c not in judged]
        if not unread:
            continue
        shown, plain = [], 0
        for c in unread:
            if c in r.did_you_mean:
                shown.append(f"{c} (did you mean {r.did_you_mean[c]}?)")
            elif not c.strip():
                shown.append(f"{c!r} (a column without a name: a comma at the end of each line?)")
            elif (plain := plain + 1) <= MAX_FILE_NOTES:
                shown.append(shown_name(c))
        if plain > MAX_FILE_NOTES:
            shown.append(f"and {plain - MAX_FILE_NOTES:,} more ({len(unread):,} in all)")
        out.append(f"{name}: columns outside the contract, not used: {', '.join(shown)}")
    return out


def case_notes(tables: dict[str, pd.DataFrame]) -> list[str]:
    """A note when customer ids differ only by letter case or leading zeros (`features.id_spellings.case_only_twins`,
    `00042` and `42` since round 30): they stay different
    customers, as the contract says, but an export that changed the case would split each customer in two."""
    from features.id_spellings import case_only_twins

    orders = tables.get("orders")
    if orders is None:
        return []
    if "customer_id" in orders.columns:
        ordered = orders["customer_id"]
    elif (counts := order_counts(tables)) is not None:  # the Spark driver's: the distinct ids the orders name
        ordered = counts.index.to_series()
    else:
        return []
    customers = tables.get("customers")
    n, examples = case_only_twins(
        ordered, *([] if customers is None else [customers["customer_id"]]), zeros=True
    )
    if not n:
        return []
    shown = "; ".join(" / ".join(repr(i) for i in group) for group in examples)
    return [
        f"{n:,} customer id(s) differ from another only by letter case or leading zeros ({shown}"
        f"{'; ...' if n > len(examples) else ''}): ids are exact text, so they are different customers; if a "
        "system changed the case or a spreadsheet dropped the zeros, fix the export"
    ]


def category_case_notes(tables: dict[str, pd.DataFrame]) -> list[str]:
    """A note per profile category the models read (`customers.segment`, `size`, `region`, `acquisition_channel`)
    holding values that differ only by letter case (`B2C` and `b2c`: two exports put together, one of them
    lower-casing): read as written, the models take them for two categories and a customer of each for another
    kind (was: not a word). Both engines (the Spark driver keeps every profile column: `driver_columns`)."""
    from features.id_spellings import case_only_twins
    from features.profile_names import PROFILE_COLUMNS

    customers = tables.get("customers")
    out = []
    for column in [c for c in PROFILE_COLUMNS if customers is not None and c in customers.columns]:
        values = customers[column].dropna()
        n, examples = case_only_twins(values)
        if not n:
            continue
        counts = values.astype("str").value_counts()
        shown = "; ".join(" / ".join(f"{v!r} ({counts[v]:,} rows)" for v in group) for group in examples)
        out.append(
            f"customers.{column} holds values differing only by letter case ({shown}"
            f"{'; ...' if n > len(examples) else ''}): the models read them as different categories (two exports "
            "put together?); write each one way"
        )
    return out


#: One customer holding this share of the orders or more (and `POOLED_TIMES` the median customer's, among
#: `POOLED_CUSTOMERS` customers or more) is named by a note: a pooled account under an id of its own (`C-GUEST`)?
POOLED_SHARE, POOLED_TIMES, POOLED_CUSTOMERS = 0.05, 100, 100


def order_counts(tables: Mapping[str, pd.DataFrame]) -> pd.Series | None:
    """The accepted orders per customer id: one `value_counts` of the orders' customer ids (0.19 CPU-s on 3M orders
    of 250,000 customers), or those the Spark driver counted as the orders streamed (`SparkTables.order_counts`:
    it keeps no orders' customer id when a customers table exists); None without them."""
    counted = getattr(tables, "order_counts", None)
    if counted is not None:
        return counted
    orders = tables.get("orders")
    if orders is None or "customer_id" not in orders.columns:
        return None
    return orders["customer_id"].value_counts(sort=False)


def pooled_customer_notes(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """A note naming the customer holding a share of the orders no real customer holds (`POOLED_SHARE` of them,
    `POOLED_TIMES` the median customer's): a guest or cash-sale account under an id the placeholder rule cannot
    know (`WEB-0000`, `99999`). Not a stop: a wholesaler's key account can be as large; the user is told it is
    modelled as one customer. Read of the orders per customer (`order_counts`), the same on both engines."""
    counts = order_counts(tables)
    if counts is None or len(counts) < POOLED_CUSTOMERS:
        return []
    top, median, n = int(counts.max()), float(counts.median()), int(counts.sum())
    if top < POOLED_SHARE * n or top < POOLED_TIMES * median:
        return []
    return [
        f"customer {counts.idxmax()!r} holds {top:,} of the {n:,} orders ({top / n:.1%}; the "
        f"median customer {median:g}): a pooled account (guest checkout, cash sales, a test account)? It is "
        "modelled and ranked as one customer; if it is none, export those orders without a customer id"
    ]


#: `one_order_notes` judges data of this many orders or more over this many days or more.
ONE_ORDER_MIN_ORDERS, ONE_ORDER_MIN_DAYS = 500, 365


def one_order_notes(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """A note when no customer id has a second order among `ONE_ORDER_MIN_ORDERS` orders or more over a year or
    more: the orders' `customer_id` a per-order id (the order's or a checkout's own number, a guest record made for
    each sale, the order id copied) rather than the customer's. Every customer is then a one-time buyer, lapsed or
    churned after its one order, and nothing repeat-buying is learnt (round 35, was: exit 0 without a word). Not a
    stop: a business whose customers buy once (a wedding, a house) is real. Read of the orders per customer
    (`order_counts`) and the orders' times, the same on both engines."""
    counts = order_counts(tables)
    if counts is None or len(counts) < ONE_ORDER_MIN_ORDERS or int(counts.max()) > 1:
        return []
    t = tables["orders"]["ordered_at"]
    span = (t.max() - t.min()) / pd.Timedelta(days=1)
    if not span >= ONE_ORDER_MIN_DAYS:
        return []
    return [
        f"table 'orders', column 'customer_id': no customer has a second order: {int(counts.sum()):,} orders of as "
        f"many customer ids over {span:,.0f} days. A per-order id (the order's or a checkout's own number, a guest "
        "record made for each sale) rather than the customer's? Every customer is then a one-time buyer, lapsed or "
        "churned after its one order; if so, export the customers' own ids (an account number) and load again"
    ]


#: An address shared by more ids than this is a placeholder (`noreply@shop.com`), counted apart, not named
SHARED_MAIL_IDS = 5


def email_keys(customers: pd.DataFrame) -> pd.DataFrame:
    """(`customer_id`, `key`): a uint64 hash of each address trimmed and in lower case, the rows with an "@" only
    ("n/a", "-" are no address). The address never leaves this function (personal data): the Spark driver keeps
    these keys of the customers as they stream, no address."""
    mail = customers["email"].astype("string").str.strip().str.lower()
    real = mail.str.contains("@", regex=False).fillna(False).to_numpy(dtype=bool)
    key = pd.util.hash_pandas_object(mail[real], index=False).to_numpy(dtype=np.uint64)
    return pd.DataFrame(
        {"customer_id": customers["customer_id"][real].astype("string").to_numpy(), "key": key}
    )


def email_twins(keys: pd.DataFrame) -> tuple[int, list[list[str]], int, int]:
    """(customer ids sharing their address with 1 to `SHARED_MAIL_IDS` - 1 other ids, up to 3 such groups of ids,
    ids sharing a placeholder-like address, such addresses) from `email_keys`."""
    ids = keys.groupby("key", sort=False)["customer_id"]
    size = ids.transform("size").to_numpy()
    twin, placeholder = (size > 1) & (size <= SHARED_MAIL_IDS), size > SHARED_MAIL_IDS
    shown = keys.loc[twin, "key"].drop_duplicates().head(3)  # only the groups shown are built
    groups = (
        keys[twin & keys["key"].isin(shown).to_numpy()].groupby("key", sort=False)["customer_id"].agg(list)
    )
    n_placeholders = int(keys.loc[placeholder, "key"].nunique())
    return int(twin.sum()), [sorted(g)[:3] for g in groups.iloc[:3]], int(placeholder.sum()), n_placeholders


def shared_email_notes(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """A note when customer ids share an e-mail address (`email_twins`): one person registered twice, or an
    account reopened under a new id? Each id stays a customer of its own (the contract's key); the note names the
    ids, never the address. Addresses shared by more than `SHARED_MAIL_IDS` ids are counted apart (a placeholder
    floods no note). The Spark driver keeps the keys of the customers as they stream (`SparkTables.email_twins`),
    its tables keeping no personal column."""
    twins = getattr(tables, "email_twins", None)
    customers = tables.get("customers")
    if twins is None and customers is not None and "email" in customers.columns:
        twins = email_twins(email_keys(customers))
    if not twins:
        return []
    n, groups, n_placeholder, placeholders = twins
    out = []
    if n:
        shown = "; ".join(" / ".join(repr(i) for i in g) for g in groups)
        more = "; ..." if n > sum(map(len, groups)) else ""
        out.append(
            f"{n:,} customer ids share an e-mail address with another id ({shown}{more}): one person registered "
            "twice? Each id is modelled as a customer of its own; merge them in the export if they are one"
        )
    if n_placeholder:
        out.append(
            f"{n_placeholder:,} customer ids share {placeholders:,} placeholder-like e-mail address"
            f"{'es' if placeholders > 1 else ''} (each of more than {SHARED_MAIL_IDS} ids): not read as one person"
        )
    return out


def amount_notes(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """Invoice (refund) amounts perhaps in cents (thousands) beside orders in units, discounts perhaps rates
    (`features.conventions`): notes from the accepted totals and the median customer's own ratio, summed by the
    Spark driver as its tables stream (`SparkTables.amount_totals`: it keeps no `invoices.amount`); the orders'
    revenue changing unit part way through (`features.unit_steps`, on the orders both engines keep)."""
    from features.conventions import (
        amount_totals,
        amount_unit_notes,
        customer_amounts,
        customer_medians,
        discount_rate_notes,
    )
    from features.unit_costs import per_unit_notes
    from features.unit_steps import unit_step_notes

    totals = getattr(tables, "amount_totals", None)
    if totals is None:
        ids = pd.Index(tables["customers"]["customer_id"]) if "customers" in tables else None
        sums = {k: v for name, t in tables.items() for k, v in customer_amounts(name, t, ids).items()}
        totals = {**amount_totals(tables), **customer_medians(sums)}
    notes = discount_rate_notes(totals) + amount_unit_notes(totals) + unit_step_notes(tables)
    return notes + per_unit_notes(tables)


def row_cap_notes(summary: Mapping[str, Any]) -> list[str]:
    """`features.table_rows.row_cap_notes` on the rows in of a load's `rejected_rows.rows_summary` (both engines'):
    per mapping source when a mapping read the data (its tables are built rows, no export's), else per table."""
    from features.table_rows import row_cap_notes as capped

    sources = summary.get("source_rows") or {}
    if sources:
        return capped({n: int(r["in"]) for n, r in sources.items()}, "mapping source")
    return capped({n: int(r["in"]) for n, r in (summary.get("rows") or {}).items()})


def empty_column_notes(tables: dict[str, pd.DataFrame]) -> list[str]:
    """A note per optional column the models read (`orders.cost`, `tickets.satisfaction`, ...) that is in the file
    but holds no value on any accepted row: an export that wrote the header and left the values out is read as if
    the column were absent (for `orders.cost`, every margin from `features.margin_rate_when_cost_missing`), which
    only the feature manifest said (was: not a word on the console). One pass of `notna` per such column; the Spark
    driver's counts of the whole tables as they streamed (`SparkTables.input_counts`: it keeps few columns)."""
    from features.contract import TABLES

    measured = getattr(tables, "input_counts", None) or {}  # the Spark driver's, of the whole tables
    out = []
    for name, t in tables.items():
        if name not in TABLES:
            continue
        got = measured.get(name)  # (rows, rows with a value per model input)
        rows = got[0] if got else len(t)
        for col in TABLES[name].columns:
            if col.required or not col.model_input or not rows:
                continue
            if got and (col.name not in got[1] or got[1][col.name]):
                continue
            if not got and (col.name not in t.columns or t[col.name].notna().any()):
                continue
            guess = (
                " (every margin from features.margin_rate_when_cost_missing)" if col.name == "cost" else ""
            )
            out.append(
                f"{name}.{col.name} is in the file but holds no value on any of its {rows:,} accepted rows: read "
                f"as if absent{guess}; an export that left the values out?"
            )
    return out


#: Model inputs whose 0 on every row is more likely a value the export did not have than the data (`zero_column_notes`),
#: with what the features then read; `orders.discount` is 0 on every order of a company that gives none.
ZERO_NOTED = {
    "orders.cost": "every margin 100% (an export without costs: leave the column out or empty, and every margin is "
    "features.margin_rate_when_cost_missing)",
    "tickets.effort_minutes": "no service effort for any customer (a help desk that logs no time?), every cost to "
    "serve from the tickets' count alone",
    "invoices.amount": "every invoice of nothing: no amount overdue or disputed for any customer",
}
#: A column 0 on every value is judged from this many values on (these notes; scoring's
#: `pipelines.loading.check_positive_values`).
MIN_VALUES_JUDGED = 20


def positive_counts(name: str, frame: Any) -> dict[str, tuple[int, int]]:
    """For table `name`'s money and number columns that shape a model's features (`features.contract`'s
    `model_input`): column -> (values, values above 0) in `frame`; counts of row batches add up to the table's."""
    from features.contract import TABLES

    table = TABLES.get(name)
    if table is None or frame is None:
        return {}
    out = {}
    for c in table.columns:
        if c.model_input and c.kind in ("money", "number") and c.name in frame:
            values = pd.to_numeric(frame[c.name], errors="coerce")
            out[c.name] = (int(values.notna().sum()), int((values > 0).sum()))
    return out


def zero_column_notes(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """A note per `ZERO_NOTED` column that is 0 on every one of its values (`MIN_VALUES_JUDGED` or more): read as
    0, which training learns from without a word (was: said only when scoring with a model trained on values above
    0, `pipelines.loading.check_positive_values`). The Spark driver's counts of the whole tables as they streamed
    (`SparkTables.positive_values`, `positive_counts`' (values, values above 0))."""
    counted = getattr(tables, "positive_values", None)
    out = []
    for key, reads in ZERO_NOTED.items():
        name, column = key.split(".")
        if counted is not None:
            n, above = counted.get(key, (0, 0))
        else:
            n, above = positive_counts(name, tables.get(name)).get(column, (0, 0))
        if n >= MIN_VALUES_JUDGED and not above:
            out.append(f"{key} is 0 on every one of its {n:,} values: read as 0, {reads}")
    return out


#: Files not read listed one by one up to this many; more (a data directory shared with thousands of other files)
#: are counted in one note, so the notes that matter are not lost among them.
MAX_FILE_NOTES = 10


def files_not_read(notes: list[str]) -> list[str]:
    """The loading notes with the plain "file X is not a contract table" notes beyond `MAX_FILE_NOTES` counted in
    one line (those with a "did you mean" are all kept: a table given under a near-miss name)."""
    plain = [
        n
        for n in notes
        if n.startswith("file ") and "is not a contract table" in n and "did you mean" not in n
    ]
    if len(plain) <= MAX_FILE_NOTES:
        return notes
    more = set(plain[MAX_FILE_NOTES:])
    names = [n.removeprefix("file ").split(" is not a contract table")[0] for n in plain[MAX_FILE_NOTES:]]
    return [n for n in notes if n not in more] + [
        f"{len(names):,} more files are not contract tables and are not read ({', '.join(names[:3])}, ...)"
    ]


#: The side tables whose rows belong to orders or to customers who ordered: dated long before the first order, they
#: show an orders export that starts later than theirs (`late_orders_start_notes`).
BEFORE_ORDERS_TABLES = {"returns": "returned_at", "invoices": "issued_at", "tickets": "opened_at"}
#: Days a side table's rows may precede the first order unsaid (a pre-sales ticket, a quote's invoice).
BEFORE_ORDERS_SLACK_DAYS = 30
#: A side table is judged to start before the orders when its rows fall on this many distinct days before the first
#: order (less its slack) and its first row is `BEFORE_ORDERS_SPAN_DAYS` or more before it.
BEFORE_ORDERS_DAYS = 30
BEFORE_ORDERS_SPAN_DAYS = 90


def late_orders_start_notes(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """A note when the orders start long after the returns, invoices or tickets (`BEFORE_ORDERS_TABLES`): rows of
    one on `BEFORE_ORDERS_DAYS` distinct days or more more than `BEFORE_ORDERS_SLACK_DAYS` before the first order,
    its first one `BEFORE_ORDERS_SPAN_DAYS` or more before it: an orders export of the last months or years only (a
    shop's export limited to a date range, a new shop system's history) beside other tables of the whole history.
    Every customer's orders before it are then missing (lifetime orders, profit, tenure and "new" counted from it;
    the earlier returns, invoices and tickets without their orders), exit 0 without a word (round 35). A note, not a
    stop: a help desk or billing that started before the orders' system is real. Judged by distinct days, the same
    in both engines: the Spark driver keeps none of those tables' times and asks Spark for the days before the
    orders' start (`SparkTables.event_days`, one small job for every such table)."""
    orders = tables.get("orders")
    if orders is None or "ordered_at" not in orders.columns or not len(orders):
        return []
    first = orders["ordered_at"].min()
    if pd.isna(first):
        return []
    first_day = pd.Timestamp(first).normalize()
    before = first_day - pd.Timedelta(days=BEFORE_ORDERS_SLACK_DAYS)
    said = []
    for table, column in BEFORE_ORDERS_TABLES.items():
        days = _days_before(tables, table, column, before)
        if days is None or len(days) < BEFORE_ORDERS_DAYS:
            continue
        start = pd.Timestamp(days.min())
        if (first_day - start).days < BEFORE_ORDERS_SPAN_DAYS:
            continue
        said.append(f"{table}.{column} has rows on {len(days):,} days before it, from {start.date()}")
    if not said:
        return []
    start = min(pd.Timestamp(s.rsplit("from ", 1)[1]) for s in said)
    return [
        f"table 'orders': its first order is on {first_day.date()}, but {'; '.join(said)}: an orders export that "
        "starts later than the other tables (the last months only, a new shop system's history)? Every order before "
        f"{first_day.date()} is then missing: each customer's lifetime orders, profit and tenure are counted from "
        "there, a customer who ordered before it reads as new or without orders, and those earlier rows stand "
        f"without their orders. Export the orders from {start.date()} on, or the other tables from "
        f"{first_day.date()} on"
    ]


def _days_before(
    tables: Mapping[str, Any], table: str, column: str, before: pd.Timestamp
) -> np.ndarray | None:
    """The distinct days (`datetime64[D]`) before `before` holding `table.column`: from the table's own column, or,
    of a table whose times the Spark driver keeps not, found by Spark (`SparkTables.event_days`). None: no table."""
    if table not in tables:
        return None
    frame = tables[table]
    if column in getattr(frame, "columns", ()):
        t = frame[column]
        t = t[t < before].dropna()
        if isinstance(t.dtype, pd.DatetimeTZDtype):
            t = t.dt.tz_convert(None)
        return np.unique(t.to_numpy().astype("datetime64[D]"))
    found = getattr(tables, "event_days", None)
    return found(table, column, before) if callable(found) else None
