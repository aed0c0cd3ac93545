"""BM25 on Ray: the index is built once in the driver and its score matrix put in the object store; query
blocks (tokenized in the driver) are searched as Ray tasks against that one shared matrix. Same rows and scores
as BM25Retriever.search (each query row is computed alone)."""

from __future__ import annotations

import numpy as np
import ray

from hardneg.types import Queries


@ray.remote
def _search_block(m, qm, extra, k: int) -> tuple[np.ndarray, np.ndarray]:
    from hardneg.retrieve.bm25 import topk_bm25

    return topk_bm25(qm, m, extra, k)


class RayBM25:
    """A BM25Retriever whose search runs in query blocks of `block_rows` on the cluster (BM25 score units)."""

    def __init__(self, base, block_rows: int):
        self.base, self.block_rows, self._ref = base, block_rows, None

    @property
    def name(self) -> str:
        return self.base.name

    def index(self, corpus) -> None:
        self.base.index(corpus)
        self._ref = ray.put(self.base._m)  # one copy in the object store, read by every block

    def search(self, queries: Queries, k: int):
        from hardneg.types import Run

        if self._ref is None:
            raise RuntimeError(f"{self.name}: call index(corpus) before search")
        n, b = len(queries), max(1, self.block_rows)
        qm = self.base.query_matrix(queries.texts)
        extra = self.base._extra(qm)
        parts = ray.get([_search_block.remote(self._ref, qm[s:s + b], None if extra is None else extra[s:s + b], k)
                         for s in range(0, n, b)])
        rows = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, k), np.int64)
        scores = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, k), np.float32)
        return Run(list(queries.ids), rows, scores, self.base.corpus.ids, self.name)

    def score_pairs(self, queries: Queries, q_rows: np.ndarray, d_rows: np.ndarray) -> np.ndarray:
        return self.base.score_pairs(queries, q_rows, d_rows)
