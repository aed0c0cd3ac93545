"""exact_topk / merge_topk / topk_from_scores against a brute-force full sort."""

import numpy as np
import pytest

from hardneg.retrieve.topk import exact_topk, merge_topk, topk_from_scores


def brute(q, d, k):
    s = q @ d.T
    rows = np.broadcast_to(np.arange(d.shape[0]), s.shape)
    o = np.lexsort((rows, -s), axis=-1)[:, :k]
    r = np.take_along_axis(rows, o, 1).astype(np.int64)
    v = np.take_along_axis(s, o, 1).astype(np.float32)
    if k > d.shape[0]:
        pad = ((0, 0), (0, k - d.shape[0]))
        r, v = np.pad(r, pad, constant_values=-1), np.pad(v, pad, constant_values=-np.inf)
    return r, v


@pytest.mark.parametrize("seed", range(12))
def test_exact_topk_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    nq, nd, dim, k = rng.integers(1, 40), rng.integers(1, 300), rng.integers(1, 6), int(rng.integers(1, 40))
    if seed % 2:  # small integers: many ties
        q, d = rng.integers(-2, 3, (nq, dim)).astype(np.float32), rng.integers(-2, 3, (nd, dim)).astype(np.float32)
    else:
        q, d = rng.standard_normal((nq, dim), dtype=np.float32), rng.standard_normal((nd, dim), dtype=np.float32)
    r, s = exact_topk(q, d, k, q_chunk=int(rng.integers(1, 17)), d_chunk=int(rng.integers(1, 70)))
    br, bs = brute(q, d, k)
    assert r.dtype == np.int64 and s.dtype == np.float32
    np.testing.assert_array_equal(r, br)
    np.testing.assert_allclose(s, bs, rtol=1e-6)


def test_all_ties_prefer_lower_rows_and_pad_when_k_exceeds_docs():
    q = np.ones((3, 4), np.float32)
    d = np.ones((5, 4), np.float32)
    r, s = exact_topk(q, d, 3, d_chunk=2)
    np.testing.assert_array_equal(r, [[0, 1, 2]] * 3)
    r, s = exact_topk(q, d, 8)
    np.testing.assert_array_equal(r[:, 5:], -1)
    assert np.isneginf(s[:, 5:]).all() and (s[:, :5] == 4).all()


def test_chunk_boundaries_give_identical_results():
    rng = np.random.default_rng(7)
    q, d = rng.standard_normal((50, 8), dtype=np.float32), rng.standard_normal((1000, 8), dtype=np.float32)
    ref = exact_topk(q, d, 10)
    for qc, dc in [(1, 10), (7, 999), (49, 1000), (50, 1001), (256, 13)]:
        r, s = exact_topk(q, d, 10, q_chunk=qc, d_chunk=dc)
        np.testing.assert_array_equal(r, ref[0])
        np.testing.assert_allclose(s, ref[1], rtol=1e-6)  # BLAS may round differently per block shape


def test_merge_topk_over_shards_equals_whole():
    rng = np.random.default_rng(3)
    q, d = rng.integers(-2, 3, (20, 3)).astype(np.float32), rng.integers(-2, 3, (90, 3)).astype(np.float32)
    parts = []
    for lo, hi in [(0, 30), (30, 31), (31, 90)]:
        r, s = exact_topk(q, d[lo:hi], 15)
        parts.append((np.where(r >= 0, r + lo, -1), s))
    r, s = merge_topk(parts, 15)
    br, bs = brute(q, d, 15)
    np.testing.assert_array_equal(r, br)
    np.testing.assert_array_equal(s, bs)


def test_topk_from_scores_and_bad_shapes():
    s = np.array([[1, 3, 3, -np.inf], [0, 0, 0, 0]], np.float32)
    r, v = topk_from_scores(s, 3)
    np.testing.assert_array_equal(r, [[1, 2, 0], [0, 1, 2]])
    with pytest.raises(ValueError):
        exact_topk(np.zeros((2, 3), np.float32), np.zeros((4, 5), np.float32), 2)
