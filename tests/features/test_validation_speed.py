"""The vectorised input checks (issue 14) say exactly what the per-value Python checks said.

`features.validation` finds blanks and surrounding whitespace with Arrow kernels and matches ids against the known
customers with packed integers (or one Arrow hash pass); these tests pin them to the Python definitions they
replaced: `re.fullmatch(r"\\s*", v)`, `re.search(r"^\\s|\\s$", v)` + `str.strip`, and `Series.isin`.
"""

from __future__ import annotations

import re
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from features.schemas import key_is_unique
from features.text import blank as _blank
from features.text import clean_text as _clean_text
from features.validation import isin_ids


def _every_character() -> list[str]:
    return [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]


def _text(*parts: pa.Array) -> pd.Series:
    """One `str` Series of Arrow arrays, built without a Python object per value (3.3M values)."""
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(parts, type=pa.large_string())), dtype="str")


def _joined(*parts: pa.Array | str) -> pa.Array:
    """Each row's parts concatenated (a str part is the same in every row): `f"{a}{b}"` row by row, in Arrow."""
    scalars = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*scalars, pa.scalar("", pa.large_string()))


def test_blank_is_pythons_whitespace_for_every_code_point():
    chars = _every_character()
    one = pa.array(chars, type=pa.large_string())
    values = _text(pa.array(["", None], type=pa.large_string()), one, _joined(one, one), _joined("a", one))
    # Python's definition on every code point; `c + c` fullmatches `\s*` exactly when `c` does, `"a" + c` never
    space = np.array([re.fullmatch(r"\s*", c) is not None for c in chars])
    expected = np.concatenate([[True, True], space, space, np.zeros(len(chars), dtype=bool)])
    got = _blank(values)
    assert len(got) == len(expected) and got.dtype == bool
    assert (got.to_numpy() == expected).all(), [
        v for v, e in zip(values[got != expected], expected, strict=False)
    ][:5]


def test_clean_text_strips_what_python_strips_for_every_code_point():
    chars = _every_character()
    one = pa.array(chars, type=pa.large_string())
    around, inside = _joined(one, "x", one, "y", one), _joined("x", one, "y")
    # `str.strip` on `c x c y c` removes both outer `c` exactly when `c.strip() == ""`; `x c y` stays as it is
    stripped = np.array([c.strip() == "" for c in chars])
    expected = pa.concat_arrays([pc.if_else(stripped, inside, around), inside])
    got = _clean_text(_text(around, inside))
    arr = pa.array(got.array)  # chunked when the input was
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    assert len(arr) == len(expected) and arr.cast(pa.large_string()).equals(expected)
    # nothing to strip: the same strings come back
    plain = pd.Series(["a b", "c"], dtype="str")
    assert _clean_text(plain).tolist() == ["a b", "c"]


@pytest.mark.parametrize("width", [3, 8, 9, 20])  # packed integers up to 8 bytes, Arrow hashing above
def test_isin_matches_pandas_isin(width):
    rng = np.random.default_rng(width)
    pool = [f"C{i:0{width - 1}d}" for i in rng.choice(10**6, size=400, replace=False)]
    known = pd.Index(pool[:150], dtype="str")
    values = pd.Series([*rng.choice(pool, size=1000), None, "é", ""], dtype="str")
    expected = (values.isin(known) & values.notna()).to_numpy()
    assert (isin_ids(values, known) == expected).all()
    assert not isin_ids(values, pd.Index([], dtype="str")).any()


def test_key_is_unique():
    assert key_is_unique(pd.Series(["a", "b", None], dtype="str"))
    assert not key_is_unique(pd.Series(["a", "b", "a"], dtype="str"))
    assert key_is_unique(pd.Series(["a", None, None], dtype="str"))  # missing keys are rejected elsewhere
    assert not key_is_unique(pd.Series([1.0, 2.0, 1.0]))


