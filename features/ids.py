"""What an id (and a text value) may be: one Unicode form, no invisible characters, no spreadsheet formula, no
placeholder for a missing value. Pure functions over text columns, used by the contract's validation
(`features.validation`) for both engines."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.folded_ids import FOLDED, ascii_spelling, folded_ids
from features.mojibake import MOJIBAKE, mojibake_ids
from features.names import LOOKALIKE_LETTERS
from features.pooled_ids import POOLED, pooled_ids
from features.text import TextBytes, _byte_range, arrow_text, byte_set, clean_text, judged_once, word_ids


def nfc_text(ids: pd.Series, text: TextBytes | None = None, form: str = "NFC") -> pd.Series:
    """Ids and text in Unicode's composed form (NFC): `café` typed as `e` + a combining accent (macOS file names,
    some exports) is the same id as the composed `café`, not a second customer (nor a second region, an unseen
    category to the model). ASCII-only columns (the usual case)
    are returned as they are after one Arrow pass; other values are composed by Python's `unicodedata`, once per
    distinct value (Arrow 25's `utf8_normalize` gave the decomposed form whatever form was asked). `form="NFKC"`
    (model-read categories only, `features.parsing._parse_column`) also folds compatibility forms and other
    digits (`features.folded_ids.ascii_spelling`): fullwidth `Ｂ２Ｂ` and `B٢B` are `B2B`, a non-breaking space in
    `North\u00a0East` a space; ids are not folded (`features.folded_ids` rejects those that would be). `text`: the column's bytes, if known (`features.text.TextBytes`: an ASCII column is proven
    so by its largest byte)."""
    import unicodedata

    import pyarrow.compute as pc

    if text is not None and text.ascii:
        return ids
    arr = arrow_text(ids)
    wide = ~np.asarray(pc.fill_null(pc.string_is_ascii(arr), True), dtype=bool)
    if not wide.any():
        return ids
    before = ids[wide]
    fold = (
        ascii_spelling if form == "NFKC" else lambda v: unicodedata.normalize(form, v)
    )  # `B٢B` is `B2B` too
    after = before.map({v: fold(v) for v in before.unique()})
    changed = (after != before).to_numpy()
    if not changed.any():
        return ids
    out = ids.copy()
    out[before.index[changed]] = after[changed]
    return out


def clean_nfc_text(s: pd.Series, form: str = "NFC") -> pd.Series:
    """Raw text or ids stripped, blanks missing (`features.text.clean_text`), in NFC (or `form`: `nfc_text`): the
    column's bytes read once for both (`TextBytes`)."""
    text = TextBytes(s)
    cleaned = clean_text(s, text)
    return nfc_text(cleaned, text if cleaned is s else None, form)


#: Control and format characters (Unicode Cc, Cf): a byte-order mark left inside a file, a zero-width space, a NUL,
#: a line break inside a quoted field. Invisible when printed, they make `C0042\u200b` another customer than
#: `C0042`; an id holding one is rejected, never read as a new id nor guessed clean.
_INVISIBLE = r"[\p{Cc}\p{Cf}]"
INVISIBLE = "invisible character in {} (BOM, zero-width space, line break, ...)"


def spreadsheet_ids(ids: pd.Series, text: TextBytes | None = None) -> np.ndarray:
    """Which parsed ids (text) a spreadsheet wrote instead of the value: `="00042"` (Excel's way to keep leading
    zeros) or a leading `'` (its text prefix, and what this product puts before a cell starting with `=`, `+`,
    `-` or `@` in the CSV files it writes). `="00042"` and `00042` would be two customers."""
    import pyarrow.compute as pc

    if not (ids.dtype == object or isinstance(ids.dtype, pd.StringDtype)):
        return np.zeros(len(ids), dtype=bool)
    text = text or TextBytes(ids)
    at = np.flatnonzero(byte_set(b"='")[text.first])  # usually none
    hit = np.zeros(len(ids), dtype=bool)
    if len(at):
        taken = text.arr.take(at)
        found = pc.or_(pc.starts_with(taken, "="), pc.starts_with(taken, "'"))
        hit[at] = np.asarray(pc.fill_null(found, False), dtype=bool)
    return hit


FORMULA = 'spreadsheet formula or text prefix in {} (="...", \'...)'
SCIENTIFIC = "id in a spreadsheet's scientific notation in {} (1.23457E+11)"


