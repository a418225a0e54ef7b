"""The numba kernels of the TreeSHAP explainer (`models.treeshap`, whose docstring gives the formula): the
per-leaf pattern tables, LightGBM's split decision, the table-less leaf and the row-block pass over a flattened forest
(`models.treeshap_forest`). Compiled once and cached per user (:func:`use_user_numba_cache`)."""

from __future__ import annotations

import os

import numba
import numpy as np

# LightGBM's kZeroThreshold is the float literal 1e-35f widened to double.
_ZERO_THRESHOLD = float(np.float32(1e-35))


def use_user_numba_cache() -> str:
    """Keep numba's compiled kernels in a per-user cache that survives between runs; return that directory.

    numba's default (`cache=True`) writes next to this file in `__pycache__/`, and silently compiles afresh on
    every run when that directory is read-only (a system or container install). Unless the user chose a place
    (`NUMBA_CACHE_DIR`), the cache goes to `$XDG_CACHE_HOME/cvp/numba` (default `~/.cache/cvp/numba`). Must run
    before the kernels below are decorated: the cache location is fixed when a `cache=True` function is created.
    """
    chosen = os.environ.get("NUMBA_CACHE_DIR")
    if not chosen:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        chosen = os.path.join(base, "cvp", "numba")
        # numba re-reads its settings from the environment when it compiles: keep both in step
        os.environ["NUMBA_CACHE_DIR"] = chosen
    numba.config.CACHE_DIR = chosen  # numba may have been imported (read its settings) before this module
    return chosen


NUMBA_CACHE_DIR = use_user_numba_cache()


@numba.njit(cache=True, nogil=True)
def _shapley_weights(d: int, out: np.ndarray) -> None:
    """``out[s] = s! (d-1-s)! / d!`` for ``s < d``, by a ratio recurrence (no factorial overflow)."""
    out[0] = 1.0 / d
    for s in range(d - 1):
        out[s + 1] = out[s] * (s + 1) / (d - 1 - s)


@numba.njit(cache=True, nogil=True)
def _fill_leaf_table(d: int, z: np.ndarray, value: float, table: np.ndarray) -> None:
    """Write the leaf's ``2**d x d`` contribution table (row = satisfaction pattern bitmask over slots)."""
    n_masks = 1 << d
    w = np.empty(d)
    _shapley_weights(d, w)
    # esp[m, t]: elementary symmetric polynomial of degree t of the z in mask m (all terms positive: stable).
    esp = np.zeros((n_masks, d + 1))
    size = np.zeros(n_masks, dtype=np.int64)
    esp[0, 0] = 1.0
    for m in range(1, n_masks):
        k = 0
        while not (m >> k) & 1:
            k += 1
        prev = m ^ (1 << k)
        c = size[prev] + 1
        size[m] = c
        esp[m, 0] = 1.0
        for t in range(1, c + 1):
            esp[m, t] = esp[prev, t] + z[k] * esp[prev, t - 1]
    g = np.zeros(n_masks)
    for m in range(n_masks):
        q = size[m]
        if q < d:
            acc = 0.0
            for t in range(q + 1):
                acc += w[q - t] * esp[m, t]
            g[m] = acc
    zc = np.empty(n_masks)
    zc[n_masks - 1] = 1.0
    for m in range(n_masks - 2, -1, -1):
        k = 0
        while (m >> k) & 1:
            k += 1
        zc[m] = zc[m | (1 << k)] * z[k]
    for m in range(n_masks):
        base = m * d
        neg = -value * zc[m] * g[m]
        for j in range(d):
            bit = 1 << j
            if m & bit:
                table[base + j] = value * (1.0 - z[j]) * zc[m] * g[m ^ bit]
            else:
                table[base + j] = neg


def _build_tables_impl(
    leaf_ids: np.ndarray,
    leaf_d: np.ndarray,
    leaf_table_off: np.ndarray,
    leaf_slot_off: np.ndarray,
    slot_z: np.ndarray,
    leaf_value: np.ndarray,
    tables: np.ndarray,
) -> None:
    for i in range(leaf_ids.size):
        leaf = leaf_ids[i]
        d = leaf_d[leaf]
        off = leaf_table_off[leaf]
        so = leaf_slot_off[leaf]
        _fill_leaf_table(d, slot_z[so : so + d], leaf_value[leaf], tables[off : off + (1 << d) * d])


@numba.njit(cache=True, nogil=True, inline="always")
def _goes_left(
    value: float,
    threshold: float,
    kind: int,
    special_left: int,
    cat_off: int,
    cat_len: int,
    cat_member: np.ndarray,
) -> np.int64:
    """LightGBM's ``Tree::Decision`` for one split: 1 = left child, 0 = right child."""
    if kind == 2:
        # NaN and negative codes go right; codes are truncated toward zero like static_cast<int>.
        if np.isnan(value) or value <= -1.0 or value >= cat_len:
            return np.int64(0)
        return np.int64(cat_member[cat_off + int(value)])
    # Branch-free on the data: the threshold comparison is unpredictable, so select instead of jumping.
    special = np.int64(value != value) | (
        np.int64(kind == 1) & np.int64(value >= -_ZERO_THRESHOLD) & np.int64(value <= _ZERO_THRESHOLD)
    )
    return (special & np.int64(special_left)) | ((1 - special) & np.int64(value <= threshold))


