"""FAISS inner-product indexes (flat, IVF, HNSW) over float32 embeddings, with deterministic output."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from hardneg.retrieve.topk import merge_topk

log = logging.getLogger(__name__)
KINDS = ("flat", "ivf", "hnsw")


@dataclass
class FaissOptions:
    """nlist: IVF cells (default 4*sqrt(N)); nprobe: cells searched; m / ef_*: HNSW graph settings."""

    nlist: int | None = None
    nprobe: int = 16
    m: int = 32
    ef_construction: int = 200
    ef_search: int = 128
    seed: int = 1234


def build_index(emb: np.ndarray, kind: str = "flat", opts: FaissOptions | None = None):
    """A faiss index holding `emb` (rows in order), scoring by inner product."""
    import faiss

    if kind not in KINDS:
        raise ValueError(f"unknown faiss index '{kind}' (valid: {', '.join(KINDS)})")
    opts = opts or FaissOptions()
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    n, dim = emb.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
        index.add(emb)
    elif kind == "ivf":
        nlist = max(1, min(opts.nlist or int(4 * math.sqrt(n)), n))
        quant = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quant, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = opts.seed
        index.cp.min_points_per_centroid = 1  # small corpora: no warning spam, still deterministic
        index.train(emb)
        index.add(emb)
        index.nprobe = min(opts.nprobe, nlist)
    else:
        index = faiss.IndexHNSWFlat(dim, opts.m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = opts.ef_construction
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # multi-threaded insertion makes the graph depend on timing
        try:
            index.add(emb)
        finally:
            faiss.omp_set_num_threads(threads)
        index.hnsw.efSearch = max(opts.ef_search, 1)
    log.debug("built faiss %s index over %d x %d", kind, n, dim)
    return index


def search_index(index, q: np.ndarray, k: int, q_chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(int64 rows [Q,k], float32 scores [Q,k]) sorted by score desc then row asc; -1/-inf pad."""
    q = np.ascontiguousarray(q, dtype=np.float32)
    rows = np.full((len(q), k), -1, dtype=np.int64)
    scores = np.full((len(q), k), -np.inf, dtype=np.float32)
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = max(index.hnsw.efSearch, k)
    for q0 in range(0, len(q), q_chunk):
        s, r = index.search(q[q0:q0 + q_chunk], k)
        s = np.where(r < 0, -np.inf, s).astype(np.float32)
        r, s = merge_topk([(r.astype(np.int64), s)], k)  # re-sorts ties by row
        rows[q0:q0 + len(r)], scores[q0:q0 + len(r)] = r, s
    return rows, scores