# fixed-width ids up to 16 bytes go through the mixed numbers, longer ones straight to the exact pass
@pytest.mark.parametrize("width", [1, 9, 16, 17])
def test_key_is_unique_fixed_width_ids(width, monkeypatch):
    ids = [f"O{i:0{width - 1}d}" if width > 1 else chr(65 + i) for i in range(20)]
    assert key_is_unique(pd.Series(ids, dtype="str"))
    assert not key_is_unique(pd.Series([*ids, ids[7]], dtype="str"))
    assert not key_is_unique(pd.Series([*ids, None, ids[0]], dtype="str"))  # a missing key: the exact pass
    # Two distinct ids that mix to the same number do not make a unique key look duplicated: the exact pass
    # decides whenever the numbers are not all distinct.
    import features.schemas as schemas

    monkeypatch.setattr(schemas, "_fixed_width_hashes", lambda arr: np.zeros(len(arr), dtype=np.uint64))
    assert key_is_unique(pd.Series(ids, dtype="str"))
    assert not key_is_unique(pd.Series([*ids, ids[3]], dtype="str"))


def test_isin_ids_on_a_chunk_index():
    """The scoring chunks select their own customers from a feature table's index with `isin_ids`."""
    index = pd.Index(["C01", "C02", "C10", "C11"], dtype="str", name="customer_id")
    own = np.array(["C02", "C11", "C99"], dtype=object)
    assert isin_ids(index, own).tolist() == [False, True, False, True]


def test_validated_numbers_and_dates_share_the_raw_buffers():
    """Issue 14, the loading peak: a column that validation leaves unchanged (a Parquet float or date) is not
    copied, so the raw and the validated tables are not two copies side by side. Copy-on-write keeps them
    independent: writing to the validated table leaves the raw one as read."""
    from features.contract import TABLES
    from features.validation import _validate_table

    raw = pd.DataFrame(
        {
            "order_id": pd.Series(["o1", "o2", "o3"], dtype="str"),
            "customer_id": pd.Series(["c1", "c1", "c2"], dtype="str"),
            "ordered_at": pd.to_datetime(["2024-01-02", "2024-02-03", "2024-03-04"]).astype("datetime64[ns]"),
            "revenue": [10.0, 20.0, 30.0],
        }
    )
    orders = _validate_table(TABLES["orders"], raw, "UTC")[0]  # the table's own checks: no pandera import
    for col in ("ordered_at", "revenue"):
        assert np.shares_memory(orders[col].to_numpy(), raw[col].to_numpy()), col
    orders.loc[0, "revenue"] = -1.0
    assert raw["revenue"].tolist() == [10.0, 20.0, 30.0]


def test_the_returns_rule_reads_only_the_accepted_orders_a_return_names(monkeypatch):
    """Issue 14: the rule on returns of another customer's order indexed every accepted order (all columns, ids as
    Python objects): the loading peak at 1M. It is handed only the accepted orders some return names, in their
    order, and rejects the same returns."""
    import features.return_checks as return_checks
    from features.validation import validate_tables

    n = 100
    order_ids = ["o0", "o1", "o2", "o1", "o3", *(f"f{i}" for i in range(n))]
    orders = pd.DataFrame(
        {
            "order_id": order_ids,
            "customer_id": ["c1", "c2", "c1", "c1", "c2", *(["c3"] * n)],
            "ordered_at": ["2023-01-02"] * len(order_ids),
            "revenue": ["10", "10", "10", "10", "abc", *(["10"] * n)],  # o3 rejected, and the second o1
        }
    )
    returns = pd.DataFrame(
        {
            "return_id": ["r1", "r2", "r3", "r4", "r5"],
            "customer_id": ["c1"] * 5,
            "order_id": ["o0", "o1", "o3", "o2", None],
            "returned_at": ["2023-01-06"] * 5,
            "amount": ["5", "5", "5", "11", "5"],
        }
    )
    seen: list[pd.DataFrame] = []
    rule = return_checks.reject_order_mismatches

    def spy(r, o, rej):
        seen.append(o)
        return rule(r, o, rej)

    monkeypatch.setattr(return_checks, "reject_order_mismatches", spy)
    res = validate_tables({"orders": orders, "returns": returns})
    assert seen[0]["order_id"].tolist() == ["o0", "o1", "o2"]  # was: all 103 accepted orders
    assert res.tables["returns"]["return_id"].tolist() == ["r1", "r3", "r5"]
    assert dict(zip(res.rejects["returns"]["return_id"], res.rejects["returns"]["reason"], strict=True)) == {
        "r2": return_checks.FOREIGN_ORDER,  # o1 is c2's
        "r4": return_checks.ABOVE_ORDER,
    }
    assert res.rejects["orders"]["source_row"].tolist() == [3, 4]  # the rejected rows, numbered in the input
    assert res.rejects["orders"]["order_id"].tolist() == ["o1", "o3"]