def _printable_ascii_bytes(arr: object) -> bool:
    """True when every byte of the strings' data is printable ASCII (0x20-0x7e), read from Arrow's buffers."""
    import pyarrow as pa

    for chunk in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:  # type: ignore[attr-defined]
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            return False
        data = chunk.buffers()[2]
        if data is not None:
            b = np.frombuffer(data, dtype=np.uint8)
            if len(b) and (b.min() < 0x20 or b.max() > 0x7E):  # two reductions, no mask per byte (issue 14)
                return False
    return True


def _non_ascii_text(ids: pd.Series, text: TextBytes | None) -> Any:
    """The parsed ids (text) as an Arrow array when some hold a byte outside printable ASCII; None when none can
    (not text, or all printable ASCII: the usual case, no string to look at one by one)."""
    if not (ids.dtype == object or isinstance(ids.dtype, pd.StringDtype)):
        return None
    if text is not None and text.printable_ascii:
        return None
    arr = arrow_text(ids.astype("str"))
    return None if _printable_ascii_bytes(arr) else arr


def invisible_in_ids(ids: pd.Series, text: TextBytes | None = None) -> np.ndarray:
    """Which parsed ids (text) hold a control or format character (`_INVISIBLE`)."""
    import pyarrow.compute as pc

    arr = _non_ascii_text(ids, text)
    if arr is None:
        return np.zeros(len(ids), dtype=bool)
    # Printable strings hold no control or format character: the regex runs only if some are not.
    odd = ~np.asarray(pc.fill_null(pc.utf8_is_printable(arr), True), dtype=bool)
    if not odd.any():
        return odd
    hit = np.asarray(pc.fill_null(pc.match_substring_regex(arr, _INVISIBLE), False), dtype=bool)
    return odd & hit


#: Cyrillic and Greek letters drawn like Latin ones (`С` U+0421 for `C`, `О` for `O`, `Α` for `A`, `і` for `i`). An
#: id or category of them and ASCII only where a word mixes them with Latin letters (`Nоrth`, `C00000Ι`) or holds
#: one such letter alone (`С000042`: one letter pasted from elsewhere, a keyboard layout) prints like another and is
#: not it: one customer split in two printed alike, or `unknown customer_id` for a wrong reason. A word of two
#: letters or more all of one script is that script's own (`МОСКВА`, `СССР`, `ΚΡΗΤΗ`: capitals whose every letter
#: has a Latin twin), and so is a value holding another non-ASCII letter (`Клиент42`, `Ωmega`): kept.
_LOOKALIKES = LOOKALIKE_LETTERS
_LOOKALIKE_ID = f"^[\\x20-\\x7e{_LOOKALIKES}]*[{_LOOKALIKES}][\\x20-\\x7e{_LOOKALIKES}]*$"
LOOKALIKE = "a Cyrillic or Greek letter drawn like a Latin one in {} (Cyrillic С for Latin C: a lookalike)"


def _mixed_lookalike(value: str) -> bool:
    """Whether a word (letters and digits) of `value` holding a lookalike letter also holds a Latin letter or the
    other script's, or holds that one letter only: `Nоrth`, `С000042`, not `МОСКВА 2`."""
    import re

    for word in re.findall(r"[^\W_]+", value):
        scripts = {
            "latin" if c.isascii() else "greek" if c < "\u0400" else "cyrillic" for c in word if c.isalpha()
        }
        if scripts != {"latin"} and (len(scripts) > 1 or sum(c.isalpha() for c in word) == 1):
            return True
    return False


def lookalike_ids(ids: pd.Series, text: TextBytes | None = None) -> np.ndarray:
    """Which parsed ids (text) are ASCII but for letters of `_LOOKALIKES` (and hold one) and mix them with Latin
    letters in a word or hold one alone (`_mixed_lookalike`); each distinct candidate judged once."""
    import pyarrow.compute as pc

    arr = _non_ascii_text(ids, text)
    if arr is None:
        return np.zeros(len(ids), dtype=bool)
    hit = np.asarray(pc.fill_null(pc.match_substring_regex(arr, _LOOKALIKE_ID), False), dtype=bool)
    return judged_once(ids, hit, _mixed_lookalike)


