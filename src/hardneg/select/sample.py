"""Seeded randomness that depends only on (seed, query id, column): block size never changes a draw."""

from __future__ import annotations

import hashlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def query_keys(query_ids: list[str], seed: int) -> np.ndarray:
    """uint64 [Q]: one stream key per query, from a hash of the seed and the query id."""
    out = np.empty(len(query_ids), dtype=np.uint64)
    for i, qid in enumerate(query_ids):
        h = hashlib.blake2b(f"{seed}\x00{qid}".encode(), digest_size=8).digest()
        out[i] = int.from_bytes(h, "little")
    return out


def _splitmix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = x + _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def uniforms(keys: np.ndarray, n: int, salt: int = 0, start: int = 0) -> np.ndarray:
    """float64 [Q, n] in (0, 1): column j of query i is a pure function of (keys[i], salt, start + j)."""
    cols = np.arange(start, start + n, dtype=np.uint64)[None, :]
    with np.errstate(over="ignore"):
        x = keys[:, None] ^ _splitmix(cols * _GOLDEN + np.uint64(salt))
    bits = _splitmix(x) >> np.uint64(11)  # 53 random bits
    return (bits.astype(np.float64) + 0.5) / float(1 << 53)


def pick(keys: np.ndarray, n: int) -> np.ndarray:
    """int64 [Q, n]: columns of the n largest keys per row (-inf keys are never better than real ones)."""
    n = min(n, keys.shape[1])
    if n == 0:
        return np.zeros((keys.shape[0], 0), dtype=np.int64)
    if n < keys.shape[1]:
        part = np.argpartition(-keys, n - 1, axis=1)[:, :n]
    else:
        part = np.broadcast_to(np.arange(keys.shape[1]), keys.shape).copy()
    # order the n winners by key (desc), ties by column: deterministic
    sub = np.take_along_axis(keys, part, axis=1)
    order = np.lexsort((part, -sub), axis=1)
    return np.take_along_axis(part, order, axis=1).astype(np.int64)


def random_rows(keys: np.ndarray, n_docs: int, excluded: np.ndarray, n: int) -> np.ndarray:
    """int64 [Q, n]: n distinct corpus rows per query, uniform over rows not in `excluded` [Q, E] (-1 = pad).

    Draws with a margin and keeps the first n new, allowed rows; a small corpus is ranked whole instead.
    """
    q = keys.shape[0]
    m = n + excluded.shape[1] + 16
    if n_docs <= 4 * m:
        u = uniforms(keys, n_docs, salt=7)
        bad = np.zeros((q, n_docs), dtype=bool)
        r, c = np.nonzero(excluded >= 0)
        bad[r, excluded[r, c]] = True
        u[bad] = -np.inf
        cols = pick(u, n)
        ok = np.take_along_axis(u, cols, axis=1) > -np.inf
        out = np.full((q, n), -1, dtype=np.int64)
        out[:, :cols.shape[1]] = np.where(ok, cols, -1)
        return out
    draws = np.minimum((uniforms(keys, 2 * m, salt=7) * n_docs).astype(np.int64), n_docs - 1)
    bad = (draws[:, :, None] == excluded[:, None, :]).any(axis=2)
    order = np.argsort(draws, axis=1, kind="stable")
    sd = np.take_along_axis(draws, order, axis=1)
    rep = np.zeros_like(bad)
    rep[:, 1:] = sd[:, 1:] == sd[:, :-1]
    dup = np.zeros_like(bad)
    np.put_along_axis(dup, order, rep, axis=1)
    good = ~(bad | dup)
    # first n good draws per row, in draw order
    rank = np.cumsum(good, axis=1) - 1
    out = np.full((q, n), -1, dtype=np.int64)
    r, c = np.nonzero(good & (rank < n))
    out[r, rank[r, c]] = draws[r, c]
    return out