def test_id_placeholder_and_scientific_prefilters_match_the_kernels_they_skip():
    """`placeholder_ids` lower-cases only the ids that may be a placeholder and `scientific_ids` looks for `+` in
    the bytes (issue 14; `E+` until `1.2345678901234568e+16` joined it): same masks as Arrow's kernels over every id, on sliced chunks with missing values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from features.ids import PLACEHOLDER_IDS, holding_bytes, placeholder_ids

    chars = ["", "E", "+", "e", "n", "N", "u", "U", "#", "/", "a", "İ", "ñ", "K", "0", "1", "."]
    rng = np.random.default_rng(0)
    words = [*PLACEHOLDER_IDS, "NULL", "N/A", "NİL", "Undefined", "1.2E+11", "xE", "+y"]
    words += ["".join(rng.choice(chars, size=rng.integers(0, 5))) for _ in range(3000)]
    chunks = [pa.array(["xE", "+y", None, *words[i : i + 700]]).slice(1) for i in range(0, len(words), 700)]
    arr = pa.chunked_array(chunks)
    ids = pd.Series(arr.to_pylist(), dtype="str")
    arr = pa.array(ids.array)  # what the checks read
    lowered = pc.utf8_lower(arr)
    expected = np.asarray(pc.fill_null(pc.is_in(lowered, value_set=pa.array(PLACEHOLDER_IDS)), False))
    assert (placeholder_ids(ids) == expected).all() and expected.sum() >= len(PLACEHOLDER_IDS)
    for a in (arr, pa.chunked_array(chunks)):
        for needle in ("E+", "+"):
            expected = np.asarray(pc.fill_null(pc.match_substring(a, needle), False))
            assert (holding_bytes(a, needle.encode()) == expected).all() and expected.sum() > 0


def test_isolated_early_dates_short_cut_finds_what_the_partition_found():
    """The two-pass short cut of `isolated_early_dates` (no partition when k + 1 dates lie within the gap of the
    earliest) marks the same rows as sorting the k + 1 earliest did, on columns with and without mistyped years."""
    from features.dates import EARLY_GAP_YEARS, EARLY_SHARE, isolated_early_dates

    def by_partition(values: pd.Series, ok: np.ndarray) -> np.ndarray:  # the code before the short cut
        dated = values.notna().to_numpy() & ok
        out = np.zeros(len(values), dtype=bool)
        if dated.sum() < 100:
            return out
        at = np.flatnonzero(dated)
        stamps = values.to_numpy()[at].astype("datetime64[ns]")
        k = max(1, int(EARLY_SHARE * len(at)))
        first = np.sort(np.partition(stamps, k)[: k + 1])
        gaps = np.diff(first) >= np.timedelta64(int(EARLY_GAP_YEARS * 365.25), "D")
        if gaps.any():
            out[at[stamps <= first[int(np.flatnonzero(gaps)[-1])]]] = True
        return out

    rng = np.random.default_rng(7)
    base = np.datetime64("2020-01-01", "ns")
    for case in range(40):
        n = int(rng.integers(100, 5000))
        days = rng.integers(0, 1500, size=n)
        early = int(rng.integers(0, 8))  # 0 to 7 rows decades (or just under five years) earlier
        days[:early] -= rng.choice([1000, 1826, 1827, 20000, 36500], size=early)
        values = pd.Series(base + days.astype("timedelta64[D]"))
        values[rng.random(n) < 0.05] = pd.NaT
        ok = rng.random(n) < 0.97
        got, want = isolated_early_dates(values, ok), by_partition(values, ok)
        assert np.array_equal(got, want), case


def _total_lines_everywhere(values: pd.Series, is_id: bool) -> np.ndarray:
    """`features.ids.total_lines` as it was before its prefilter: every value lower-cased and matched."""
    from features.ids import _TOTAL_ID, _TOTAL_LABEL

    arr = pc.utf8_lower(pa.array(values.astype("str").array))
    pattern = f"(?:{_TOTAL_LABEL.removeprefix('(?i)')})" + (
        f"|{_TOTAL_ID.removeprefix('(?i)')}" if is_id else ""
    )
    return np.asarray(pc.fill_null(pc.match_substring_regex(arr, f"^(?:{pattern})"), False), dtype=bool)


def test_total_lines_prefilter_finds_what_matching_every_value_found():
    """Issue 14: `total_lines` matches only the values whose first two bytes (or a space, in an id) can begin a
    label, each distinct one once: same mask as lower-casing and matching every value, on sliced chunks with
    missing values, labels in any case, the letters that lower-case to ASCII (`İ`, the Kelvin sign) and `ſ`."""
    from features.ids import total_lines

    labels = [
        "total",
        "TOTAL",
        "Totals:",
        "sum",
        "Summe",
        "Gesamtergebnis",
        "İnsgesamt",
        "ſum",
        "totaal",
        "Totale",
    ]
    labels += [
        "Total Général",
        "totale generale",
        "Grand Total",
        "grand-total",
        "Sub total",
        "subtotal:",
        "All",
    ]
    labels += [
        "c1 Total",
        "C0042 Count",
        "x average:",
        "a Ergebnis",
        "Total Energies",
        "Sum Ltd",
        "\u212aall",
    ]
    labels += ["I00042", "T0001", "South", "sales_rep", "", " total", "c1  total", "c1\ttotal", "total\n"]
    chars = [
        "a",
        "A",
        "t",
        "T",
        "s",
        "S",
        "g",
        "i",
        "n",
        "İ",
        "ſ",
        "\u212a",
        " ",
        "-",
        ":",
        "o",
        "l",
        "u",
        "é",
        "1",
    ]
    rng = np.random.default_rng(3)
    words = [*labels, *("".join(rng.choice(chars, size=rng.integers(0, 7))) for _ in range(6000))]
    words += [str(rng.choice(["", "c1 ", "grand ", "sub-"])) + str(rng.choice(labels)) for _ in range(2000)]
    chunks = [
        pa.array(["x", "y", None, *words[i : i + 900]], pa.large_string()).slice(2)
        for i in range(0, len(words), 900)
    ]
    values = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(chunks)), dtype="str")
    for is_id in (True, False):
        expected = _total_lines_everywhere(values, is_id)
        assert (total_lines(values, is_id) == expected).all() and expected.sum() > 100


def test_only_two_characters_lower_case_to_ascii_from_outside_it():
    """The premise of `total_lines`' prefilter: a value whose first byte is not ASCII is always a candidate, and
    no other character lower-cases (Arrow's `utf8_lower`) to one of the ASCII letters a label begins with."""
    chars = [chr(c) for c in range(0x80, sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    lowered = pc.utf8_lower(pa.array(chars)).to_pylist()
    assert {c: low for c, low in zip(chars, lowered, strict=True) if low.isascii()} == {
        "\u0130": "i",
        "\u212a": "k",
    }


def test_total_lines_lower_cases_only_the_values_that_may_be_a_label(monkeypatch):
    """Issue 14: 8 substring searches over every lower-cased id were a third of the row checks at 250k. An id
    column of invoice ids and a category column of regions lower-case a handful of distinct values, not every one."""
    import features.ids as ids

    seen: list[int] = []
    lower = pc.utf8_lower
    monkeypatch.setattr(pc, "utf8_lower", lambda arr, *a, **k: seen.append(len(arr)) or lower(arr, *a, **k))
    invoices = pd.Series([f"I{i:06d}" for i in range(5000)] + ["Total"], dtype="str")
    regions = pd.Series(["South", "North", "International", "Sum"] * 1000, dtype="str")
    assert np.flatnonzero(ids.total_lines(invoices, True)).tolist() == [5000]
    assert np.flatnonzero(ids.total_lines(regions, False)).tolist() == [3 + 4 * i for i in range(1000)]
    assert sum(seen) <= 4, seen  # was 5,001 + 4,000


@pytest.mark.parametrize("alphabet", ["C0123456789", "O0=+'E-.nNuU#", "a b\t=E+\u200b\u00e9#\x7f"])
def test_checks_proven_from_the_bytes_find_what_every_value_finds(alphabet):
    """Issue 14: the checks of an id column read its bytes once (`TextBytes`: the smallest and largest byte, the
    first two bytes of each value) and skip what those prove absent: same masks as Python over every value, on
    sliced chunks with missing and empty values, with and without the shared bytes."""
    from features.ids import _INVISIBLE, _SCIENTIFIC_IDS, invisible_in_ids, scientific_ids, spreadsheet_ids
    from features.text import TextBytes, empty_strings, first_bytes

    rng = np.random.default_rng(len(alphabet))
    words = ["".join(rng.choice(list(alphabet), size=rng.integers(0, 6))) for _ in range(4000)]
    words += ["1E+11", "=A1", "'007", ""]
    chunks = [
        pa.array(["zz", None, *words[i : i + 700]], pa.large_string()).slice(1)
        for i in range(0, len(words), 700)
    ]
    values = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(chunks)), dtype="str")
    py = [None if v is pd.NA or v is None or v != v else v for v in values.array.to_numpy(dtype=object)]
    text = TextBytes(values)
    for pos in (0, 1):
        expected = [v.encode()[pos] if v is not None and len(v.encode()) > pos else 0 for v in py]
        assert first_bytes(text.arr, pos).tolist() == expected
    assert [bool(e) for e, v in zip(empty_strings(text.arr), py, strict=True) if v is not None] == [
        v == "" for v in py if v is not None
    ]
    rules = {
        _blank: lambda v: v is None or re.fullmatch(r"\s*", v) is not None,
        spreadsheet_ids: lambda v: v is not None and v.startswith(("=", "'")),
        scientific_ids: lambda v: v is not None and re.fullmatch(_SCIENTIFIC_IDS.strip("^$"), v) is not None,
        invisible_in_ids: lambda v: (
            v is not None and re.search(r"[\x00-\x1f\x7f-\x9f\u200b\ufeff]", v) is not None
        ),
    }
    assert (
        _INVISIBLE == r"[\p{Cc}\p{Cf}]"
    )  # the Python pattern above covers the alphabets' Cc and Cf characters
    for rule, by_value in rules.items():
        expected = [by_value(v) for v in py]
        assert np.asarray(rule(values)).tolist() == expected, rule.__name__
        assert np.asarray(rule(values, text)).tolist() == expected, rule.__name__


def test_positions_in_is_get_indexer():
    from features.ids import positions_in

    keys = pd.Index(["o1", "o2", "é", "", "O1"], dtype="str")
    values = pd.Series(["o2", None, "x", "", "é", "o1", "O1", "o1 "], dtype="str")
    assert (
        positions_in(values, keys).tolist()
        == keys.get_indexer(values).tolist()
        == [1, -1, -1, 3, 2, 0, 4, -1]
    )
    assert positions_in(values, keys.to_numpy()).tolist() == keys.get_indexer(values).tolist()
    assert positions_in(pd.Series([1.0, 2.0, None]), pd.Index([2.0])).tolist() == [-1, 0, -1]  # not text


def test_the_returns_rules_look_up_their_orders_without_python_strings(monkeypatch):
    """Issue 14: the three lookups of the returns' `order_id` among the orders went through pandas'
    `Index.get_indexer`, which turns every text id into a Python object (a third of a second each at 1M). Same
    rejects, and no text lookup through pandas left in the validation of orders and returns."""
    import features.return_checks as return_checks
    from features.validation import validate_tables

    looked_up: list[str] = []
    get_indexer = pd.Index.get_indexer

    def spy(self, target, *args, **kwargs):
        if isinstance(self.dtype, pd.StringDtype):
            looked_up.append(str(self.name))
        return get_indexer(self, target, *args, **kwargs)

    monkeypatch.setattr(pd.Index, "get_indexer", spy)
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3"],
            "customer_id": ["c1", "c2", "c1"],
            "ordered_at": ["2023-01-02", "2023-01-03", "2023-01-04"],
            "revenue": ["10", "10", "10"],
        }
    )
    returns = pd.DataFrame(
        {
            "return_id": ["r1", "r2", "r3", "r4", "r5"],
            "customer_id": ["c1", "c1", "c1", "c1", "c1"],
            "order_id": ["o1", "o2", "o3", "o3", "o9"],
            "returned_at": ["2023-01-06", "2023-01-06", "2023-01-06", "2023-01-07", "2023-01-06"],
            "amount": ["5", "5", "6", "6", "5"],
        }
    )
    res = validate_tables({"orders": orders, "returns": returns})
    assert dict(zip(res.rejects["returns"]["return_id"], res.rejects["returns"]["reason"], strict=True)) == {
        "r2": return_checks.FOREIGN_ORDER,
        "r4": return_checks.BEYOND_ORDER,
    }
    assert looked_up == []


