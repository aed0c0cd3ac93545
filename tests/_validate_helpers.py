"""Candidates over the tiny BEIR fixture, and a table-driven judge for exact control of scores."""

from __future__ import annotations

import numpy as np

from hardneg.data.beir import load_beir
from hardneg.types import Candidates


def tiny_candidates(root, k: int = 10, seed: int = 0):
    """(dataset, candidates): every query's non-positive docs in a fixed random order, K columns."""
    ds = load_beir(root, "train")
    rng = np.random.default_rng(seed)
    pos = ds.positives()
    qids = ds.queries.ids
    p = max(len(v) for v in pos.values())
    rows = np.full((len(qids), k), -1, np.int64)
    pos_rows = np.full((len(qids), p), -1, np.int64)
    for i, q in enumerate(qids):
        prow = ds.corpus.indices(pos[q])
        pos_rows[i, :len(prow)] = prow
        neg = [r for r in rng.permutation(len(ds.corpus)) if r not in prow][:k]
        rows[i, :len(neg)] = neg
    scores = np.where(rows >= 0, np.linspace(1.0, 0.1, k, dtype=np.float32)[None, :], -np.inf).astype(np.float32)
    pos_scores = np.where(pos_rows >= 0, 1.5, np.nan).astype(np.float32)
    ranks = np.where(rows >= 0, np.arange(1, k + 1)[None, :], 0).astype(np.int32)
    cand = Candidates(qids, rows, scores, pos_rows, pos_scores, {"bm25": scores.copy()}, {"bm25": ranks})
    return ds, cand


class TableJudge:
    """Scores looked up from {(query text, doc text): score}; positives score `pos`. Records the pairs asked."""

    compares = "query"
    units = "test score"

    def __init__(self, table: dict[str, float], pos: float = 1.0, name: str = "table", default: float = 0.0):
        self.table, self.pos, self.name, self.default = table, pos, name, default
        self.asked: list[tuple[str, str]] = []
        self.positive_pairs: set[tuple[str, str]] = set()

    def score_pairs(self, queries, docs):
        self.asked += list(zip(queries, docs))
        return np.array([self.pos if (q, d) in self.positive_pairs else self.table.get((q, d), self.default)
                         for q, d in zip(queries, docs)], np.float32)
