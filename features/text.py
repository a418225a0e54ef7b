"""Raw text columns at Arrow speed: what counts as blank, and surrounding whitespace stripped.

Whitespace is Python's (`str.isspace`, what `re`'s `\\s` matches); Arrow's kernels use the same definition
(checked code point by code point in tests/features/test_validation_speed.py). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import pyarrow as pa


def arrow_text(text: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The Arrow strings behind a `str` Series (no copy when Arrow-backed, the pandas default with pyarrow)."""
    import pyarrow as pa

    if hasattr(text.array, "__arrow_array__"):
        return pa.array(text.array)
    return pa.array(text.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)


class TextBytes:
    """What a text column's Arrow buffers say about its values, read once and shared by the checks of the column
    (issue 14): the smallest and largest byte of the strings' data, and each value's first two bytes when asked.
    A column of ids such as `C000042` (bytes 0x21-0x7e only) holds no whitespace, no control or format character
    and nothing to normalise: each check proves that from two numbers instead of a pass over every value."""

    def __init__(self, s: pd.Series) -> None:
        self.arr = arrow_text(s.astype("str"))
        self.low, self.high = _byte_range(self.arr)

    @classmethod
    def of(cls, s: pd.Series) -> TextBytes | None:
        """The column's bytes, or None when it does not hold text (numbers, dates)."""
        return cls(s) if s.dtype == object or isinstance(s.dtype, pd.StringDtype) else None

    @property
    def spaceless(self) -> bool:
        """No byte of a whitespace character (Python's: ASCII 0x09-0x0d, 0x1c-0x20; the others are not ASCII)."""
        return self.low > 0x20 and self.high < 0x80

    @property
    def ascii(self) -> bool:
        return self.high < 0x80

    @property
    def printable_ascii(self) -> bool:
        """Every byte printable ASCII (0x20-0x7e): no control or format character."""
        return self.low >= 0x20 and self.high <= 0x7E

    @cached_property
    def first(self) -> np.ndarray:
        return first_bytes(self.arr)

    @cached_property
    def second(self) -> np.ndarray:
        return first_bytes(self.arr, 1)


def _byte_range(arr: pa.Array | pa.ChunkedArray) -> tuple[int, int]:
    """The smallest and largest byte of the strings' data ((256, -1) when there is none), from the buffers.

    The bytes between the first and the last offset of each chunk: a missing value's bytes, if any, count too
    (the proofs built on this are then only more cautious)."""
    import pyarrow as pa

    low, high = 256, -1
    for chunk in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
        n = len(chunk)
        if not n:
            continue
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            return 0, 255  # nothing proven: every check reads the values
        _, off_buf, data = chunk.buffers()[:3]
        wide = pa.types.is_large_string(chunk.type)
        offsets = np.frombuffer(off_buf, dtype=np.int64 if wide else np.int32)
        start, end = int(offsets[chunk.offset]), int(offsets[chunk.offset + n])
        if data is None or end <= start:
            continue
        used = np.frombuffer(data, dtype=np.uint8)[start:end]
        low, high = min(low, int(used.min())), max(high, int(used.max()))
    return low, high


def letter_cases(arr: pa.Array | pa.ChunkedArray) -> tuple[bool, bool]:
    """Whether the strings' data holds an upper-case letter and a lower-case one, from the buffers (no value read);
    a byte outside ASCII, or a column that is not text, counts as both (`features.id_spellings.case_only_twins`: ids with
    no lower-case letter, or none in upper case, cannot differ only by case)."""
    import pyarrow as pa

    upper = lower = False
    for chunk in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
        if not len(chunk):
            continue
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            return True, True
        _, off_buf, data = chunk.buffers()[:3]
        wide = pa.types.is_large_string(chunk.type)
        offsets = np.frombuffer(off_buf, dtype=np.int64 if wide else np.int32)
        start, end = int(offsets[chunk.offset]), int(offsets[chunk.offset + len(chunk)])
        if data is None or end <= start:
            continue
        used = np.frombuffer(data, dtype=np.uint8)[start:end]
        if used.max() >= 0x80:
            return True, True
        upper = upper or bool((np.subtract(used, 0x41, dtype=np.uint8) < 26).any())
        lower = lower or bool((np.subtract(used, 0x61, dtype=np.uint8) < 26).any())
    return upper, lower


def first_bytes(arr: object, position: int = 0) -> np.ndarray:
    """The first byte of each string (0 for an empty or missing one), read from Arrow's buffers; with `position`,
    the byte at that position (0 for a string that ends before it). One gather per chunk, no copy of the
    offsets (issue 14: a 10M-row column's temporaries cost more than the gather)."""
    import pyarrow as pa

    parts = []
    for chunk in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:  # type: ignore[attr-defined]
        n = len(chunk)
        _, off_buf, data = chunk.buffers()
        wide = pa.types.is_large_string(chunk.type)
        offsets = np.frombuffer(off_buf, dtype=np.int64 if wide else np.int32)[
            chunk.offset : chunk.offset + n + 1
        ]
        if data is None or not n or offsets[-1] <= offsets[0]:
            parts.append(np.zeros(n, dtype=np.uint8))
            continue
        at = offsets[:-1] if position == 0 else offsets[:-1] + position
        first = np.take(np.frombuffer(data, dtype=np.uint8), at, mode="clip")
        first *= offsets[1:] > at  # an empty (or shorter) string: 0
        parts.append(first)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)


