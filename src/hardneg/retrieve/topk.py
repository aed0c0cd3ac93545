"""Exact inner-product top-k in query x doc blocks, with deterministic ties (score desc, then row asc)."""

from __future__ import annotations

import numpy as np

_PAD_ROW = np.iinfo(np.int64).max  # sorts after every real row while merging; becomes -1 at the end
_SUB = 256  # rows per sub-block for the partition/mask steps (bounds temporary memory)


def _sort_rows(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the k best by (score desc, row asc). NaN scores count as padding."""
    s = np.where(np.isnan(scores), -np.inf, scores)
    order = np.lexsort((rows, -s), axis=-1)[:, :k]
    return np.take_along_axis(rows, order, 1), np.take_along_axis(s, order, 1)


def _gather(mask: np.ndarray, block: np.ndarray, d0: int) -> tuple[np.ndarray, np.ndarray]:
    """The masked entries of each row packed left into [rows, M] arrays (padding: _PAD_ROW / -inf)."""
    r, c = np.nonzero(mask)
    n = mask.shape[0]
    counts = np.bincount(r, minlength=n)
    m = int(counts.max()) if n else 0
    rows = np.full((n, max(m, 1)), _PAD_ROW, dtype=np.int64)
    scores = np.full((n, max(m, 1)), -np.inf, dtype=np.float32)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    pos = np.arange(len(r)) - starts[r]
    rows[r, pos] = c + d0
    scores[r, pos] = block[r, c]
    return rows, scores


def _block_candidates(block: np.ndarray, thr: np.ndarray | None, k: int, d0: int, cap: int):
    """Candidates of one score block that may enter the running top-k.

    thr None (first block): entries >= the block's own k-th best; else entries > thr (strictly, as
    earlier rows win ties). Rows with more than `cap` candidates fall back to a stable argsort.
    """
    n, dc = block.shape
    if thr is None:
        if dc > k:
            kth = np.partition(block, dc - k, axis=1)[:, dc - k]
            mask = block >= kth[:, None]
        else:
            mask = np.ones(block.shape, dtype=bool)
    else:
        mask = block > thr[:, None]
    counts = mask.sum(1)
    if counts.max(initial=0) <= cap:
        return _gather(mask, block, d0)
    order = np.argsort(-block, axis=1, kind="stable")[:, :k]
    return order.astype(np.int64) + d0, np.take_along_axis(block, order, 1)


def exact_topk(q: np.ndarray, d: np.ndarray, k: int, *, q_chunk: int = 1024,
               d_chunk: int = 32768) -> tuple[np.ndarray, np.ndarray]:
    """Top-k docs per query by inner product: (int64 rows [Q,k], float32 scores [Q,k]); -1/-inf pad."""
    if q.ndim != 2 or d.ndim != 2 or q.shape[1] != d.shape[1]:
        raise ValueError(f"need q [Q,dim] and d [D,dim] of one dim, got {q.shape} and {d.shape}")
    if k < 1:
        raise ValueError("k must be >= 1")
    nq, nd = q.shape[0], d.shape[0]
    kk = min(k, nd)
    out_rows = np.full((nq, k), -1, dtype=np.int64)
    out_scores = np.full((nq, k), -np.inf, dtype=np.float32)
    if nq == 0 or nd == 0:
        return out_rows, out_scores
    d_chunk = max(d_chunk, kk)
    cap = max(4 * kk, 256)
    for q0 in range(0, nq, q_chunk):
        qb = np.ascontiguousarray(q[q0:q0 + q_chunk], dtype=np.float32)
        best_r = best_s = None
        for d0 in range(0, nd, d_chunk):
            block = qb @ np.asarray(d[d0:d0 + d_chunk], dtype=np.float32).T
            parts_r, parts_s = [], []
            for s0 in range(0, block.shape[0], _SUB):
                sub = block[s0:s0 + _SUB]
                thr = None if best_s is None else best_s[s0:s0 + _SUB, kk - 1]
                cr, cs = _block_candidates(sub, thr, kk, d0, cap)
                if best_r is not None:
                    cr = np.concatenate([best_r[s0:s0 + _SUB], cr], 1)
                    cs = np.concatenate([best_s[s0:s0 + _SUB], cs], 1)
                r, s = _sort_rows(cr, cs, kk)
                if r.shape[1] < kk:  # fewer candidates than k (only when D < k)
                    pad = kk - r.shape[1]
                    r = np.pad(r, ((0, 0), (0, pad)), constant_values=_PAD_ROW)
                    s = np.pad(s, ((0, 0), (0, pad)), constant_values=-np.inf)
                parts_r.append(r)
                parts_s.append(s)
            best_r, best_s = np.concatenate(parts_r), np.concatenate(parts_s)
            del block
        best_r[best_r == _PAD_ROW] = -1
        out_rows[q0:q0 + len(qb), :kk] = best_r
        out_scores[q0:q0 + len(qb), :kk] = best_s
    return out_rows, out_scores


def topk_from_scores(scores: np.ndarray, k: int, d0: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Top-k per row of a dense score block [n, D] (columns are rows d0...); -1/-inf pad, exact ties."""
    scores = np.asarray(scores, dtype=np.float32)
    n, dc = scores.shape
    kk = min(k, dc)
    rows = np.full((n, k), -1, dtype=np.int64)
    out = np.full((n, k), -np.inf, dtype=np.float32)
    if kk == 0:
        return rows, out
    for s0 in range(0, n, _SUB):
        cr, cs = _block_candidates(scores[s0:s0 + _SUB], None, kk, d0, max(4 * kk, 256))
        r, s = _sort_rows(cr, cs, kk)
        m = r.shape[1]
        rows[s0:s0 + len(r), :m] = np.where(r == _PAD_ROW, -1, r)
        out[s0:s0 + len(r), :m] = s
    return rows, out


def merge_topk(parts: list[tuple[np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge top-k lists of the same queries over disjoint doc shards (global rows); -1/-inf pad."""
    if not parts:
        raise ValueError("merge_topk needs at least one part")
    rows = np.concatenate([np.asarray(r, dtype=np.int64) for r, _ in parts], 1)
    scores = np.concatenate([np.asarray(s, dtype=np.float32) for _, s in parts], 1)
    rows = np.where(rows < 0, _PAD_ROW, rows)
    scores = np.where(rows == _PAD_ROW, -np.inf, scores).astype(np.float32)
    r, s = _sort_rows(rows, scores, min(k, rows.shape[1]))
    if r.shape[1] < k:
        r = np.pad(r, ((0, 0), (0, k - r.shape[1])), constant_values=_PAD_ROW)
        s = np.pad(s, ((0, 0), (0, k - s.shape[1])), constant_values=-np.inf)
    r[r == _PAD_ROW] = -1
    s[r < 0] = -np.inf
    return r, s.astype(np.float32)
