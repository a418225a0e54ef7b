"""Text encoded twice (mojibake): UTF-8 bytes read as Windows-1252 (or Latin-1) and written out as UTF-8 again,
`MÃ¼ller` for `Müller`, `CafÃ©` for `Café`, `â€™` for `’`: an export, a copy or a spreadsheet that took a UTF-8
file for a Windows code page. As an id it is another customer (manager) than the same name written right; as a
category the models read, a region or segment of its own. Judged by decoding: a value is encoded twice when its
characters, encoded in Windows-1252 (Latin-1 for the five bytes it lacks), are UTF-8 other than the value itself;
text in Latin-1's letters (`Müller`, `São`) never is. Rejected per row, never repaired by guessing; on 1% of a
column a structural error (`features.number_forms.check_number_form`, form `mojibake`), both engines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.text import TextBytes, _byte_range, arrow_text, judged_once

MOJIBAKE = "text encoded twice in {} (mojibake: UTF-8 read as Windows-1252, MÃ¼ller for Müller)"

#: A UTF-8 lead byte read as Windows-1252 (Â-ô) followed by a continuation byte so read (0x80-0xbf: the C1 range,
#: Windows-1252's `€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ`, and ` ¡¢...¿`): the candidates decoding then judges.
_CANDIDATE = "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"  # noqa: E501


#: What a decoding may produce for it to be text encoded twice (the scripts and signs names and categories are
#: written in): Latin-1 Supplement to Latin Extended-B, Greek, Cyrillic, Latin Extended Additional (Vietnamese),
#: general punctuation, currency and letterlike signs, CJK and Hangul, emoji. Not IPA (`SANTÉ\u00a0` gives `ɠ`),
#: N'Ko (`Groß\u00a0`, `Groß–` give `ߠ`, `ߖ`), Hebrew, Arabic: a capital accented letter or `ß` before a
#: non-breaking space or a Windows-1252 sign is valid UTF-8 by chance, and legitimate (round 32's review).
_PLAUSIBLE = (
    (0x00A0, 0x024F),
    (0x0370, 0x04FF),
    (0x1E00, 0x1EFF),
    (0x2000, 0x206F),
    (0x20A0, 0x20CF),
    (0x2100, 0x214F),
    (0x3000, 0x30FF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7AF),
    (0x1F300, 0x1FAFF),
)


def encoded_twice(value: str) -> bool:
    """Whether `value` is UTF-8 text read as Windows-1252 (or Latin-1) once too often: its decoding differs from
    it and every character the decoding produces (each one above ASCII) is plausible text (`_PLAUSIBLE`)."""
    for codec in ("cp1252", "latin-1"):
        try:
            decoded = value.encode(codec).decode("utf-8")
        except UnicodeError:
            continue
        return decoded != value and all(
            any(lo <= ord(c) <= hi for lo, hi in _PLAUSIBLE) for c in decoded if ord(c) > 0x7F
        )
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


#: The stop's words on 1% of a column (`features.number_forms._ID_FORMS`): the mask, what the values are, the way out,
#: the row reject's reason.
MOJIBAKE_FORM = (
    mojibake_ids,
    "text encoded twice (mojibake: UTF-8 read as Windows-1252 and saved again, MÃ¼ller for Müller)",
    "Export the file again as UTF-8 (or open it as UTF-8, not as Windows-1252 or Latin-1, before saving it)",
    MOJIBAKE,
)
