"""The finish's tier columns placed by position (`pipelines.engines.scoring._positions_in`, issue 14): the same
positions as a lookup of every id, whether the tiers come in the scored rows' order (no lookup) or not. The
finish's id order (`id_order`, Arrow's sort): numpy's stable sort of the ids as `str`, the order it replaced."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.engines.scoring import _positions_in, id_order


def ids(n: int) -> pd.Index:
    return pd.Index([f"C{i:05d}" for i in range(n)], dtype="str")


def test_the_scored_rows_in_order_are_placed_without_a_lookup_as_a_lookup_places_them():
    index = ids(1000)
    scored = np.random.default_rng(0).random(1000) < 0.7
    rows = index[scored]
    got = _positions_in(rows, index, scored)
    np.testing.assert_array_equal(got, rows.get_indexer(index))
    assert (got[~scored] == -1).all()


def test_rows_in_another_order_or_other_ids_fall_back_to_the_lookup():
    index = ids(1000)
    scored = np.random.default_rng(1).random(1000) < 0.5
    shuffled = index[scored][np.random.default_rng(2).permutation(int(scored.sum()))]
    np.testing.assert_array_equal(_positions_in(shuffled, index, scored), shuffled.get_indexer(index))
    other = pd.Index([f"X{i}" for i in range(int(scored.sum()))], dtype="str")  # as many rows, other ids
    assert (_positions_in(other, index, scored) == -1).all()
    fewer = index[scored][:-3]
    np.testing.assert_array_equal(_positions_in(fewer, index, scored), fewer.get_indexer(index))


def numpy_order(indexes: list[pd.Index]) -> np.ndarray:
    """The order `finish_scores` took before `id_order`."""
    return np.argsort(
        np.concatenate([ix.to_numpy(dtype=object) for ix in indexes]).astype(str), kind="stable"
    )


def test_the_id_order_is_numpy_s_on_ties_leading_zeros_and_non_ascii_ids():
    # astral characters sort after U+FFFD by code point (UTF-8, numpy), before it in UTF-16
    odd = ["007", "07", "7", "0", "00", "a", "A", "ab", "é", "e\u0301", "中", "\ufffd", "😀", "Z😀"]
    odd.append("Z\ufffd")
    indexes = [
        pd.Index(odd[::-1], dtype="str"),
        pd.Index(odd, dtype=object),  # every id a tie with the part before: kept in part order
        pd.Index([], dtype="str"),
        pd.Index(odd[3:9], dtype=pd.StringDtype("python")),
    ]
    got = id_order(indexes)
    np.testing.assert_array_equal(got, numpy_order(indexes))
    ids = np.concatenate([ix.to_numpy(dtype=object) for ix in indexes])
    assert list(ids[got][:6]) == ["0", "0", "0", "00", "00", "00"]
    assert list(ids[got][-4:]) == ["\ufffd", "\ufffd", "😀", "😀"]


def test_the_id_order_is_numpy_s_on_many_random_ids_in_uneven_parts():
    rng = np.random.default_rng(3)
    alphabet = list("0123456789AZaz_-.") + ["é", "ß", "中", "😀", "\ufffd"]
    ids = ["".join(rng.choice(alphabet, size=rng.integers(1, 6))) for _ in range(20_000)]  # many ties
    cuts = np.sort(rng.choice(20_000, size=7, replace=False))
    indexes = [pd.Index(part, dtype="str") for part in np.split(np.array(ids, dtype=object), cuts)]
    np.testing.assert_array_equal(id_order(indexes), numpy_order(indexes))
