"""Rows an export marks as no sale: a status column (`status`, `Financial Status`, `order_status`: not a contract
column, so otherwise ignored) naming a cancelled, voided, failed, test or draft order, invoice or return, or a
cancellation's date or flag set (`cancelled_at`, `is_test`). The contract's orders are what customers paid, its
invoices what they were billed and its returns what was refunded: read as such, a cancelled order's revenue was
counted as paid, with the column listed as "not used". Each such row is a row reject naming its value and column
(most of a table so marked: `features.row_rules`' stop); an order marked refunded stands beside a returns table
(its refund is there), and is rejected without one. Pure functions over a raw table (`no_sale_reasons`), used by
`features.validation` for both engines."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from features.ids import PLACEHOLDER_IDS
from features.names import name_key

#: The tables whose rows are money that changed hands (or is owed): a status saying otherwise contradicts them.
SALE_TABLES = ("orders", "invoices", "returns")

#: Column names (by `name_key`: any case, spaces, `_`, `-`) holding a row's status: WooCommerce's and Magento's
#: `status`, Shopify's `Financial Status`, `Fulfillment Status`, Stripe's `Status`, an ERP's `Order Status`,
#: Salesforce's `Stage` (`StageName`), HubSpot's `Deal Stage`, Dynamics 365's `Status Reason`. A bare `state` is
#: not one (a shipping address's state: `CA`).
STATUS_COLUMNS = frozenset(
    {
        "status", "orderstatus", "financialstatus", "paymentstatus", "fulfillmentstatus", "invoicestatus",
        "returnstatus", "refundstatus", "transactionstatus", "chargestatus", "orderstate", "stage", "stagename",
        "dealstage", "opportunitystage", "statusreason",
    }
)  # fmt: skip

#: Statuses (by `name_key`) of a row that is no sale, per table: cancelled, voided, failed or declined payments,
#: test orders, drafts, deleted or abandoned ones, reversed charges, PayPal's `Denied`, Dynamics 365's `Out-Sold` (a
#: deal lost to a competitor). `pending`, `partially_refunded`, `unpaid`,
#: `open` are not among them (a sale not yet paid, or refunded in part), nor a bare `lost` (a shipment's status in an
#: orders' `status`: `LOST_STAGES` only in a `stage` column), nor a return's `refunded` (what a return is).
_NOT_A_SALE = (
    "cancelled", "canceled", "cancellation", "void", "voided", "failed", "declined", "test", "testorder",
    "deleted", "draft", "abandoned", "rejected", "reversed", "chargeback", "chargedback", "storno", "storniert",
    "denied", "outsold",
)  # fmt: skip
NO_SALE = {table: frozenset(_NOT_A_SALE) for table in SALE_TABLES}
#: A payment's statuses (by `name_key`) that are no sale in a payment or financial status column only
#: (`PAYMENT_COLUMNS`): Shopify's `expired` (an authorization that lapsed unpaid); a generic `status` may say
#: `expired` of a subscription or a quote whose sale was paid.
EXPIRED = frozenset({"expired"})
PAYMENT_COLUMNS = frozenset({"financialstatus", "paymentstatus", "transactionstatus", "chargestatus"})
#: An opportunity's stages (by `name_key`) that are no sale: judged in `STAGE_COLUMNS` only.
LOST_STAGES = frozenset({"closedlost", "lost"})
STAGE_COLUMNS = frozenset({"stage", "stagename", "dealstage", "opportunitystage"})
#: An order's or invoice's statuses (by `name_key`) saying it was refunded in full: kept when the data holds a
#: returns table (the refund is expected there), rejected otherwise (`REFUNDED_REASON`).
REFUNDED = frozenset({"refunded", "fullyrefunded"})
REFUNDED_REASON = "{one} marked '{value}' in {column} (its refund is not in the data)"
#: A row marked as no sale: its reason (`features.row_rules` stops when one rejects most of a table).
NO_SALE_REASON = "{one} marked '{value}' in {column} (no sale)"
_ONE = {"orders": "order", "invoices": "invoice", "returns": "return"}

#: Columns (by `name_key`) whose value on a row says it was cancelled, voided, deleted or a test: Shopify's
#: `Cancelled at`, a database's `deleted_at`, a flag `is_test`, `cancelled`.
CANCEL_COLUMNS = frozenset(
    {
        "cancelledat", "canceledat", "cancelleddate", "canceleddate", "cancellationdate", "cancelledon",
        "canceledon", "voidedat", "deletedat", "cancelled", "canceled", "iscancelled", "iscanceled", "voided",
        "isvoided", "deleted", "isdeleted", "istest", "testorder", "istestorder",
    }
)  # fmt: skip

#: Every column name (by `name_key`) the no-sale rule reads: `judged_columns`.
_JUDGED = STATUS_COLUMNS | CANCEL_COLUMNS

#: A cancellation column's values that say "not cancelled": empty, false, 0, a placeholder for no value.
_NOT_SET = frozenset({"", "false", "f", "no", "n", "0", "0.0", "-", *PLACEHOLDER_IDS})


def _marks(table: str, column: str, values: pd.Series, refunds: bool) -> pd.Series:
    """Each row's reason (None: none) when the status or cancellation column `column` (`judged_columns`; its values
    as read) of `table` marks it as no sale. `refunds`: the data holds a returns table (an order marked refunded
    then stands: its refund is there)."""
    key = name_key(str(column))
    text = values.astype("string").str.strip()
    one = _ONE[table]
    if key in CANCEL_COLUMNS:
        hit = (text.notna() & ~text.str.lower().isin(_NOT_SET)).to_numpy(dtype=bool)
        out = pd.Series(None, index=values.index, dtype=object)
        out[hit] = NO_SALE_REASON.format(one=one, value="set", column=column)
        return out
    lost = (LOST_STAGES if key in STAGE_COLUMNS else frozenset()) | (
        EXPIRED if key in PAYMENT_COLUMNS else frozenset()
    )
    refunded = REFUNDED if table != "returns" and not refunds else frozenset()

    def reason(value: object) -> str | None:
        if not isinstance(value, str):
            return None
        k = name_key(value)
        if k in NO_SALE[table] or k in lost:
            return NO_SALE_REASON.format(one=one, value=value.lower(), column=column)
        return REFUNDED_REASON.format(one=one, value=value.lower(), column=column) if k in refunded else None

    return text.map({v: reason(v) for v in text.dropna().unique()}).astype(object)  # per distinct value


def no_sale_reasons(table: str, raw: pd.DataFrame, refunds: bool = False) -> tuple[np.ndarray, pd.Series]:
    """Rows of `table` (raw, as read) a status or cancellation column marks as no sale, and each one's reason
    (`NO_SALE_REASON`, `REFUNDED_REASON`: row rejects, both engines through `features.validation`)."""
    reasons = pd.Series(None, index=raw.index, dtype=object)
    for column in judged_columns(table, raw.columns):
        reasons = reasons.where(reasons.notna(), _marks(table, column, raw[column], refunds))
    return reasons.notna().to_numpy(dtype=bool), reasons


def judged_columns(table: str, columns: Iterable[object]) -> list[object]:
    """The columns of `table` outside the contract that these rules read to judge its rows: a status or a
    cancellation column of a sale table (`no_sale_reasons` reads them; `pipelines.load_notes` says so instead of
    "not used")."""
    if table not in SALE_TABLES:
        return []
    return [c for c in columns if name_key(str(c)) in _JUDGED]


def refunded_rows(table: str, raw: pd.DataFrame) -> np.ndarray:
    """Orders (raw, as read) a status column marks refunded in full: kept beside a returns table, counted in a
    load note (`refunded_note`; the Spark engine sums this mask)."""
    hit = np.zeros(len(raw), dtype=bool)
    for column in raw.columns if table == "orders" else ():
        if name_key(str(column)) in STATUS_COLUMNS:
            text = raw[column].astype("string").str.strip()
            hit |= text.isin([v for v in text.dropna().unique() if name_key(v) in REFUNDED]).to_numpy(bool)
    return hit


def refunded_note(n: int) -> list[str]:
    """The load note counting the `n` orders marked refunded that stand beside a returns table."""
    if not n:
        return []
    if n == 1:
        return ["1 order marked refunded is kept: its refund is expected in the returns table"]
    return [f"{n:,} orders marked refunded are kept: their refunds are expected in the returns table"]


def check_unread_status(table: str, frame: pd.DataFrame, source: str, refunds: bool) -> None:
    """Structural error when a mapping's source column it does not read (`frame`: those columns, on the rows table
    `table` keeps) marks a row as no sale: the mapped table no longer holds the column, so its rows cannot be
    rejected one by one; a `where` reading the column keeps the rows that stand."""
    from features.errors import StructuralError
    from features.names import examples

    hit, reasons = no_sale_reasons(table, frame, refunds)
    if hit.any():
        raise StructuralError(
            f"{source}, read as table {table!r}: {int(hit.sum()):,} of {len(frame):,} rows are marked as no sale "
            f"({'; '.join(reasons[hit].drop_duplicates().head(3))}) by a column the mapping does not read: each would count as a sale. "
            f"Keep the rows that stand with the table's `where` (`where: Status == 'paid'`).\n"
            f"Example rows:\n{examples(frame, hit, also=frame.columns)}"
        )