def empty_strings(arr: object) -> np.ndarray:
    """Which strings are empty (missing ones may read either way), from Arrow's offsets: no lengths computed."""
    import pyarrow as pa

    parts = []
    for chunk in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:  # type: ignore[attr-defined]
        n = len(chunk)
        wide = pa.types.is_large_string(chunk.type)
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64 if wide else np.int32)
        offsets = offsets[chunk.offset : chunk.offset + n + 1] if n else offsets[:1]
        parts.append(offsets[1:] == offsets[:-1])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def byte_set(chars: bytes) -> np.ndarray:
    """A 256-entry table, True at the given bytes: `byte_set(b"='")[first_bytes(arr)]` is one gather."""
    table = np.zeros(256, dtype=bool)
    table[np.frombuffer(chars, dtype=np.uint8)] = True
    return table


def blank(s: pd.Series, text: TextBytes | None = None) -> pd.Series:
    """True where a raw value is missing or an empty/whitespace string (no copy of the strings is made).

    Whitespace is Python's (`str.isspace`, what `re`'s `\\s` matches): Arrow's `utf8_is_space` uses the same
    definition (checked code point by code point in the tests), in one vectorised pass instead of a Python regex
    per value; skipped when the bytes hold no whitespace (`TextBytes.spaceless`; `text`: the column's, if known).
    Empty by the byte length (Arrow's offsets; no count of code points, issue 14).
    """
    missing = s.isna()
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        import pyarrow.compute as pc

        text = text or TextBytes(s)
        if text.spaceless:  # only empty strings can be blank
            return missing | empty_strings(text.arr)
        arr = text.arr
        empty = pc.or_(pc.equal(pc.binary_length(arr), 0), pc.utf8_is_space(arr))
        missing = missing | np.asarray(pc.fill_null(empty, False), dtype=bool)
    return missing


def clean_text(s: pd.Series, text: TextBytes | None = None) -> pd.Series:
    """Strip surrounding whitespace, blanks become missing; copies the strings only when something changes."""
    import pyarrow.compute as pc

    text = text or TextBytes(s)
    out = s if isinstance(s.dtype, pd.StringDtype) else s.astype("str")
    arr = text.arr
    # Leading or trailing whitespace (Python's definition, as `str.strip`) iff trimming changes the value.
    if not text.spaceless and pc.any(pc.not_equal(pc.utf8_trim_whitespace(arr), arr)).as_py():
        out = out.str.strip()
    empty = blank(s, text)
    return out.where(~empty, None) if empty.any() else out


def word_ids(
    ids: pd.Series,
    text: TextBytes | None,
    starts: bytes,
    words: tuple[str, ...],
    size: tuple[int, int] | None = None,
    pattern: str | None = None,
) -> np.ndarray:
    """Which texts are one of `words` once lower-cased (or match `pattern`, case as written). Only those starting
    with a byte of `starts` (both cases given there) and, with `size`, of that many bytes (shortest, longest) are
    lower-cased and looked up: not every id, none for ids of digits (issue 14). Not text (numbers): none."""
    import pyarrow as pa
    import pyarrow.compute as pc

    hit = np.zeros(len(ids), dtype=bool)
    if not (ids.dtype == object or isinstance(ids.dtype, pd.StringDtype)):
        return hit
    text = text or TextBytes(ids)
    candidates = byte_set(starts)[text.first]
    if size is not None and candidates.any():
        n = np.asarray(pc.fill_null(pc.binary_length(text.arr), 0))
        candidates &= (n >= size[0]) & (n <= size[1])
    at = np.flatnonzero(candidates)
    if len(at):
        some = text.arr.take(at)
        found = pc.is_in(pc.utf8_lower(some), value_set=pa.array(words, type=some.type))
        if pattern is not None:
            found = pc.or_(found, pc.match_substring_regex(some, pattern))
        hit[at] = np.asarray(pc.fill_null(found, False), dtype=bool)
    return hit


def judged_once(values: pd.Series, candidates: np.ndarray, judge: Callable[[str], bool]) -> np.ndarray:
    """`candidates` (a mask over `values`, changed in place) narrowed to the values `judge` holds true, each
    distinct candidate judged once (a regex finds the candidates, Python judges the few)."""
    at = np.flatnonzero(candidates)
    if len(at):
        words = values.iloc[at].astype("str")
        candidates[at] = words.map({v: judge(v) for v in words.unique()}).to_numpy(dtype=bool)
    return candidates
