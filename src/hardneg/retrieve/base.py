"""The retriever contract: index a corpus, then search queries for a top-k Run."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from hardneg.types import Corpus, Queries
from hardneg.types import Run


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
