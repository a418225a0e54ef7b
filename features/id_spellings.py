"""Ids an export respelled: the same ids written otherwise between tables or runs (letter case changed, a prefix
or leading zeros dropped, numbers for text, fullwidth or another script's digits). Never used to join: only to
recognise the respelling and say so (`features.crossrefs`' stops, `pipelines.load_notes`, `pipelines.history`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from features.folded_ids import ascii_spelling
from features.text import arrow_text, letter_cases


def case_only_twins(
    *columns: pd.Series, examples: int = 3, zeros: bool = False
) -> tuple[int, list[tuple[str, ...]]]:
    """Distinct ids of `columns` that differ only by letter case (`C0042`, `c0042`), with `zeros` (ids) also by the
    leading zeros of an id of digits only (`00042`, `42`: a spreadsheet drops them): how many groups, and a few.

    Ids are exact text (the contract), so such ids stay different customers; a system that changed the case of
    an export would split each customer in two without a word, which is why loading says so."""
    n, shown, _ = _case_twins([arrow_text(c.astype("str")) for c in columns], examples, zeros=zeros)
    return n, shown


def case_twins_and_rows(ids: pd.Series, examples: int = 3) -> tuple[int, list[tuple[str, ...]], int]:
    """`case_only_twins` of one id column (`zeros`), and how many of its given values are one of the twins (both
    spellings counted: the rows naming them), from the same pass (each distinct id's count)."""
    return _case_twins([arrow_text(ids.dropna().astype("str"))], examples, counted=True, zeros=True)


#: An id of digits with leading zeros (`00042`), and what a spreadsheet makes of it (`42`; `000` is `0`). The
#: Spark sampled training folds ids with the same patterns (`spark_training.check_id_twins_spark`; Java: `$1`).
PADDED, UNPADDED = r"^0+(\d)", r"\1"
#: An id of digits in groups of three (`7,007`, `7.007`, `7 007`, `7'007`): what a spreadsheet's number format
#: writes of `7007` (round 35), and the separators removed to compare it.
GROUP_MARKS = "[,.' \u00a0\u202f]"  # the characters themselves: Arrow's RE2 reads no `\u` escape
GROUPED = r"^\d{1,3}(?:" + GROUP_MARKS + r"\d{3})+$"


def _padded(texts: list[Any]) -> bool:
    """Whether ids of `texts` may differ only by leading zeros: one starts with `0`, and they are not all of one
    width (a fixed-width numbering, the usual padded ids, has no such twins: +32 ms per 1M such ids, not a fold of
    each: docs/measurements.md)."""
    import pyarrow.compute as pc

    given = [t for t in texts if len(t) and t.null_count < len(t)]
    if not any(pc.any(pc.starts_with(t, "0")).as_py() for t in given):
        return False
    widths = [pc.min_max(pc.utf8_length(t)) for t in given]
    return min(w["min"].as_py() for w in widths) < max(w["max"].as_py() for w in widths)


def _case_twins(
    texts: list[Any], examples: int, counted: bool = False, zeros: bool = False
) -> tuple[int, list[tuple[str, ...]], int]:
    """`case_only_twins` of Arrow strings `texts`, and with `counted` (one column) how many of its values are one
    of the twins (else 0). With `zeros`, since round 35 also ids of digits written in groups of three (`7,007`
    beside `7007`: a spreadsheet's number format on one export; was: two customers each, exit 0)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cases = [letter_cases(t) for t in texts]
    padded = zeros and _padded(texts)
    grouped = zeros and any(pc.any(pc.match_substring_regex(t, GROUPED)).as_py() for t in texts if len(t))
    if not (any(u for u, _ in cases) and any(lo for _, lo in cases)) and not padded and not grouped:
        return 0, [], 0  # ASCII without an upper-case or without a lower-case letter: no two ids fold alike
    if counted:  # the distinct ids with how many values each
        each = pc.value_counts(texts[0])
        distinct, counts = each.field("values").cast(pa.large_string()), each.field("counts")
    else:  # each column's distinct ids, then theirs: no copy of every id of the tables side by side
        uniques = [pc.unique(t).cast(pa.large_string()) for t in texts]
        distinct = pc.drop_null(pc.unique(pa.chunked_array(uniques, type=pa.large_string())))
        counts = pa.nulls(len(distinct), pa.int64())
    folded = pc.utf8_lower(distinct)
    if grouped:  # `7,007` is `7007`, as a spreadsheet's number format wrote it
        marked = pc.match_substring_regex(folded, GROUPED)
        folded = pc.if_else(marked, pc.replace_substring_regex(folded, GROUP_MARKS, ""), folded)
    if padded:  # only ids of digits alone lose their zeros (`C0042` is not `C42`)
        digits = pc.match_substring_regex(folded, r"^\d+$")
        folded = pc.if_else(digits, pc.replace_substring_regex(folded, PADDED, UNPADDED), folded)
    if len(pc.unique(folded)) == len(distinct):
        return 0, [], 0
    frame = pa.table({"id": distinct, "key": folded, "n": counts}).to_pandas()
    twins = frame[frame.duplicated("key", keep=False)]
    first = twins["key"].drop_duplicates().sort_values().head(examples)  # only the groups shown are built
    shown = twins[twins["key"].isin(first)].sort_values(["key", "id"])
    groups = [tuple(g) for _, g in shown.groupby("key", sort=True)["id"]]
    return int(twins["key"].nunique()), groups, int(twins["n"].sum()) if counted else 0


def spelling_key(ids: pd.Series) -> pd.Series:
    """What an id still says once an export has respelled it: letter case folded, and when it holds digits, its
    digits alone without leading zeros (`C001`, `c-001`, `001`, `1`, `1.0` all give `1`). Never used to join:
    only to recognise that two runs name the same customers differently (`pipelines.history`). Unicode's
    compatibility forms are folded first, and every decimal digit read as its ASCII digit: fullwidth `１２３` (an
    East Asian system's export) and Arabic-Indic `١٢٣` spell the id `123`."""
    text = ids.astype("str").str.strip()
    wide = ~text.map(str.isascii, na_action="ignore").fillna(True).astype(bool)
    if wide.any():
        text = text.where(~wide, text[wide].map(ascii_spelling))
    text = text.str.casefold()
    text = text.str.replace(r"\.0+$", "", regex=True)  # `42.0`: a number a spreadsheet or float column wrote
    digits = text.str.replace(r"\D+", "", regex=True).str.lstrip("0")
    has_digits = text.str.contains(r"\d", regex=True)
    return digits.where(~has_digits | (digits != ""), "0").where(has_digits, text)


def respelled_ids(before: pd.Series, after: pd.Series) -> list[tuple[str, str]]:
    """Ids of `before` absent from `after` that `after` holds under another spelling (`spelling_key`), each as
    (before, after); only unambiguous pairs (one id on each side for the key), sorted."""
    old = pd.Index(before.astype("str").unique())
    new = pd.Index(after.astype("str").unique())
    gone, came = old.difference(new), new.difference(old)
    if not len(gone) or not len(came):
        return []
    a = pd.DataFrame({"before": gone, "key": spelling_key(pd.Series(gone)).to_numpy()})
    b = pd.DataFrame({"after": came, "key": spelling_key(pd.Series(came)).to_numpy()})
    a = a[~a["key"].duplicated(keep=False)]
    b = b[~b["key"].duplicated(keep=False)]
    pairs = a.merge(b, on="key").sort_values("before")
    return list(zip(pairs["before"], pairs["after"], strict=True))
