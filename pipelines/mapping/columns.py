"""Checks of a mapping's `tables:` that need no data: what its columns are filled from, and that it builds the
orders (`pipelines.mapping.Mapping`'s validators call them; a `ValueError` is an invalid mapping, exit 2)."""

from __future__ import annotations

from typing import Any

#: Contract columns one source column may fill together: an invoice due (or paid) when issued, a ticket closed
#: when opened (a call logged once). Any other two columns of a table read from one source column the same way
#: (`revenue` and `cost` from `line_revenue`: every margin 0; `order_id` and `customer_id`; `signup_at` and
#: `churned_at`: every customer cancelled on signing up) is a copy-paste slip of the mapping.
SAME_SOURCE_ALLOWED = ({"issued_at", "due_at", "paid_at"}, {"opened_at", "closed_at"})


def one_source_per_column(columns: dict[str, str | dict[str, str]]) -> dict[str, str | dict[str, str]]:
    """Two contract columns of a table filled from one source column with the same aggregation (a plain column
    is `first`) are refused but for `SAME_SOURCE_ALLOWED`; another aggregation reads other values
    (`ordered_at: {min: D}` beside `closed_at: {max: D}`, `quantity: {count: InvoiceNo}` beside the key). Was:
    mapped as written, exit 0 (`cost: {sum: line_revenue}` beside `revenue`: every customer a `problem`)."""
    seen: dict[tuple[str, str], str] = {}
    for target, spec in columns.items():
        fn, col = next(iter(spec.items())) if isinstance(spec, dict) else ("first", spec)
        first = seen.setdefault((fn, col), target)
        if first != target and not any({first, target} <= pair for pair in SAME_SOURCE_ALLOWED):
            how = col if fn == "first" else f"{{{fn}: {col}}}"
            raise ValueError(
                f"columns {first!r} and {target!r} are both {how}: two contract columns filled from one source "
                "column the same way (a line copied without changing its source?). Map each from the source "
                "column that holds it, or leave the optional one out"
            )
    return columns


def builds_orders(tables: dict[str, Any]) -> dict[str, Any]:
    """A mapping without an `orders` table: refused naming what it builds (was: "required table 'orders' is missing
    (expected orders.csv or orders.parquet)", files a mapping never reads)."""
    if "orders" not in tables:
        raise ValueError(
            f"the mapping builds no orders table (it builds: {', '.join(tables) or 'none'}); orders are required and "
            "a mapping reads only its sources, not the directory's table files: map them (tables.orders)"
        )
    return tables
