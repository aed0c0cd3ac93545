"""Candidates: the ranked pool per query that selection and validation work on."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Candidates:
    """Ranked candidate documents for Q queries, K per query, positives already removed.

    rows:       int64 [Q, K] corpus rows in miner order (best first), -1 = padding.
    scores:     float32 [Q, K] the miner's score (fused if several retrievers), higher = more relevant,
                -inf = padding. Positive-aware rules compare these with `pos_scores`.
    pos_rows:   int64 [Q, P] corpus rows of each query's known positives, -1 = padding.
    pos_scores: float32 [Q, P] the miner's score of each positive, NaN = padding.
    retriever_scores / retriever_ranks: per retriever name, float32 [Q, K] raw score (NaN if that
                retriever did not return the candidate) and int32 [Q, K] 1-based rank (0 = absent).
    """

    query_ids: list[str]
    rows: np.ndarray
    scores: np.ndarray
    pos_rows: np.ndarray
    pos_scores: np.ndarray
    retriever_scores: dict[str, np.ndarray] = field(default_factory=dict)
    retriever_ranks: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        q = len(self.query_ids)
        if self.rows.shape != self.scores.shape or self.rows.shape[0] != q:
            raise ValueError("Candidates rows/scores must be [Q, K] with Q = len(query_ids)")
        if self.pos_rows.shape != self.pos_scores.shape or self.pos_rows.shape[0] != q:
            raise ValueError("Candidates pos_rows/pos_scores must be [Q, P]")

    @property
    def valid(self) -> np.ndarray:
        """bool [Q, K]: True where a real candidate sits."""
        return self.rows >= 0

    def take(self, q_rows: np.ndarray) -> "Candidates":
        """The candidates of a subset of queries (e.g. one query block)."""
        q_rows = np.asarray(q_rows)
        return Candidates([self.query_ids[i] for i in q_rows], self.rows[q_rows], self.scores[q_rows],
                          self.pos_rows[q_rows], self.pos_scores[q_rows],
                          {k: v[q_rows] for k, v in self.retriever_scores.items()},
                          {k: v[q_rows] for k, v in self.retriever_ranks.items()})
