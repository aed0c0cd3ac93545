"""The retriever contract: index a corpus, then search queries for a top-k Run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from hardneg.data.model import Corpus, Queries


@dataclass
class Run:
    """Top-k results for a block of queries.

    Row i belongs to query_ids[i]. `indices` are corpus rows (int64, -1 = padding) and `scores`
    the retriever's scores (float32, higher is better, -inf = padding), sorted descending with ties
    broken by lower corpus row, so that runs are deterministic.
    """

    query_ids: list[str]
    indices: np.ndarray
    scores: np.ndarray
    doc_ids: list[str]
    name: str = ""

    def __post_init__(self) -> None:
        if self.indices.shape != self.scores.shape or self.indices.ndim != 2:
            raise ValueError("Run indices and scores must be 2-d arrays of one shape")
        if self.indices.shape[0] != len(self.query_ids):
            raise ValueError("Run has one row per query id")

    @property
    def k(self) -> int:
        return self.indices.shape[1]

    def to_dict(self) -> dict[str, dict[str, float]]:
        """{query id: {doc id: score}}, the shape ranx and pytrec_eval take."""
        out: dict[str, dict[str, float]] = {}
        for qid, rows, scores in zip(self.query_ids, self.indices, self.scores):
            out[qid] = {self.doc_ids[r]: float(s) for r, s in zip(rows, scores) if r >= 0}
        return out


@runtime_checkable
class Retriever(Protocol):
    """A backend chosen by a short spec string (`bm25`, `dense:minilm`, `dense:PATH`)."""

    name: str

    def index(self, corpus: Corpus) -> None:
        """Prepare the corpus (build BM25 index, encode documents through the cache)."""

    def search(self, queries: Queries, k: int) -> Run:
        """Top-k corpus rows per query."""

    def score_pairs(self, queries: Queries, q_rows: np.ndarray, d_rows: np.ndarray) -> np.ndarray:
        """Scores (same scale as search) of the (queries[q_rows[i]], corpus[d_rows[i]]) pairs."""


def pair_index(q_rows: np.ndarray, d_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For score_pairs: int64 (q_rows, d_rows) of one shape, the distinct query rows, and each pair's index into them."""
    q_rows, d_rows = np.asarray(q_rows, dtype=np.int64), np.asarray(d_rows, dtype=np.int64)
    if q_rows.shape != d_rows.shape:
        raise ValueError("q_rows and d_rows must have one shape")
    used, inv = np.unique(q_rows, return_inverse=True)
    return q_rows, d_rows, used, inv.reshape(-1)
