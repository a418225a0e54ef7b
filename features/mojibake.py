"""Text encoded twice (mojibake): UTF-8 bytes read as Windows-1252 (or Latin-1) and written out as UTF-8 again,
`MÃ¼ller` for `Müller`, `CafÃ©` for `Café`, `â€™` for `’`: an export, a copy or a spreadsheet that took a UTF-8
file for a Windows code page. As an id it is another customer (manager) than the same name written right; as a
category the models read, a region or segment of its own. Judged by decoding: a value is encoded twice when its
characters, encoded in Windows-1252 (Latin-1 for the five bytes it lacks), are UTF-8 other than the value itself;
text in Latin-1's letters (`Müller`, `São`) never is. Rejected per row, never repaired by guessing; on 1% of a
column a structural error (`features.numbers.check_number_form`, form `mojibake`), both engines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.text import TextBytes, _byte_range, arrow_text, judged_once

MOJIBAKE = "text encoded twice in {} (mojibake: UTF-8 read as Windows-1252, MÃ¼ller for Müller)"

#: A UTF-8 lead byte read as Windows-1252 (Â-ô) followed by a continuation byte so read (0x80-0xbf: the C1 range,
#: Windows-1252's `€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ`, and ` ¡¢...¿`): the candidates decoding then judges.
_CANDIDATE = "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"  # noqa: E501


def encoded_twice(value: str) -> bool:
    """Whether `value` is UTF-8 text read as Windows-1252 (or Latin-1) once too often."""
    for codec in ("cp1252", "latin-1"):
        try:
            return value.encode(codec).decode("utf-8") != value
        except UnicodeError:
            continue
    return False


def mojibake_ids(ids: pd.Series, text: TextBytes | None = None) -> np.ndarray:
    """Which parsed ids or categories (text) are encoded twice (`encoded_twice`); only values holding a byte
    above ASCII are looked at, each distinct candidate (`_CANDIDATE`) judged once."""
    import pyarrow.compute as pc

    if not (ids.dtype == object or isinstance(ids.dtype, pd.StringDtype)):
        return np.zeros(len(ids), dtype=bool)
    if text is not None and text.ascii:  # the usual column: two numbers prove it (issue 14)
        return np.zeros(len(ids), dtype=bool)
    arr = arrow_text(ids.astype("str"))  # `text` may be the raw column's: its bytes prove ASCII only
    if _byte_range(arr)[1] < 0xC2:  # no byte of `Â`-`ô` in UTF-8 (0xc3 0x82-0xb4): none can be (issue 14)
        return np.zeros(len(ids), dtype=bool)
    hit = np.asarray(pc.fill_null(pc.match_substring_regex(arr, _CANDIDATE), False), dtype=bool)
    return judged_once(ids, hit, encoded_twice)


#: The stop's words on 1% of a column (`features.numbers._ID_FORMS`): the mask, what the values are, the way out,
#: the row reject's reason.
MOJIBAKE_FORM = (
    mojibake_ids,
    "text encoded twice (mojibake: UTF-8 read as Windows-1252 and saved again, MÃ¼ller for Müller)",
    "Export the file again as UTF-8 (or open it as UTF-8, not as Windows-1252 or Latin-1, before saving it)",
    MOJIBAKE,
)