#: Texts an export writes for "no value" (SQL NULL, Python None, pandas nan, spreadsheet #N/A; `\N`: MySQL's
#: `INTO OUTFILE`, PostgreSQL's `COPY` text, Hive's and Sqoop's files; `(null)`: C's `printf` of a null string;
#: `<NA>`: pandas' missing value as text). As an id they would make one customer of every row lacking an id; they
#: are rejected, never read as an id nor guessed missing.
PLACEHOLDER_IDS = ("null", "none", "nan", "n/a", "#n/a", "nil", "undefined", "\\n", "(null)", "<na>")


def placeholder_ids(ids: pd.Series, text: TextBytes | None = None) -> np.ndarray:
    """Which parsed ids (text) are a placeholder for a missing value (`PLACEHOLDER_IDS`, any case)."""
    # Every placeholder starts with `n`, `u`, `#`, `\\`, `(` or `<` once lower-cased: only strings starting with one of those in
    # either case, or with a non-ASCII character, are lower-cased and looked up (issue 14: not every id).
    return word_ids(ids, text, b"nNuU#\\(<" + bytes(range(0x80, 0x100)), PLACEHOLDER_IDS)


#: Ids an export writes for "no id" in a numeric or symbolic form: zero (`0`, `000`, `0.0`), minus one (`-1`), or
#: punctuation only (`-`, `--`, `?`, `.`, `_`, `*`, a dash). Read as an id, every order without a customer would
#: pool onto one fake customer `0` or `-1`; such ids are rejected like `NULL`, never read as a customer.
_PUNCTUATION = r"[-_.?*\x{2012}-\x{2015}]+"
_SENTINEL_IDS = rf"^(?:[+-]?0+(?:\.0+)?|-0*1(?:\.0+)?|{_PUNCTUATION})$"


def sentinel_ids(ids: pd.Series, text: TextBytes | None = None) -> np.ndarray:
    """Which parsed ids (text) are a numeric or symbolic placeholder for a missing id (`_SENTINEL_IDS`)."""
    if not (ids.dtype == object or isinstance(ids.dtype, pd.StringDtype)):
        return np.zeros(len(ids), dtype=bool)
    text = text or TextBytes(ids)
    first = text.first  # the usual id starts with a letter or 1-9: no regex over it
    return matches_where(text.arr, byte_set(b"0+-_.?*\xe2")[first], _SENTINEL_IDS)


#: How a spreadsheet shows a long number it has rounded: `1.23457E+11` for the id 123456789012, `1,23457E+11` in a
#: locale writing a decimal comma (German, French, ... Excel and LibreOffice). Every id sharing those six digits
#: became the same text: one customer made of many. Rejected, never read as an id. So is what Python (pandas,
#: `str(float)`) writes back for an id of 17 digits or more read as a float: `1.2345678901234568e+16`, rounded to 17
#: digits (a mantissa of 5 digits or more; a short `1e+5` stays an id, as it was).
_SCIENTIFIC_IDS = r"^[+-]?\d(?:[.,]\d+)?E\+\d{1,3}$|^[+-]?\d\.\d{4,}e\+\d{1,3}$"


def scientific_ids(ids: pd.Series, text: TextBytes | None = None) -> np.ndarray:
    """Which parsed ids (text) are a number in a spreadsheet's scientific notation (`_SCIENTIFIC_IDS`)."""

    if not (ids.dtype == object or isinstance(ids.dtype, pd.StringDtype)):
        return np.zeros(len(ids), dtype=bool)
    if text is not None and (text.high < ord("E") or text.low > ord("E")):  # no byte can be the `E` or `e`
        return np.zeros(len(ids), dtype=bool)
    arr = text.arr if text is not None else arrow_text(ids.astype("str"))
    # no regex over most ids: only those holding `+` (found in the data buffer; usually none at all)
    return matches_where(arr, holding_bytes(arr, b"+"), _SCIENTIFIC_IDS)


