"""Rows an export marks as no sale: a status column (`status`, `Financial Status`, `order_status`: not a contract
column, so otherwise ignored) naming a cancelled, voided, refunded, failed or test order, invoice or return, or a
cancellation's date or flag set (`cancelled_at`, `is_test`). The contract's orders are what customers paid, its
invoices what they were billed and its returns what was refunded: read as such, a cancelled order's revenue was
counted as paid, a voided invoice as unpaid and overdue, with the column listed as "not used". Never guessed (the
rows are not dropped for the user): a structural error naming the column, how many rows and the way out. Pure
function over raw tables (`check_sale_status`), with its row mask for the Spark engine (`no_sale_rows`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.errors import StructuralError
from features.ids import PLACEHOLDER_IDS
from features.names import examples, name_key

#: The tables whose rows are money that changed hands (or is owed): a status saying otherwise contradicts them.
SALE_TABLES = ("orders", "invoices", "returns")

#: Column names (by `name_key`: any case, spaces, `_`, `-`) holding a row's status: WooCommerce's and Magento's
#: `status`, Shopify's `Financial Status`, `Fulfillment Status`, Stripe's `Status`, an ERP's `Order Status`,
#: Salesforce's `Stage` (`StageName`). A bare `state` is not one (a shipping address's state: `CA`).
STATUS_COLUMNS = frozenset(
    {
        "status", "orderstatus", "financialstatus", "paymentstatus", "fulfillmentstatus", "invoicestatus",
        "returnstatus", "refundstatus", "transactionstatus", "chargestatus", "orderstate", "stage", "stagename",
    }
)  # fmt: skip

#: Statuses (by `name_key`) of a row that is no sale: cancelled, voided, refunded in full, failed or declined
#: payments, test orders, drafts, deleted or abandoned ones, lost opportunities, reversed charges. `pending`,
#: `partially_refunded`, `unpaid`, `open` are not among them: a sale not yet paid, or refunded in part.
NO_SALE = frozenset(
    {
        "cancelled", "canceled", "cancellation", "void", "voided", "refunded", "fullyrefunded", "failed",
        "declined", "test", "testorder", "deleted", "draft", "abandoned", "rejected", "closedlost", "lost",
        "reversed", "chargeback", "chargedback", "storno", "storniert",
    }
)  # fmt: skip

#: Columns (by `name_key`) whose value on a row says it was cancelled, voided, deleted or a test: Shopify's
#: `Cancelled at`, a database's `deleted_at`, a flag `is_test`, `cancelled`.
CANCEL_COLUMNS = frozenset(
    {
        "cancelledat", "canceledat", "cancelleddate", "canceleddate", "cancellationdate", "cancelledon",
        "canceledon", "voidedat", "deletedat", "cancelled", "canceled", "iscancelled", "iscanceled", "voided",
        "isvoided", "deleted", "isdeleted", "istest", "testorder", "istestorder",
    }
)  # fmt: skip

#: A cancellation column's values that say "not cancelled": empty, false, 0, a placeholder for no value.
_NOT_SET = frozenset({"", "false", "f", "no", "n", "0", "0.0", "-", *PLACEHOLDER_IDS})


def _flagged(column: str, values: pd.Series) -> pd.Series | None:
    """Which rows of the column `column` (its values as read) mark their row as no sale; None when the column
    is neither a status nor a cancellation column."""
    key = name_key(str(column))
    if key not in STATUS_COLUMNS and key not in CANCEL_COLUMNS:
        return None
    text = values.astype("string").str.strip().str.lower()
    if key in STATUS_COLUMNS:
        return text.map(lambda v: name_key(v) in NO_SALE if isinstance(v, str) else False).astype(bool)
    return (text.notna() & ~text.isin(_NOT_SET)).astype(bool)


def no_sale_rows(table: str, raw: pd.DataFrame) -> np.ndarray:
    """Rows of `table` (raw, as read) a status or cancellation column marks as no sale (`check_sale_status`'s
    mask, summed by the Spark engine)."""
    out = np.zeros(len(raw), dtype=bool)
    if table in SALE_TABLES:
        for column in raw.columns:
            hit = _flagged(column, raw[column])
            if hit is not None:
                out |= hit.to_numpy(dtype=bool)
    return out


def check_sale_status(raw: Mapping[str, pd.DataFrame], source: str | None = None) -> None:
    """Structural error when a row of `orders`, `invoices` or `returns` is marked as no sale by a column the
    contract does not read (`_flagged`): cancelled, voided, refunded, failed or test rows counted as paid,
    billed or refunded without a word. Any row: the product cannot know which rows the export meant. `source`:
    the mapping's source the tables' rows come from (named in the message)."""
    for table, frame in raw.items():
        if table not in SALE_TABLES:
            continue
        for column in frame.columns:
            hit = _flagged(column, frame[column])
            if hit is None or not hit.any():
                continue
            n = int(hit.sum())
            if name_key(str(column)) in STATUS_COLUMNS:
                seen = frame[column][hit].astype("string").str.strip().value_counts().head(4)
                said = ", ".join(f"{v!r} ({k:,} rows)" for v, k in seen.items())
            else:
                said = "a cancellation's date or flag set"
            where = f"table {table!r}" if source is None else f"{source}, read as table {table!r}"
            raise StructuralError(
                f"{where}, column {column!r}: {n:,} of {len(frame):,} rows are marked as no sale "
                f"({said}: cancelled, voided, refunded, failed or test), but the column is outside the contract "
                f"and not read: each would count as {_WHAT[table]}. Export only the {table} that stand (filter on "
                "the column), refunds in the returns table, or read the export with a mapping whose `where` "
                f"keeps them.\nExample rows:\n{examples(frame, hit.to_numpy(), also=[column])}"
            )


_WHAT = {
    "orders": "an order the customer paid",
    "invoices": "an invoice the customer owes",
    "returns": "a refund paid to the customer",
}