@numba.njit(cache=True, nogil=True)
def _leaf_direct(
    d: int,
    z: np.ndarray,
    ones: np.ndarray,
    value: float,
    w: np.ndarray,
    esp: np.ndarray,
    esp_wo: np.ndarray,
    phi: np.ndarray,
) -> None:
    """One leaf's contributions for one row without a table, in O(d**2) (same formula as the tables).

    `w` holds the Shapley weights of `d` (`_shapley_weights`); writes slot s's contribution to `phi[s]`.
    """
    q = 0
    zc = 1.0
    esp[0] = 1.0
    for s in range(d):
        if ones[s]:
            q += 1
            esp[q] = 0.0
            for t in range(q, 0, -1):
                esp[t] += z[s] * esp[t - 1]
        else:
            zc *= z[s]
    neg = 0.0
    if q < d:
        acc = 0.0
        for t in range(q + 1):
            acc += w[q - t] * esp[t]
        neg = -value * zc * acc
    for s in range(d):
        if ones[s]:
            # Divide (1 + z_s x) out of the generating polynomial: the unwind step of TreeSHAP.
            esp_wo[0] = 1.0
            for t in range(1, q):
                esp_wo[t] = esp[t] - z[s] * esp_wo[t - 1]
            acc = 0.0
            for t in range(q):
                acc += w[q - 1 - t] * esp_wo[t]
            phi[s] = value * (1.0 - z[s]) * zc * acc
        else:
            phi[s] = neg