#: What a spreadsheet writes in a cell whose formula failed (`#VALUE!`, `#DIV/0!`, `#REF!`, `#NAME?`, `#NUM!`,
#: `#NULL!`, `#N/A`, newer Excel's `#SPILL!`, `#CALC!`, ...; any case), or shows for a number too wide for its column
#: (`#####`), exported as the cell's text: no value; also Google Sheets' `#ERROR!` (a formula that does not parse)
#: and LibreOffice Calc's numbered errors, `Err:502` (its CSV export writes cells as shown). As an id, every row
#: whose lookup failed would be one customer `#REF!`; in a number column, the row's amount is lost. Rejected with
#: that reason, never read as a value.
SHEET_ERRORS = (
    r"^(?i:#(?:VALUE!|DIV/0!|REF!|NAME\?|NUM!|NULL!|N/A|SPILL!|CALC!|FIELD!|BLOCKED!|CONNECT!|BUSY!|UNKNOWN!"
    r"|EXTERNAL!|PYTHON!|GETTING_DATA|ERROR!)|#{3,})$|^Err:5\d\d$"
)
SHEET_ERROR = "a spreadsheet error value in {} (#VALUE!, #DIV/0!, #REF!, ...: a formula that failed)"


def sheet_errors(values: pd.Series, text: TextBytes | None = None) -> np.ndarray:
    """Which values (text) are a spreadsheet's error value (`SHEET_ERRORS`); only values starting with `#` or `Er`
    are looked at (an id column of `E0000001`s stays off the regex)."""
    if not (values.dtype == object or isinstance(values.dtype, pd.StringDtype)):
        return np.zeros(len(values), dtype=bool)
    text = text or TextBytes(values)
    first = text.first
    candidates = (first == ord("#")) | ((first == ord("E")) & (text.second == ord("r")))
    return matches_where(text.arr, candidates, SHEET_ERRORS)


def sheet_error_ids(ids: pd.Series, text: TextBytes | None = None, required: bool = True) -> np.ndarray:
    """`sheet_errors` in an id column: a formula that failed, judged on a share as a number column's
    (`features.numbers`' "sheet"). In a required id also `#N/A` (a lookup that found nothing: its row is the
    placeholder's reject); in an optional one `#N/A` is a placeholder for "none" (`placeholder_ids`), not judged."""
    text = text or TextBytes(ids)
    found = sheet_errors(ids, text)
    return found if required else found & ~placeholder_ids(ids, text)


def holding_bytes(arr: object, needle: bytes) -> np.ndarray:
    """Which strings hold `needle` (one or two bytes), read from Arrow's buffers: one pass over the bytes
    instead of a substring search per string."""
    import pyarrow as pa

    parts = []
    for chunk in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:  # type: ignore[attr-defined]
        n = len(chunk)
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            chunk = chunk.cast(pa.large_string())
        _, off_buf, data = chunk.buffers()[:3]
        wide = pa.types.is_large_string(chunk.type)
        offsets = np.frombuffer(off_buf, dtype=np.int64 if wide else np.int32)[
            chunk.offset : chunk.offset + n + 1
        ]
        b = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
        b = b[offsets[0] : offsets[-1]] if n else b[:0]
        at = b == needle[0]
        if len(needle) == 2:
            at = at[:-1] & (b[1:] == needle[1])
        pos = np.flatnonzero(at) + (offsets[0] if n else 0)
        out = np.zeros(n, dtype=bool)
        if len(pos):
            row = np.searchsorted(offsets, pos, side="right") - 1
            inside = pos + len(needle) <= offsets[row + 1]  # every byte in the same string
            out[row[inside]] = True
        parts.append(out)
    hit = np.concatenate(parts) if parts else np.zeros(0, dtype=bool)
    valid = ~np.asarray(arr.is_null(), dtype=bool) if len(hit) else hit  # type: ignore[attr-defined]
    return hit & valid


def matches_where(arr: object, candidates: np.ndarray, pattern: str) -> np.ndarray:
    """`candidates` (a mask over the strings of `arr`) narrowed to the strings the regex `pattern` matches; the
    regex runs over the candidates only (a cheap first test keeps it off the usual values)."""
    import pyarrow.compute as pc

    hit = np.zeros(len(candidates), dtype=bool)
    at = np.flatnonzero(candidates)
    if len(at):
        taken = arr.take(at)  # type: ignore[attr-defined]
        hit[at] = np.asarray(pc.fill_null(pc.match_substring_regex(taken, pattern), False), dtype=bool)
    return hit


