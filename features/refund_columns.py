"""An orders or invoices table's refund column (Stripe's `Amount Refunded`, Shopify's `Refunded Amount`,
WooCommerce's `refund_amount`, `total_refunded`: not a contract column, so otherwise ignored) holding a refund on a
row while the data has no returns table: read as the contract's orders (what customers paid), each such order's
whole revenue counted, its refund nowhere (profit overstated), the column listed as "not used". A structural error
names the column, how many rows and the way out. Beside a returns table the refunds are expected there (as an order
marked refunded: `features.sale_status`). Pure function over raw tables (`check_refund_columns`), with its row mask
for the Spark engine (`refund_rows`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from features.errors import StructuralError
from features.names import examples, name_key
from features.number_forms import accounting_numbers, minus_numbers, unit_numbers
from features.numbers import locale_numbers
from features.parsing import parse_numbers
from features.shares import check_share

#: The tables of money a refund column contradicts without a returns table.
REFUND_TABLES = ("orders", "invoices")

#: Column names (by `name_key`: any case, spaces, `_`, `-`) holding the amount refunded on a row.
REFUND_COLUMNS = frozenset(
    {
        "amountrefunded", "refundedamount", "refundamount", "totalrefunded", "refundedtotal", "refundtotal",
        "convertedamountrefunded", "refunds", "refundedvalue", "refundvalue",
    }
)  # fmt: skip


def refund_columns(table: str, columns: Iterable[object]) -> list[object]:
    """The refund columns of `table` (`REFUND_COLUMNS`; judged by `check_refund_columns`, not a model input)."""
    return [c for c in columns if name_key(str(c)) in REFUND_COLUMNS] if table in REFUND_TABLES else []


def _refunded(values: pd.Series) -> np.ndarray:
    """Which values (as read) are a refund: a number other than 0, read by the product's number parsers
    (`features.parsing.parse_numbers`: `12.50`, `-12.50`), or written in a form they name (`features.numbers`: a
    locale's `12,50`, a unit's `$12.50`, an accounting `(12.50)`, ...) with a digit other than 0; other text is
    not judged."""
    number = parse_numbers(values)
    plain = (number.notna() & (number != 0)).to_numpy(dtype=bool)
    unparsed = number.isna().to_numpy(dtype=bool)
    if not unparsed.any() or pd.api.types.is_numeric_dtype(values.dtype):
        return plain
    forms = locale_numbers(values, unparsed) | unit_numbers(values, unparsed)
    forms |= accounting_numbers(values, unparsed) | minus_numbers(values, unparsed)
    digit = values.astype("string").str.contains("[1-9]", regex=True).fillna(False).to_numpy(dtype=bool)
    return plain | (forms & digit)


def refund_rows(table: str, raw: pd.DataFrame, refunds: bool) -> np.ndarray:
    """Rows of `table` (raw, as read) a refund column marks refunded when the data has no returns table
    (`refunds` False): `check_refund_columns`' mask, summed by the Spark engine."""
    out = np.zeros(len(raw), dtype=bool)
    for column in () if refunds else refund_columns(table, raw.columns):
        out |= _refunded(raw[column])
    return out


def refund_note(table: str, columns: Iterable[object], n: int, rows: int) -> list[str]:
    """The note of `n` of a table's `rows` marked refunded by its refund `columns` (below `check_refund_columns`'
    share: a few refunds, read at their orders' whole amount), both engines; none for none."""
    if not n:
        return []
    return [
        f"table {table!r}: {n:,} of {rows:,} rows hold a refund in {', '.join(map(repr, map(str, columns)))} and "
        "the data has no returns table: the column is not read, those rows count their whole amount as paid"
    ]


def check_refund_columns(raw: Mapping[str, pd.DataFrame], refunds: bool) -> list[str]:
    """Structural error when an orders or invoices table's refund columns hold a refund on 1% of its rows and 3
    (`features.shares.check_share`) and the data has no returns table (`refunds` False); fewer: a note
    (`refund_note`), returned."""
    notes: list[str] = []
    for table, frame in raw.items():
        columns = refund_columns(table, frame.columns)
        hit = refund_rows(table, frame, refunds)
        if not check_share(int(hit.sum()), len(frame)):
            notes += refund_note(table, columns, int(hit.sum()), len(frame))
            continue
        column = next(c for c in columns if _refunded(frame[c]).any())
        raise StructuralError(
            f"table {table!r}, column {column!r}: {int(hit.sum()):,} of {len(frame):,} rows hold a refund, and "
            "the data has no returns table: the column is outside the contract and not read, so each of these "
            "would count its whole amount as paid. Export the refunds as a returns table (return_id, "
            "customer_id, order_id, returned_at, amount), or net them out of the amount (a mapping's `derive`: "
            f"revenue = Amount - Amount Refunded), then leave the column out.\nExample rows:\n"
            f"{examples(frame, hit, also=list(columns))}"
        )
    return notes
