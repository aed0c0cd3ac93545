"""select_negatives: rules, rank window, sampling and the short-query policy over a Candidates pool."""

from __future__ import annotations


import numpy as np

from hardneg.types import Candidates
from hardneg.select.rules import apply_rules, later_duplicates, positive_score
from hardneg.select.sample import pick, query_keys, uniforms
from hardneg.select.spec import Strategy
from hardneg.types import Selection

SHORT = ("drop", "pad", "keep")


def _check(n: int, short: str) -> None:
    if n < 1:
        raise ValueError(f"num_negatives must be at least 1, got {n}")
    if short not in SHORT:
        raise ValueError(f"short must be one of {', '.join(SHORT)}, got '{short}'")


def select_negatives(cands: Candidates, st: Strategy, n: int, *, pos_score: str = "min", short: str = "keep",
                     seed: int = 0, groups: np.ndarray | None = None) -> Selection:
    """Choose n negatives per query from `cands` (scores in miner units) by strategy `st`.

    groups: optional int64 [Q, K] text-group id of each candidate; a later candidate whose text repeats a better one
    is skipped (`dup-negative`). Rows are independent, so any split into query blocks gives the same answer.
    """
    _check(n, short)
    if st.from_corpus:
        raise ValueError("strategy 'random' draws from the whole corpus: use hardneg.mining.select_step")
    if cands.rows.shape[1] < n:  # fewer candidates than negatives asked for: pad so every row has n slots
        pad = ((0, 0), (0, n - cands.rows.shape[1]))
        cands = Candidates(cands.query_ids, np.pad(cands.rows, pad, constant_values=-1),
                           np.pad(cands.scores, pad, constant_values=-np.inf), cands.pos_rows, cands.pos_scores)
        groups = None if groups is None else np.pad(groups, pad, constant_values=-1)
    q, k = cands.rows.shape
    keep = cands.valid.copy()
    pos = positive_score(cands.pos_scores, pos_score)
    skipped = apply_rules(keep, cands.scores, pos, st)
    if groups is not None:
        dup = later_duplicates(groups, keep)
        skipped["dup-negative"] = int(dup.sum())
        keep &= ~dup
    rank = np.cumsum(keep, axis=1) - 1  # position among survivors
    lo, hi = st.window or (0, k)
    in_win = keep & (rank >= lo) & (rank < hi)
    col = np.arange(k, dtype=np.float64)[None, :]
    if st.sampling == "top":
        key = np.where(in_win, -col, -np.inf)
    else:
        u = uniforms(query_keys(cands.query_ids, seed), k, salt=1)
        if st.sampling == "random":
            key = np.where(in_win, u, -np.inf)
        else:  # simans: Efraimidis-Spirakis keys log(u)/w give weighted sampling without replacement
            p = np.nan_to_num(pos, nan=0.0).astype(np.float64)[:, None]
            s = np.nan_to_num(cands.scores.astype(np.float64), neginf=0.0)
            w = np.exp(-st.a * (s - p - st.b) ** 2)
            with np.errstate(divide="ignore"):
                key = np.where(in_win, np.log(u) / np.maximum(w, 1e-300), -np.inf)
    cols = pick(key, n)
    chosen = np.take_along_axis(key, cols, axis=1) > -np.inf
    found = chosen.sum(axis=1)
    is_short = found < n
    n_short, padded = int(is_short.sum()), 0
    if short == "pad" and n_short:
        # chosen first, then survivors further down the list in rank order
        sel = np.zeros((q, k), dtype=bool)
        r, c = np.nonzero(chosen)
        sel[r, cols[r, c]] = True
        extra = keep & (rank >= hi) & ~sel & is_short[:, None]
        pkey = np.where(sel, 2.0 * k - col, np.where(extra, -col, -np.inf))
        cols = pick(pkey, n)
        chosen = np.take_along_axis(pkey, cols, axis=1) > -np.inf
        padded = int((chosen.sum(axis=1) - found).sum())
    cols = np.where(chosen, cols, k)  # k sorts last
    cols = np.sort(cols, axis=1)  # best first, like a ranked list
    ok = cols < k
    safe = np.minimum(cols, k - 1)
    rows = np.where(ok, np.take_along_axis(cands.rows, safe, axis=1), -1)
    scores = np.where(ok, np.take_along_axis(cands.scores, safe, axis=1), np.nan).astype(np.float32)
    ranks = np.where(ok, safe + 1, 0).astype(np.int32)
    still = (ok.sum(axis=1) < n)
    qkeep = ~still if short == "drop" else np.ones(q, dtype=bool)
    return Selection(list(cands.query_ids), rows.astype(np.int64), scores, ranks, qkeep, skipped, n_short, padded,
                     int(still.sum()), int((~qkeep).sum()))