def positions_in(values: pd.Series, keys: pd.Index | pd.Series | np.ndarray) -> np.ndarray:
    """`pd.Index(keys).get_indexer(values)` for ids (`keys` distinct): each value's position in `keys`, -1 where
    it is absent. Text ids in one Arrow hash pass: pandas' own turns every id into a Python object first (issue
    14: a third of a second per lookup of the returns' orders at 1M customers)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values, keys = pd.Series(values), pd.Series(keys)
    if not all(isinstance(s.dtype, pd.StringDtype) for s in (values, keys)):
        return pd.Index(keys).get_indexer(values)
    arr, value_set = (arrow_text(s).cast(pa.large_string()) for s in (values, keys))
    return np.asarray(pc.fill_null(pc.index_in(arr, value_set=value_set), -1), dtype=np.intp)


#: The labels a spreadsheet or report writes on its summary lines: `Total`, `Grand Total`, `Subtotal`, `Sum`, the
#: same in German, Dutch, French, Italian (`Gesamtergebnis`, `Totaal`, `Total général`). Such a line carries the
#: sum of the lines above it: read as an order, it doubles a customer's revenue (or the company's).
_TOTAL_LABEL = (
    r"(?i)^(?:(?:grand|sub)[ -]?)?(?:totals?|sum|summe|gesamt(?:summe|ergebnis|betrag)?|insgesamt|totaal|totale"
    r"|total g[ée]n[ée]ral|totale generale):?$"
)
#: In an id column, also Excel's subtotal lines (`C0042 Total`, `O123 Count`, `Gesamtergebnis`: Data > Subtotal
#: writes the group's id and the function) and pandas' `pivot_table(margins=True)` line `All`.
_TOTAL_ID = r"(?i)^(?:all|.+ (?:total|count|average|ergebnis|summe):?)$"


def total_lines(values: pd.Series, is_id: bool, text: TextBytes | None = None) -> np.ndarray:
    """Which parsed ids or text values (spaces already removed) label a spreadsheet's total or subtotal line
    (`_TOTAL_LABEL`; for ids also `_TOTAL_ID`). An id or category such as `Total Energies` or `Sum Ltd` is not one:
    the label must be the whole value.

    Issue 14: the labels are looked for in the values that may hold one only (`_total_candidates`, read from
    Arrow's buffers), each distinct candidate once: not 8 substring searches over every lower-cased value."""
    import pyarrow.compute as pc

    if not (values.dtype == object or isinstance(values.dtype, pd.StringDtype)):
        return np.zeros(len(values), dtype=bool)
    text = text or TextBytes(values)
    arr = text.arr
    hit = np.zeros(len(values), dtype=bool)
    at = np.flatnonzero(_total_candidates(text, is_id))
    if not len(at):
        return hit
    taken = arr.take(at)  # type: ignore[attr-defined]
    distinct = pc.unique(taken)  # a category column: a handful of regions for a million rows
    lowered = pc.utf8_lower(distinct)
    maybe = np.zeros(len(distinct), dtype=bool)
    for part in ("tot", "sum", "gesamt", "insgesamt", "all", "count", "average", "ergebnis"):
        maybe |= np.asarray(pc.fill_null(pc.match_substring(lowered, part), False), dtype=bool)
    pattern = f"(?:{_TOTAL_LABEL.removeprefix('(?i)')})" + (
        f"|{_TOTAL_ID.removeprefix('(?i)')}" if is_id else ""
    )
    labels = matches_where(lowered, maybe, f"(?:{pattern})")
    if labels.any():
        hit[at] = np.asarray(
            pc.fill_null(pc.is_in(taken, value_set=distinct.filter(labels)), False), dtype=bool
        )
    return hit


def _total_candidates(text: TextBytes, is_id: bool) -> np.ndarray:
    """The values that may be a total line's label (a superset, from the bytes). Lower-cased, a label begins
    with `al` (`all`, ids only), `gr`, `ge`, `in`, `su`, or `to`, and only `İ` (-> `i`) and the Kelvin sign (-> `k`)
    lower-case from another letter to an ASCII one: so a value whose first byte is one of those letters in
    either case and whose second byte is the next letter in either case, or whose first byte is not ASCII; for
    ids also every value holding a space (`C0042 Total`). Invoice ids `I00042` and regions `South` stop there.
    One gather in a table of the 65,536 first-two-byte pairs."""
    pairs = _LABEL_STARTS_ID if is_id else _LABEL_STARTS
    out = pairs[(text.first.astype(np.uint16) << 8) | text.second]
    return out | holding_bytes(text.arr, b" ") if is_id and text.low <= 0x20 else out


def _label_starts(*starts: str) -> np.ndarray:
    """The first-two-byte pairs (`first << 8 | second`) a total label may begin with (see `_total_candidates`)."""
    table = np.zeros((256, 256), dtype=bool)
    table[0x80:, :] = True
    for a, b in starts:
        for x in (ord(a), ord(a.upper())):
            table[x, [ord(b), ord(b.upper())]] = True
    return table.ravel()


_LABEL_STARTS = _label_starts("gr", "ge", "in", "su", "to")
_LABEL_STARTS_ID = _label_starts("gr", "ge", "in", "su", "to", "al")


#: An id or a category (a region, a segment: text the models read) longer than this is neither: a whole file's
#: lines in one cell (a quote left open), a document pasted into a field. Kept, it became a customer or a region
#: of a megabyte, in every reason sentence and page that shows it. Free text the models do not read (a return's
#: reason, a name) is not judged: a long one costs nothing and its row holds amounts.
MAX_TEXT_CHARS = 1000


def overlong_texts(values: pd.Series) -> np.ndarray:
    """Which parsed text values are longer than `MAX_TEXT_CHARS` characters (by Arrow's offsets first: no count
    of code points unless some value has that many bytes)."""
    import pyarrow.compute as pc

    if not (values.dtype == object or isinstance(values.dtype, pd.StringDtype)):
        return np.zeros(len(values), dtype=bool)
    arr = arrow_text(values.astype("str"))
    if not len(arr) or (pc.max(pc.binary_length(arr)).as_py() or 0) <= MAX_TEXT_CHARS:
        return np.zeros(len(values), dtype=bool)
    return np.asarray(pc.fill_null(pc.greater(pc.utf8_length(arr), MAX_TEXT_CHARS), False), dtype=bool)


#: The id rules after parsing, in the order they reject (`features.validation`; both engines): each a predicate on
#: the parsed ids and its reason, `{}` the column.
MISSING_ID = "placeholder for a missing value in {}"
#: An e-mail address (the one pattern: also `features.headerless`' header cells), in an id column personal data.
EMAIL_ADDRESS = r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$"
EMAIL_ID = "an e-mail address in {} (personal data, not an id: export the id instead)"


def email_ids(ids: pd.Series, text: TextBytes | None = None) -> np.ndarray:
    """Which parsed ids (text) are an e-mail address (`EMAIL_ADDRESS`): a CRM's manager or customer e-mail
    exported as the id, which would name report pages and files. Only values holding `@` are looked at."""
    if not (ids.dtype == object or isinstance(ids.dtype, pd.StringDtype)):
        return np.zeros(len(ids), dtype=bool)
    text = text or TextBytes(ids)
    return matches_where(text.arr, holding_bytes(text.arr, b"@"), EMAIL_ADDRESS)


#: A phone number as an id (a shop's or a CRM's customer key when it keeps no other): personal data, as an e-mail
#: address is. Only a number written as one: `+` then 7 to 15 digits (E.164) with spaces, `-`, `.` or parentheses
#: (`+1 (555) 010-0199`, `+44 20 7946 0958`, `+4915112345678`), or an area code in parentheses (`(555) 010-0199`).
#: Digits alone (`5550100199`) may be an id: kept; so is a mainframe's (COBOL's) signed zero-padded id (`+0000012345`):
#: no country code starts with 0.
PHONE_NUMBER = r"^(?:\+[1-9][\d ().-]*|\(\d{2,5}\) ?\d[\d .-]*)\d$"
PHONE_ID = "a phone number in {} (personal data, not an id: export the id instead)"


def phone_ids(ids: pd.Series, text: TextBytes | None = None) -> np.ndarray:
    """Which parsed ids (text) are a phone number (`PHONE_NUMBER`, 7 to 15 digits); only values starting with `+`
    or `(` are looked at."""
    import pyarrow.compute as pc

    if not (ids.dtype == object or isinstance(ids.dtype, pd.StringDtype)):
        return np.zeros(len(ids), dtype=bool)
    text = text or TextBytes(ids)
    hit = matches_where(text.arr, byte_set(b"+(")[text.first], PHONE_NUMBER)
    if (at := np.flatnonzero(hit)).size:
        digits = np.asarray(pc.count_substring_regex(text.arr.take(at), r"\d"))
        hit[at] = (digits >= 7) & (digits <= 15)
    return hit


def check_email_ids(table: str, column: str, n: int, given: int, what: str = "e-mail addresses") -> None:
    """Structural error when `n` values of an id column, 1% of its `given` ones and 3 rows
    (`features.shares.check_share`), are e-mail addresses (`email_ids`; `what`: phone numbers, `phone_ids`): the
    export's convention, its rows rejected would drop them with exit 0. They are personal data: the message gives
    how many, never the values nor their rows. Both engines (`spark_stops.table_stops`, from the rows summed in its
    one aggregation)."""
    from features.errors import StructuralError
    from features.shares import check_share

    if not check_share(n, given):
        return

    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {given:,} values are {what} (not shown: personal data), not "
        "ids: rejecting these rows would drop them, and personal data never names a customer or manager in the "
        "reports. Export the ids instead."
    )