def test_isolated_early_dates_judges_the_usual_column_without_copying_it():
    """Issue 14: the short cut of `isolated_early_dates` copied the dated rows' dates three times (their positions,
    the gather, a conversion to the unit they already had): 0.5 CPU-s at 1M customers. The usual column (no year
    apart) is judged with masks over the column itself: what it allocates stays under 4 bytes a row (was 24)."""
    import tracemalloc

    from features.dates import isolated_early_dates

    n = 1_000_000
    days = np.random.default_rng(0).integers(0, 1500, size=n).astype("timedelta64[D]")
    values = pd.Series(np.datetime64("2020-01-01", "ns") + days)
    values[::50] = pd.NaT
    ok = np.ones(n, dtype=bool)
    tracemalloc.start()
    try:
        found = isolated_early_dates(values, ok)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not found.any() and peak < 4 * n, peak


def test_isin_ids_looks_short_ids_up_in_arrows_set(monkeypatch):
    """Issue 14: the short ids packed as integers are looked up in one Arrow hash set (half the time of pandas'
    `get_indexer` on their distinct values: 9.4M orders' customers in 0.36 s instead of 0.70 s); same mask."""

    def refused(*args, **kwargs):
        raise AssertionError("pandas' get_indexer")

    monkeypatch.setattr(pd.Index, "get_indexer", refused)
    values = pd.Series(["C01", "C02", "C03", "C01", "C9"], dtype="str")
    known = pd.Index(["C01", "C03", "C01", "C7"], dtype="str")  # duplicates in the known ids are harmless
    assert isin_ids(values, known).tolist() == [True, False, True, True, False]


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
def test_impossible_dates_proven_by_the_extremes_are_the_comparisons(unit):
    """Issue 14: a date column in range is proven so by its earliest and latest date; the rows marked are those of
    the four comparisons it replaced, at the edges, with missing dates, in every unit a column may arrive in."""
    from features.dates import MAX_DATE, MIN_DATE, impossible_dates

    columns = [
        ["2020-01-01", None],
        [None, None],
        ["1899-12-31T23:59:59", "2020-01-01"],
        ["2100-01-01", None],
        ["2099-12-31T23:59:59", "1900-01-01"],
        ["1000-01-01", "5000-01-01", None],
    ]
    for values in columns:
        t = pd.Series(np.array([v or "NaT" for v in values], dtype=f"datetime64[{unit}]"))
        expected = (t.notna() & ((t < MIN_DATE) | (t >= MAX_DATE))).tolist()
        assert impossible_dates(t).tolist() == expected, values