def _explain_impl(
    x: np.ndarray,
    out: np.ndarray,
    pred: np.ndarray,
    block: int,
    tree_int_off: np.ndarray,
    tree_n_int: np.ndarray,
    tree_leaf_off: np.ndarray,
    tree_n_leaf: np.ndarray,
    tree_fallback: np.ndarray,
    tree_row_path: np.ndarray,
    node_feature: np.ndarray,
    node_threshold: np.ndarray,
    node_kind: np.ndarray,
    node_special_left: np.ndarray,
    node_cat_off: np.ndarray,
    node_cat_len: np.ndarray,
    cat_member: np.ndarray,
    node_left: np.ndarray,
    node_right: np.ndarray,
    node_bit: np.ndarray,
    leaf_value: np.ndarray,
    leaf_d: np.ndarray,
    leaf_table_off: np.ndarray,
    leaf_slot_off: np.ndarray,
    slot_feature: np.ndarray,
    slot_z: np.ndarray,
    leaf_path_off: np.ndarray,
    leaf_path_len: np.ndarray,
    path_node: np.ndarray,
    path_slot: np.ndarray,
    path_left: np.ndarray,
    tables: np.ndarray,
    max_int: int,
    max_d: int,
) -> None:
    n_rows = x.shape[0]
    n_trees = tree_int_off.size
    n_blocks = (n_rows + block - 1) // block
    for b in range(n_blocks):
        r0 = b * block
        r1 = min(n_rows, r0 + block)
        nb = r1 - r0
        n_features = x.shape[1]
        # Table trees work column-wise on a block: feature-major copies of the block's inputs and outputs
        # make every inner loop run over independent rows (no dependency chains, vectorisable).
        xt = np.empty((n_features, nb))
        for r in range(nb):
            for f in range(n_features):
                xt[f, r] = x[r0 + r, f]
        # Trees with table-less leaves sum apart and first, as when they were explained row by row straight into
        # `out`: the additions happen in the same order, so the contributions keep the same bits.
        acc_table = np.zeros((n_features, nb))
        acc_fallback = np.zeros((n_features, nb))
        pattern = np.empty((2 * max_int + 1, nb), dtype=np.int64)
        base = np.empty(nb, dtype=np.uint64)
        block_pred = pred[r0:r1]
        went_left = np.empty(max(max_int, 1), dtype=np.uint8)
        ones = np.empty(max(max_d, 1), dtype=np.uint8)
        w = np.empty(max(max_d, 1))
        esp = np.empty(max_d + 1)
        esp_wo = np.empty(max_d + 1)
        phi = np.empty(max(max_d, 1))
        # Tree-major inside a block: one tree's nodes and tables are reused by every row of the block.
        for t in range(n_trees):
            io = tree_int_off[t]
            n_int = tree_n_int[t]
            lo = tree_leaf_off[t]
            n_leaf = tree_n_leaf[t]
            if tree_row_path[t] == 0:
                acc = acc_fallback if tree_fallback[t] else acc_table
                # Pattern bits start all-ones and lose a slot's bit on the branch the row does not take;
                # pre-order guarantees a parent's pattern is final before its children are written.
                pattern[0, :] = -1
                for i in range(n_int):
                    g = io + i
                    xf = xt[node_feature[g]]
                    parent = pattern[i]
                    to_left = pattern[node_left[g]]
                    to_right = pattern[node_right[g]]
                    bit = node_bit[g]
                    threshold = node_threshold[g]
                    kind = node_kind[g]
                    special_left = node_special_left[g]
                    cat_off = node_cat_off[g]
                    cat_len = node_cat_len[g]
                    for r in range(nb):
                        left = _goes_left(xf[r], threshold, kind, special_left, cat_off, cat_len, cat_member)
                        p = parent[r]
                        # left = 1 keeps the bit on the left child and clears it on the right; 0 the reverse.
                        to_left[r] = p & ~(bit & (left - 1))
                        to_right[r] = p & ~(bit & -left)
                for k in range(n_leaf):
                    leaf = lo + k
                    d = leaf_d[leaf]
                    off = leaf_table_off[leaf]
                    so = leaf_slot_off[leaf]
                    leaf_pattern = pattern[n_int + k]
                    low = (np.int64(1) << d) - 1
                    value = leaf_value[leaf]
                    for r in range(nb):  # the leaf the row reaches: all its path's bits kept (the raw score)
                        block_pred[r] += value * ((leaf_pattern[r] & low) == low)
                    if off < 0:
                        # A leaf too long for a table: the same formula per row, its pattern bits as `ones`.
                        # Rows with the same pattern get the same contributions: each distinct pattern is
                        # computed once, its rows visited in pattern order (one addition per row and slot).
                        _shapley_weights(d, w)
                        z = slot_z[so : so + d]
                        keys = leaf_pattern & low
                        order = np.argsort(keys)
                        last = np.int64(-1)
                        for i in range(nb):
                            r = order[i]
                            p = keys[r]
                            if p != last:
                                for s in range(d):
                                    ones[s] = (p >> s) & 1
                                _leaf_direct(d, z, ones, value, w, esp, esp_wo, phi)
                                last = p
                            for s in range(d):
                                acc[slot_feature[so + s], r] += phi[s]
                        continue
                    # Unsigned offsets: numba then indexes without its negative-index wraparound (same loads).
                    uoff, ud = np.uint64(off), np.uint64(d)
                    for r in range(nb):
                        base[r] = uoff + np.uint64(leaf_pattern[r] & low) * ud
                    # Four slots per pass over the rows (distinct features: each output's additions keep their order).
                    s = 0
                    while s + 4 <= d:
                        out_f = acc[slot_feature[so + s]]
                        out_g = acc[slot_feature[so + s + 1]]
                        out_h = acc[slot_feature[so + s + 2]]
                        out_k = acc[slot_feature[so + s + 3]]
                        us = np.uint64(s)
                        for r in range(nb):
                            row = base[r] + us
                            out_f[r] += tables[row]
                            out_g[r] += tables[row + np.uint64(1)]
                            out_h[r] += tables[row + np.uint64(2)]
                            out_k[r] += tables[row + np.uint64(3)]
                        s += 4
                    while s < d:
                        out_f = acc[slot_feature[so + s]]
                        us = np.uint64(s)
                        for r in range(nb):
                            out_f[r] += tables[base[r] + us]
                        s += 1
            else:
                for r in range(r0, r1):
                    xr = x[r]
                    orow = out[r]
                    for i in range(n_int):
                        g = io + i
                        went_left[i] = _goes_left(
                            xr[node_feature[g]],
                            node_threshold[g],
                            node_kind[g],
                            node_special_left[g],
                            node_cat_off[g],
                            node_cat_len[g],
                            cat_member,
                        )
                    for k in range(n_leaf):
                        leaf = lo + k
                        d = leaf_d[leaf]
                        for s in range(d):
                            ones[s] = 1
                        po = leaf_path_off[leaf]
                        reached = True
                        for e in range(po, po + leaf_path_len[leaf]):
                            if went_left[path_node[e]] != path_left[e]:
                                ones[path_slot[e]] = 0
                                reached = False
                        if reached:
                            pred[r] += leaf_value[leaf]
                        so = leaf_slot_off[leaf]
                        if leaf_table_off[leaf] >= 0:
                            mask = 0
                            for s in range(d):
                                mask |= np.int64(ones[s]) << s
                            row_base = leaf_table_off[leaf] + mask * d
                            for s in range(d):
                                orow[slot_feature[so + s]] += tables[row_base + s]
                        else:
                            _shapley_weights(d, w)
                            _leaf_direct(d, slot_z[so : so + d], ones, leaf_value[leaf], w, esp, esp_wo, phi)
                            for s in range(d):
                                orow[slot_feature[so + s]] += phi[s]

        for r in range(nb):
            for f in range(n_features):
                out[r0 + r, f] += acc_fallback[f, r]
                out[r0 + r, f] += acc_table[f, r]


# Parallelism comes from Python threads running these nogil kernels on disjoint work (leaf subsets, row
# chunks) rather than from numba's parallel=True: measured on 2 cores, the per-core throughput is the same
# either way, while parallel=True doubles the one-time compile (~3.5 s -> ~7 s of CPU).
_build_tables = numba.njit(cache=True, nogil=True)(_build_tables_impl)
_explain = numba.njit(cache=True, nogil=True)(_explain_impl)