ID_RULES = (
    (placeholder_ids, MISSING_ID + " (NULL, None, N/A, ...)"),
    (sentinel_ids, MISSING_ID + " (0, -1, -, ...)"),
    (pooled_ids, MISSING_ID + f" ({POOLED})"),
    (scientific_ids, SCIENTIFIC),
    (spreadsheet_ids, FORMULA),
    (sheet_errors, SHEET_ERROR),
    (invisible_in_ids, INVISIBLE),
    (lookalike_ids, LOOKALIKE),
    (mojibake_ids, MOJIBAKE),  # `MÃ¼ller` for `Müller`: text encoded twice
    (folded_ids, FOLDED),
    (email_ids, EMAIL_ID),
    (phone_ids, PHONE_ID),
)


def missing_ids(ids: pd.Series) -> np.ndarray:
    """Which parsed ids are a placeholder for a missing value (`NULL`, `0`, `-`): the `ID_RULES` of that reason.
    Written for every row without one in an optional id column, they are how the export says "none"
    (`features.placeholder_words.check_missing_placeholders`)."""
    text = TextBytes.of(ids)  # once for the three rules (was: built by each)
    hits = [rule(ids, text) for rule, reason in ID_RULES if reason.startswith(MISSING_ID)]
    return np.logical_or.reduce(hits)