def test_repeated_rows_narrowed_column_by_column_are_duplicated_keep_false():
    """Issue 14 (seventeenth part): the rows sharing a time are compared column by column on the rows still equal
    so far (`features.keys._equal_rows`), not copied and hashed whole; the same mask as `duplicated(keep=False)`,
    a missing value equal to a missing one, -0.0 to 0.0, a missing bool to a missing bool."""
    from features.keys import _equal_rows

    rng = np.random.default_rng(7)
    n = 4_000
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series(rng.choice(["C1", "C2", "C3", None], n), dtype="str"),
            "at": pd.to_datetime(rng.choice([0, 1, 2], n) * 10**9),
            "revenue": rng.choice([0.0, -0.0, 1.5, np.nan], n),
            "promo": pd.array(rng.choice([True, False, None], n), dtype="boolean"),
            "channel": pd.Series(rng.choice(["web", "shop", ""], n), dtype="str"),
        }
    )
    rows = np.sort(rng.choice(n, 1_500, replace=False))
    columns = list(frame.columns)
    expected = frame.iloc[rows].duplicated(columns, keep=False).to_numpy()
    assert 0 < expected.sum() < len(rows)
    assert _equal_rows(frame, rows, columns).tolist() == expected.tolist()
    unique = pd.DataFrame({"a": pd.Series(["x", "y", "z"], dtype="str"), "b": [1.0, 1.0, 1.0]})
    assert not _equal_rows(unique, np.arange(3), ["a", "b"]).any()


