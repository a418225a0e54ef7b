"""Raw column values parsed into the validated representation (`features.contract`): ids as strings exactly as
written, numbers as float64, true/false from the contract's spellings. A value that does not parse becomes missing;
the caller (`features.validation`) rejects it with a reason. Float ids that cannot be exact stop here."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract import BOOLS, Column
from features.errors import StructuralError
from features.ids import clean_nfc_text
from features.names import examples
from features.text import arrow_text, blank

_TRUE, _FALSE = {t for t, _ in BOOLS}, {f for _, f in BOOLS}


def parse_ids(s: pd.Series) -> pd.Series:
    """Ids as strings, exactly as written. Integer columns convert exactly; whole floats lose the spurious '.0';
    floats with a fractional part become missing (the caller rejects them as "non-integer id"). Float columns
    holding values from `exact_float_limit` on (2**53, 2**24 for float32) are refused by `_check_float_ids`
    before this runs (they cannot be exact)."""
    if pd.api.types.is_float_dtype(s.dtype):
        whole = s.notna() & np.isfinite(s) & (s % 1 == 0)
        out = pd.Series(None, index=s.index, dtype="str")
        if whole.any():
            out[whole] = s[whole].astype("int64").astype("str")
        return out
    if pd.api.types.is_integer_dtype(s.dtype) and not isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
        return s.astype("str")
    if pd.api.types.is_integer_dtype(s.dtype):  # nullable Int64: missing stays missing
        return s.astype("str").where(s.notna(), None)
    return clean_nfc_text(s)


def exact_float_limit(dtype: np.dtype) -> int:
    """The first whole number a float type cannot follow exactly: 2**53 for float64, 2**24 for float32 (a Parquet
    `float` column: 16777217 is stored as 16777216), 2**11 for float16."""
    return 2 ** (np.finfo(dtype).nmant + 1)


def _check_float_ids(table: str, col: str, s: pd.Series) -> None:
    if not pd.api.types.is_float_dtype(s.dtype):
        return
    limit = exact_float_limit(s.dtype)
    big = s.notna() & (s.abs() >= limit)
    if big.any():
        power = int(np.log2(limit))
        raise StructuralError(
            f"table {table!r}, column {col!r}: id stored as floating point ({s.dtype}) with values >= "
            f"2**{power}, which a {s.dtype} cannot hold exactly (distinct ids may have collapsed into one); export "
            f"the ids as text or integers.\nExample rows:\n{examples(s.to_frame(), big)}"
        )


def parse_numbers(s: pd.Series) -> pd.Series:
    """Numbers as float64; text that is not a number becomes NaN (the caller rejects it). `inf`/`Infinity`
    parse to infinities here and are rejected by the caller as non-finite."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("float64")
    return pd.to_numeric(s.astype("str").str.strip().where(~blank(s), None), errors="coerce").astype(
        "float64"
    )


#: a plain decimal number, with or without an exponent (`1e-400`, `-2.5E+309`, `0.000...01`)
_DECIMAL = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
#: the reason of `unrepresentable` numbers
OUT_OF_RANGE = "number out of a 64-bit float's range in {} (1e-400 read as 0, 1e400 as infinite)"


def unrepresentable(raw: pd.Series, parsed: pd.Series) -> np.ndarray:
    """Numbers written as text that a 64-bit float cannot hold: those read as 0 with a digit other than 0 before
    their exponent (`1e-400`, underflowing: was accepted as 0 without a word) and those read as infinite that are
    written as a number, not `inf` (`1e400`, `1` and 400 zeros: was rejected `non-finite`). Only the values read as
    0 or infinite are looked at (a plain amount costs one comparison); a Parquet number column holds none."""
    values = parsed.to_numpy(dtype="float64")
    odd = (values == 0) | np.isinf(values)
    found = np.zeros(len(values), dtype=bool)
    if not odd.any() or pd.api.types.is_numeric_dtype(raw.dtype):
        return found
    import pyarrow as pa
    import pyarrow.compute as pc

    at = np.flatnonzero(odd)  # a written 0 (`0`, `0.00`) holds no other digit: one Arrow pass drops them
    text = pc.utf8_trim_whitespace(arrow_text(raw.astype("str")).take(pa.array(at)))
    digit = np.asarray(pc.fill_null(pc.match_substring_regex(text, "[1-9]"), False), dtype=bool)
    at, text = at[digit], text.filter(pa.array(digit))
    mantissa = pc.replace_substring_regex(text, "[eE].*$", "")
    number = pc.and_(pc.match_substring_regex(text, _DECIMAL), pc.match_substring_regex(mantissa, "[1-9]"))
    found[at] = np.asarray(pc.fill_null(number, False), dtype=bool)
    return found


def parse_bools(s: pd.Series) -> pd.Series:
    """Booleans from bool dtype or text (`features.contract.BOOLS`, any case). Unparseable values become NA (caller rejects)."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean")
    text = s.astype("str").str.strip().str.lower()
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[text.isin(_TRUE)] = True
    out[text.isin(_FALSE)] = False
    return out


def _parse_column(col: Column, s: pd.Series, timezone: str, date_format: str | None) -> pd.Series:
    if col.kind == "id":
        return parse_ids(s)
    if col.kind == "text":  # `Île` typed decomposed is the same region; a category read by the model also
        return clean_nfc_text(s, "NFKC" if col.model_input else "NFC")  # `Ｂ２Ｂ` is `B2B`
    if col.kind == "bool":
        return parse_bools(s)
    return parse_numbers(s)  # money, number, rating