def missing_categories(values: pd.Series) -> np.ndarray:
    """Which parsed values of a model-read category (`customers.region`, `tickets.kind`, ...) are a placeholder
    for a missing value: a word of `PLACEHOLDER_IDS` (`NULL`, `N/A`, any case) or punctuation only (`-`, `?`, the
    signs of `_SENTINEL_IDS`). Read as a category, the model would learn a segment "NULL". Numbers (`0`) may be a
    category's own code: not taken for one."""
    if not (values.dtype == object or isinstance(values.dtype, pd.StringDtype)):
        return np.zeros(len(values), dtype=bool)
    text = TextBytes(values)
    signs = matches_where(text.arr, byte_set(b"-_.?*\xe2")[text.first], f"^{_PUNCTUATION}$")
    return placeholder_ids(values, text) | signs


#: An id written as a whole number with a decimal point (`42.0`, `0042.00`): what a float column writes (an id
#: column holding one empty cell, in pandas or a spreadsheet). Beside ids written `42` in the same column, the
#: same customer (order) twice.
_DECIMAL_IDS = r"^[+-]?\d+\.0+$"


def decimal_ids(ids: pd.Series) -> np.ndarray:
    """Which parsed ids (text) are a whole number written with a decimal point (`_DECIMAL_IDS`)."""
    import pyarrow.compute as pc

    if not (ids.dtype == object or isinstance(ids.dtype, pd.StringDtype)):
        return np.zeros(len(ids), dtype=bool)
    arr = arrow_text(ids.astype("str"))
    low, high = _byte_range(arr)
    if (
        not low <= ord(".") <= high
    ):  # no `.` in the bytes (`C000042`: 0x30 and up): a min and a max (issue 14)
        return np.zeros(len(ids), dtype=bool)
    dotted = np.asarray(pc.fill_null(pc.match_substring(arr, "."), False), dtype=bool)
    return matches_where(arr, dotted, _DECIMAL_IDS)


def whole_ids(ids: pd.Series) -> np.ndarray:
    """Which parsed ids (text) are written as a whole number (ASCII digits only: `42`, `00042`)."""
    import pyarrow.compute as pc

    if not (ids.dtype == object or isinstance(ids.dtype, pd.StringDtype)):
        return np.zeros(len(ids), dtype=bool)
    return np.asarray(pc.fill_null(pc.ascii_is_decimal(arrow_text(ids.astype("str"))), False), dtype=bool)