def test_decimal_ids_proven_absent_from_the_bytes(monkeypatch):
    """Issue 14 (seventeenth part): ids without a `.` byte (`C000042`: 0x30 and up) are proven free of `42.0` by
    the bytes' extremes, without a substring search over every id (twice per id column: 1.2 CPU-s at 1M)."""
    from features import ids as ids_module

    real = pc.match_substring
    monkeypatch.setattr(
        pc, "match_substring", lambda *a, **k: (_ for _ in ()).throw(AssertionError("searched"))
    )
    assert not ids_module.decimal_ids(pd.Series(["C000042", "C1", None], dtype="str")).any()
    monkeypatch.setattr(pc, "match_substring", real)
    found = ids_module.decimal_ids(pd.Series(["42.0", "42", None, "4.2", "-7.00"], dtype="str"))
    assert found.tolist() == [True, False, False, False, True]


def test_row_conventions_judged_only_when_enough_rows_are_rejected(monkeypatch):
    """Issue 14 (seventeenth part): a clean table's reasons are not made a Series and compared per convention
    (0.2 s per 1M rows): no convention can fire on fewer rejects than half the table. Most rows swapped still
    stop the run."""
    from features import validation
    from features.errors import StructuralError

    calls = []
    real = validation.check_row_conventions
    monkeypatch.setattr(validation, "check_row_conventions", lambda *a: calls.append(a[0]) or real(*a))
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"T{i}" for i in range(6)],
            "customer_id": ["C1"] * 6,
            "opened_at": ["2024-01-02"] * 6,
            "closed_at": ["2024-01-03"] * 5 + ["2024-01-01"],
            "kind": ["billing"] * 6,
            "effort_minutes": ["5"] * 6,
        }
    )
    orders = pd.DataFrame(
        {"order_id": ["O1"], "customer_id": ["C1"], "ordered_at": ["2024-01-01"], "revenue": ["5"]}
    )
    result = validation.validate_tables({"orders": orders, "tickets": tickets})
    assert result.report["tickets"].rejected == 1 and calls == []
    swapped = tickets.assign(closed_at=["2024-01-01"] * 6)
    with pytest.raises(StructuralError, match="closed_at before opened_at"):
        validation.validate_tables({"orders": orders, "tickets": swapped})
    assert calls == ["tickets"]


