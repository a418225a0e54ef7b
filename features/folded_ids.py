"""Ids spelled in Unicode compatibility forms or another script's digits, ASCII once folded: fullwidth `Ｃ００１`
(an East Asian input method), a non-breaking, thin or ideographic space inside (`C\u00a0001`, copied from a web
page or a word processor), mathematical letters and digits (`𝐂1`), Arabic-Indic digits (`C١`): the forms of
`id_spelling`. NFC leaves them as they are, so each is another id than the ASCII one it spells: a customer split in
two printed alike (without a customers table), or `unknown customer_id` for a wrong reason. A row reject (one of
`features.ids.ID_RULES`), a structural error on 1% of a column (`check_folded_ids`: the export's way). Signs
Unicode lists as other compatibility forms (`<compat>`, `<super>`: `№1234`, `Nº 0001`, `Fª-12`, `C¹`, Roman
numerals) are an id's own writing and kept, as is an id of another script (`Клиент42`, `顧客42`, `Café`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.text import TextBytes

FOLDED = (
    "an id in Unicode compatibility forms or other digits than 0-9 in {} (fullwidth Ｃ１, a non-breaking space, "
    "Arabic-Indic ١: another spelling of an ASCII id)"
)


def ascii_spelling(value: str) -> str:
    """`value` with Unicode's compatibility forms folded (NFKC) and every decimal digit read as its ASCII digit:
    fullwidth `Ｃ１２３` and `C١٢٣` spell `C123`. For model-read categories, dates and `features.id_spellings.spelling_key`;
    an id's reject folds less (`id_spelling`)."""
    import unicodedata

    value = unicodedata.normalize("NFKC", value)
    return "".join(str(unicodedata.decimal(c, c)) if not c.isascii() else c for c in value)


#: The compatibility decompositions an id is folded by (`id_spelling`): another width or a font of the same
#: letter or digit, a no-break space. Not `<compat>`, `<super>`, ... (`№`, `º`, `ª`, `¹`, `Ⅻ`): an id's own signs.
_ID_FOLDS = ("<wide>", "<narrow>", "<font>", "<noBreak>")


def _id_char(c: str) -> str:
    import unicodedata

    if c.isascii():
        return c
    if unicodedata.category(c) == "Zs" or unicodedata.decomposition(c).startswith(_ID_FOLDS):
        c = unicodedata.normalize("NFKC", c)  # `Ｃ`, `𝐂`, a no-break, thin or ideographic space
    return str(unicodedata.decimal(c, c)) if len(c) == 1 else c


def id_spelling(value: str) -> str:
    """`value` (NFC) with only the folds of an id (`_ID_FOLDS`, spaces, every decimal digit read as its ASCII
    digit): fullwidth `Ｃ００１` and `C١` spell `C001`, `C1`; `№1234` stays as written."""
    import unicodedata

    return "".join(_id_char(c) for c in unicodedata.normalize("NFC", value))


def _spells_ascii(value: str) -> bool:
    folded = id_spelling(value)
    return folded != value and folded.isascii() and folded.isprintable()


def folded_ids(ids: pd.Series, text: TextBytes | None = None) -> np.ndarray:
    """Which parsed ids (text) are not ASCII and spell an ASCII id once folded (`id_spelling`). Only the
    values holding a byte outside printable ASCII are looked at (none: the usual case, two numbers read from
    Arrow's buffers), each distinct one once."""
    import pyarrow.compute as pc

    hit = np.zeros(len(ids), dtype=bool)
    if not (ids.dtype == object or isinstance(ids.dtype, pd.StringDtype)):
        return hit
    text = text or TextBytes(ids)
    if text.printable_ascii:
        return hit
    at = np.flatnonzero(~np.asarray(pc.fill_null(pc.string_is_ascii(text.arr), True), dtype=bool))
    if not len(at):
        return hit
    wide = ids.iloc[at].astype("str")
    verdict = {v: _spells_ascii(v) for v in wide.unique()}
    hit[at] = wide.map(verdict).to_numpy(dtype=bool)
    return hit


def check_folded_ids(table: str, column: str, raw: pd.Series, found: np.ndarray, given: int) -> None:
    """Structural error when `found` (`folded_ids`) holds 1% of an id column's `given` values and 3 rows (as
    e-mail ids: `features.shares.check_share`): the export writes its ids so, its rows
    rejected would be lost with exit 0. Both engines (`pipelines.engines.spark_stops.table_stops`)."""
    from features.errors import StructuralError
    from features.names import shown_values
    from features.shares import check_share

    n = int(np.asarray(found, dtype=bool).sum())
    if not check_share(n, given):
        return
    seen, rows = shown_values(raw, found)
    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {given:,} values are ids in Unicode compatibility forms or "
        f"other digits than 0-9 ({seen}: fullwidth letters or digits, a non-breaking or thin space, Arabic-Indic "
        "digits), each another id than the ASCII one it spells: rejecting these rows would drop them. Export the "
        f"ids in ASCII (`C001`).{rows}"
    )
