"""`features.id_sets.IdSet`: ids prepared once for many `isin_ids` lookups (issue 14: the pandas engine looked up
each chunk's customers in the 732,572 scored ids of 1M customers, packing and hashing those again for every
chunk). A prepared set answers exactly what the plain ids answer (packed ids by a binary search of the sorted
values, other ids in a pandas index hashed once), and is packed or hashed once however often it is used."""

from __future__ import annotations

import numpy as np
import pandas as pd

import features._engine as engine
from features.id_sets import IdSet
from features.validation import isin_ids


def _ids(rng: np.random.Generator, n: int, pool: list[str | None]) -> pd.Series:
    return pd.Series(rng.choice(np.array(pool, dtype=object), size=n), dtype="str")


def test_a_prepared_set_answers_as_the_plain_ids_and_as_pandas():
    rng = np.random.default_rng(5)
    short = [f"C{i:06d}" for i in range(40)]  # packed as integers
    long = [f"CUSTOMER-{i:09d}" for i in range(40)] + ["é", ""]  # longer than 8 bytes: Arrow text
    for pool in (short, long, short + long):
        for trial in range(10):
            known = pd.Index(_ids(rng, int(rng.integers(1, 30)), pool).dropna().unique(), dtype="str")
            prepared = IdSet(known)
            for _ in range(3):  # the same set again and again, on values with missing ids or not, unsorted
                values = _ids(rng, int(rng.integers(1, 50)), pool + [None] * (trial % 2))
                expected = values.isin(known).to_numpy() & values.notna().to_numpy()
                np.testing.assert_array_equal(isin_ids(values, prepared), expected)
                np.testing.assert_array_equal(isin_ids(values, known), expected)
                np.testing.assert_array_equal(isin_ids(pd.Index(values), prepared), expected)


def test_a_prepared_set_is_packed_once(monkeypatch):
    known = pd.Index([f"C{i:06d}" for i in range(1000)], dtype="str")
    sizes: list[int] = []
    packed = engine._packed_keys

    def counted(col):
        sizes.append(len(col))
        return packed(col)

    monkeypatch.setattr(engine, "_packed_keys", counted)
    prepared = IdSet(known)
    for k in range(5):
        chunk = pd.Index(known[k * 200 : (k + 1) * 200 : 3], dtype="str")
        assert isin_ids(chunk, prepared).all()
    assert sizes.count(len(known)) == 1  # the 1,000 known ids once; each chunk's own ids once per lookup


def test_packed_ids_found_at_the_ends_and_between():
    """The binary search at its edges: values below, at, between and above the known ids, repeated, unsorted."""
    known = pd.Index(["C000010", "C000020", "C000030"], dtype="str")
    values = pd.Series(
        ["C000030", "C000005", "C000010", "C000035", "C000020", "C000015", "C000030", "C000010"], dtype="str"
    )
    expected = values.isin(known).to_numpy()
    assert isin_ids(values, IdSet(known)).tolist() == expected.tolist()
    assert not isin_ids(values, IdSet(pd.Index([], dtype="str"))).any()
    assert isin_ids(values.iloc[:0], IdSet(known)).tolist() == []


def test_a_prepared_set_of_long_ids_is_hashed_once(monkeypatch):
    """Ids that cannot be packed (UUID text), looked up chunk after chunk with missing values among them: the
    answer is pandas' `isin` (missing -> False), and the known ids are hashed once, not at every lookup (was:
    Arrow's `is_in` built its hash set of every known id again for each chunk)."""
    import pyarrow.compute as pc

    rng = np.random.default_rng(7)
    ids = [f"{a:08x}-{b:04x}-4000-8000-{c:012x}" for a, b, c in rng.integers(0, 2**31, size=(3000, 3))]
    known = pd.Index(ids[:2000], dtype="str")
    chunks = [
        pd.Series(rng.choice(np.array(ids + [None] * 50, dtype=object), size=400), dtype="str")
        for _ in "abcde"
    ]
    expected = [values.isin(known).to_numpy() & values.notna().to_numpy() for values in chunks]
    assert all(0 < e.sum() < 400 for e in expected)
    prepared = IdSet(known)
    hashed: list[int] = []
    is_in = pc.is_in

    def counted(values, value_set, **kwargs):
        hashed.append(len(value_set))
        return is_in(values, value_set=value_set, **kwargs)

    monkeypatch.setattr(pc, "is_in", counted)  # pandas' own `isin` on Arrow strings calls it too: not below
    for values, found in zip(chunks, expected, strict=True):
        np.testing.assert_array_equal(isin_ids(values, prepared), found)
        np.testing.assert_array_equal(isin_ids(pd.Index(values), prepared), found)
    assert hashed.count(len(known)) == 0  # never Arrow's set of all known ids at a lookup