@pytest.mark.parametrize("in_time_order", [True, False])
def test_repeated_rows_are_the_timed_rows_duplicated_in_every_column_but_the_key(in_time_order):
    """`features.keys.repeated_rows` (grouped by time without a sort when the rows are in time order, issue 14)
    marks the accepted rows with a time of day equal to another such row in every column but the key."""
    from features.keys import repeated_rows

    rng = np.random.default_rng(3)
    n = 3_000
    seconds = np.sort(rng.choice([0, 86_400, 86_400 + 60, 2 * 86_400 + 5], n))
    orders = pd.DataFrame(
        {
            "order_id": pd.Series([f"O{i}" for i in range(n)], dtype="str"),
            "customer_id": pd.Series(rng.choice(["C1", "C2", None], n), dtype="str"),
            "ordered_at": pd.to_datetime(seconds * 10**9),
            "revenue": rng.choice([*np.arange(60.0), np.nan], n),
        }
    )
    if not in_time_order:
        orders = orders.sample(frac=1.0, random_state=1).reset_index(drop=True)
    ok = rng.random(n) > 0.1
    timed = ok & (orders["ordered_at"].dt.normalize() != orders["ordered_at"]).to_numpy()
    expected = np.zeros(n, dtype=bool)
    expected[timed] = (
        orders[timed].duplicated(["customer_id", "ordered_at", "revenue"], keep=False).to_numpy()
    )
    assert 0 < expected.sum() < timed.sum()
    assert repeated_rows("orders", orders, ok).tolist() == expected.tolist()
