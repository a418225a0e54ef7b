"""One currency per data set (the contract's money is in `data.currency`): a table carrying a currency column (not
a contract column, so otherwise ignored) must name that currency on every row. Pure function over raw tables."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from features.errors import StructuralError
from features.names import examples, name_key

#: Column names (by `name_key`: any case, spaces, `_`, `-`) that say which currency a row's amounts are in.
CURRENCY_COLUMNS = frozenset(
    {"currency", "currencycode", "currencyid", "ccy", "curr", "cur", "isocurrency", "currencyiso", "waehrung"}
)

#: Symbols read as the one currency they name (`$` is several: shown as written).
SYMBOLS = {"€": "EUR", "£": "GBP"}


def currency_text(values: pd.Series) -> pd.Series:
    """A currency column's values as judged: trimmed, upper case, `SYMBOLS` read as their code."""
    return values.astype("string").str.strip().str.upper().replace(SYMBOLS)


def check_currency_columns(raw: Mapping[str, pd.DataFrame], currency: str | None) -> None:
    """Structural error when a table's currency column holds another currency than `currency` on any row (several
    currencies in one table, or one other than configured). Read as one currency, a 100 USD order and a 100 JPY
    order would be the same amount: every sum, margin and prediction wrong without a word, since the column is
    ignored. Blank cells are not judged (a row without amounts). `currency` None: not checked."""
    if not currency:
        return
    want = currency.strip().upper()
    for table, frame in raw.items():
        for column in frame.columns:
            if name_key(str(column)) not in CURRENCY_COLUMNS:
                continue
            text = currency_text(frame[column])
            counts = text[text.notna() & (text != "")].value_counts()
            other = counts[counts.index != want]
            if other.empty:
                continue
            seen = ", ".join(f"{v} ({n:,} rows)" for v, n in counts.items())
            raise StructuralError(
                f"table {table!r}, column {column!r}: amounts in {seen}, but the data is read as one currency, "
                f"data.currency = {want}. Convert the amounts to {want} (or set data.currency when the whole data "
                "is in another one), never mixed: a sum over currencies is no amount.\nExample rows:\n"
                f"{examples(frame, (text == other.index[0]).to_numpy(), also=[column])}"
            )
