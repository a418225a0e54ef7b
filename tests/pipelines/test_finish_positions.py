"""The finish's tier columns placed by position (`pipelines.engines.scoring._positions_in`, issue 14): the same
positions as a lookup of every id, whether the tiers come in the scored rows' order (no lookup) or not."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.engines.scoring import _positions_in


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
