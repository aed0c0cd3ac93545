"""Fusing the runs of several retrievers: reciprocal-rank fusion or min-max normalised score sums."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hardneg.types import Run

_PAD = np.iinfo(np.int64).max
METHODS = ("rrf", "score")


@dataclass
class FusedRun(Run):
    """A Run whose scores are fused; per retriever name, each candidate's raw score (float32, NaN if
    that retriever did not return it) and 1-based rank (int32, 0 if absent), both [Q, K]."""

    retriever_scores: dict[str, np.ndarray] = field(default_factory=dict)
    retriever_ranks: dict[str, np.ndarray] = field(default_factory=dict)


def _minmax(scores: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per-row min-max scaling of the valid entries to [0, 1] (1 where a row's scores are all equal)."""
    lo = np.where(valid, scores, np.inf).min(1, keepdims=True)
    hi = np.where(valid, scores, -np.inf).max(1, keepdims=True)
    span = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(span > 0, (scores - lo) / np.where(span > 0, span, 1), 1.0)
    return np.where(valid, out, 0.0)


def fuse(runs: list[Run], method: str = "rrf", k: int | None = None, rrf_k: int = 60,
         weights: list[float] | None = None, name: str | None = None) -> FusedRun:
    """Fuse runs over the same queries and corpus. rrf: sum of w / (rrf_k + rank); score: sum of
    w * per-query min-max normalised score. k defaults to the largest input k."""
    if not runs:
        raise ValueError("fuse needs at least one run")
    if method not in METHODS:
        raise ValueError(f"unknown fusion '{method}' (valid: {', '.join(METHODS)})")
    names = [r.name or f"run{i}" for i, r in enumerate(runs)]
    if len(set(names)) != len(names):
        raise ValueError(f"runs need distinct names, got {names}")
    weights = list(weights) if weights is not None else [1.0] * len(runs)
    if len(weights) != len(runs):
        raise ValueError("one weight per run")
    first = runs[0]
    for r in runs[1:]:
        if r.query_ids != first.query_ids or len(r.doc_ids) != len(first.doc_ids):
            raise ValueError("runs must cover the same queries (in order) and the same corpus")
    nq, base = len(first.query_ids), len(first.doc_ids) + 1
    k = k or max(r.k for r in runs)
    qoff = np.arange(nq, dtype=np.int64)[:, None] * base

    # union of candidates per query, packed left: [Q, M]
    keys = np.unique(np.concatenate([(qoff + r.indices)[r.indices >= 0] for r in runs]))
    q_of = keys // base
    counts = np.bincount(q_of, minlength=nq)
    m = max(int(counts.max(initial=0)), 1)
    pos = np.arange(len(keys)) - np.concatenate(([0], np.cumsum(counts)[:-1]))[q_of]
    cand = np.full((nq, m), _PAD, dtype=np.int64)
    cand[q_of, pos] = keys % base
    cand_keys = np.where(cand != _PAD, qoff + cand, -1)

    fused = np.zeros((nq, m), dtype=np.float64)
    raw_scores, raw_ranks = {}, {}
    for nm, r, w in zip(names, runs, weights):
        valid = r.indices >= 0
        rk = (qoff + r.indices)[valid]
        ranks = np.broadcast_to(np.arange(1, r.k + 1, dtype=np.int32), r.indices.shape)[valid]
        sc = r.scores[valid]
        order = np.argsort(rk)
        rk, ranks, sc = rk[order], ranks[order], sc[order]
        if not len(rk):  # this retriever returned nothing at all
            rk, ranks, sc = np.array([-2], np.int64), np.zeros(1, np.int32), np.full(1, np.nan, np.float32)
        at = np.clip(np.searchsorted(rk, cand_keys), 0, len(rk) - 1)
        found = (cand_keys >= 0) & (rk[at] == cand_keys)
        raw_ranks[nm] = np.where(found, ranks[at], 0).astype(np.int32)
        raw_scores[nm] = np.where(found, sc[at], np.nan).astype(np.float32)
        if method == "rrf":
            fused += np.where(found, w / (rrf_k + raw_ranks[nm]), 0.0)
        else:
            norm = _minmax(r.scores.astype(np.float64), valid)[valid][order]
            if not len(norm):
                norm = np.zeros(1)
            fused += np.where(found, w * norm[at], 0.0)
    fused = np.where(cand != _PAD, fused, -np.inf)
    order = np.lexsort((cand, -fused), axis=-1)[:, :k]
    rows = np.take_along_axis(cand, order, 1)
    out_s = np.take_along_axis(fused, order, 1).astype(np.float32)
    pick = {nm: np.take_along_axis(v, order, 1) for nm, v in raw_scores.items()}
    pick_r = {nm: np.take_along_axis(v, order, 1) for nm, v in raw_ranks.items()}
    if rows.shape[1] < k:  # fewer candidates than k in every query
        pad = ((0, 0), (0, k - rows.shape[1]))
        rows = np.pad(rows, pad, constant_values=_PAD)
        out_s = np.pad(out_s, pad, constant_values=-np.inf)
        pick = {nm: np.pad(v, pad, constant_values=np.nan) for nm, v in pick.items()}
        pick_r = {nm: np.pad(v, pad, constant_values=0) for nm, v in pick_r.items()}
    rows[rows == _PAD] = -1
    return FusedRun(list(first.query_ids), rows, out_s, first.doc_ids, name or f"{method}({'+'.join(names)})",
                    retriever_scores=pick, retriever_ranks=pick_r)
