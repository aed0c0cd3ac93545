"""The Ray engine: shards -> Ray Data encoding -> sharded top-k -> per-block selection -> judge actors (export
in the driver).

It implements the pipeline's engine contract (hardneg.pipeline.runner.SingleEngine): the steps are the
pipeline's, with a dense retriever whose encoding and search run on the cluster, BM25 searched in query blocks,
selection per query block and judges in actors, so exact search with the same seed gives the same negatives.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from hardneg.types import Corpus, Queries
from hardneg.io import write_parquet
from hardneg.scale.encode import encode_shards, shards_of
from hardneg.scale.search import load_blocks, search_sharded
from hardneg.scale.shards import SCHEMA, plan_shard_rows, write_shards

log = logging.getLogger(__name__)


@dataclass
class RayOptions:
    """Cluster and sharding knobs. shard_rows / block_rows 0 = chosen from the data (see docs/scale-out.md)."""

    address: str = "local"
    num_cpus: int | None = None
    object_store_mb: int | None = None
    work_dir: str | None = None
    shard_rows: int = 0
    shard_mb: float = 256.0
    block_rows: int = 0
    concurrency: int = 0
    gpus_per_actor: float | None = None


def _write_table_shards(out: Path, prefix: str, cols: dict[str, list[str]], rows: int,
                        schema: pa.Schema) -> list[str]:
    """Split columns into parquet shards of `rows` rows (rewritten only when their content changed)."""
    from hardneg.io import fingerprint, is_done, mark_done

    n = len(next(iter(cols.values())))
    paths = []
    for i, s in enumerate(range(0, max(n, 1), rows)):
        part = {k: v[s:s + rows] for k, v in cols.items()}
        p = out / f"{prefix}-{i:05d}.parquet"
        key = fingerprint(part)
        if not is_done(p, key):
            write_parquet(p, pa.table(part, schema=schema))
            mark_done(p, key)
        paths.append(str(p))
    return paths


class RayDense:
    """A dense retriever (same settings as a hardneg DenseRetriever) whose encoding and exact search run on Ray.

    Scores are the DenseRetriever's: cosine in [-1, 1] (dot products if normalize=False).
    """

    def __init__(self, base, queries: Queries, work: Path, opts: RayOptions, corpus_source: str | None = None):
        self.base, self.name, self.work, self.opts = base, base.name, work, opts
        self.queries, self.corpus_source = queries, corpus_source
        self.shards: list = []
        self.q_emb: np.ndarray | None = None
        self.corpus: Corpus | None = None

    def _encode(self, jobs: list[tuple[str, str, str | None]]) -> list[str]:
        from hardneg.scale.cluster import num_gpus, num_workers

        gpus = self.opts.gpus_per_actor if self.opts.gpus_per_actor is not None else (1.0 if num_gpus() else 0.0)
        conc = self.opts.concurrency or (num_gpus() if gpus else num_workers())
        return encode_shards(jobs, self.base.model_name, backend=self.base.backend, batch_size=self.base.batch_size,
                             normalize=self.base.normalize, concurrency=conc, gpus_per_actor=gpus,
                             precision=self.base.precision)

    def index(self, corpus: Corpus) -> None:
        """Write corpus and query shards, then encode both with Ray Data model actors."""
        from hardneg.scale.cluster import num_workers

        self.corpus = corpus
        dim = 1024  # an upper bound for common models; only sizes shards
        rows = self.opts.shard_rows or plan_shard_rows(len(corpus), dim, num_workers(), self.opts.shard_mb)
        if self.corpus_source:
            shards = write_shards(self.corpus_source, self.work / "corpus", rows)
            if shards[-1].stop != len(corpus):
                raise ValueError(f"corpus shards hold {shards[-1].stop} documents, the dataset {len(corpus)}")
            srcs = [s.path for s in shards]
        else:
            srcs = _write_table_shards(self.work / "corpus", "corpus", {"_id": corpus.ids, "title": corpus.titles,
                                                                        "text": corpus.texts}, rows, SCHEMA)
        qs = pa.schema([("_id", pa.string()), ("text", pa.string())])
        qsrc = _write_table_shards(self.work / "queries", "queries", {"_id": self.queries.ids,
                                                                      "text": self.queries.texts},
                                   self._block_rows(), qs)
        emb = self.work / "emb"
        jobs = [(s, str(emb / f"corpus-{i:05d}.npy"), self.base.doc_prompt) for i, s in enumerate(srcs)]
        jobs += [(s, str(emb / f"queries-{i:05d}.npy"), self.base.query_prompt) for i, s in enumerate(qsrc)]
        if self.base.precision != "fp32":  # resolve auto and check against fp32 once, here, before any actor
            self.base.check_precision(corpus.full_texts(), list(self.queries.texts))
        paths = self._encode(jobs)  # one actor pool for documents and queries
        self.shards = shards_of(paths[:len(srcs)])
        self.q_emb = np.concatenate([np.load(p) for p in paths[len(srcs):]])[:len(self.queries)]

    def _block_rows(self) -> int:
        return block_rows(self.opts, len(self.queries))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """float32 [N, dim] query embeddings (the ones encoded on the cluster in index())."""
        if self.q_emb is None or list(texts) != self.queries.texts:
            raise ValueError("RayDense encodes the queries it was built with; pass the same queries")
        return self.q_emb

    def search_embeddings(self, q_emb: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows int64 [Q,k], scores float32 [Q,k]) by exact sharded search on the cluster."""
        import hashlib

        from hardneg.io import read_done

        qh = hashlib.blake2b(np.ascontiguousarray(q_emb, np.float32).tobytes(), digest_size=16).hexdigest()
        key = {"queries": qh, "docs": [read_done(s.path)["key"] for s in self.shards]}
        paths = search_sharded(q_emb, self.shards, k, self.work / "topk", block_rows=self._block_rows(), key=key)
        return load_blocks(paths)

    def doc_rows(self, rows: np.ndarray) -> np.ndarray:
        """Embeddings of corpus rows, gathered from the memory-mapped shards."""
        out = None
        for sh in self.shards:
            sel = np.nonzero((rows >= sh.start) & (rows < sh.start + sh.rows))[0]
            if not len(sel):
                continue
            emb = np.load(sh.path, mmap_mode="r")
            if out is None:
                out = np.zeros((len(rows), emb.shape[1]), np.float32)
            out[sel] = emb[rows[sel] - sh.start]
        return out if out is not None else np.zeros((len(rows), 0), np.float32)

    def score_pairs(self, queries: Queries, q_rows: np.ndarray, d_rows: np.ndarray) -> np.ndarray:
        """Cosine (or dot) scores, float32, of (queries[q_rows[i]], corpus[d_rows[i]]) pairs."""
        q_rows, d_rows = np.asarray(q_rows, np.int64), np.asarray(d_rows, np.int64)
        qe = self.encode_queries(queries.texts)
        out = np.empty(q_rows.shape, np.float32)
        fq, fd, fo = q_rows.reshape(-1), d_rows.reshape(-1), out.reshape(-1)
        for c0 in range(0, len(fq), 1 << 16):
            sl = slice(c0, c0 + (1 << 16))
            fo[sl] = np.einsum("ij,ij->i", qe[fq[sl]], self.doc_rows(fd[sl]))
        return out


def block_rows(opts: RayOptions, n_queries: int) -> int:
    """Queries per search/selection block: opts.block_rows, else about 16 blocks of 256..8192 queries."""
    return opts.block_rows or max(256, min(8192, -(-n_queries // 16)))


class RayEngine:
    """The engine contract on Ray: dense encoding and exact search on the cluster, BM25 searched in query blocks
    against one index in the object store, selection as one Ray task per query block."""

    name = "ray"

    def __init__(self, opts: RayOptions | None, work: str | Path, corpus_source: str | None = None):
        self.opts, self.work, self.corpus_source = opts or RayOptions(), Path(work), corpus_source
        self.dense: list[RayDense] = []
        self.judge_actors = 0

    def _connect(self) -> None:
        from hardneg.scale.cluster import connect

        connect(self.opts.address, self.opts.num_cpus, self.opts.object_store_mb)

    def retrievers(self, cfg, prep, ready: list | None = None) -> list:
        """The config's retrievers on the cluster: dense ones as RayDense (its own work folder after the first),
        BM25 as RayBM25."""
        from hardneg.mining import make_retrievers
        from hardneg.retrieve.dense import DenseRetriever

        self._connect()
        from hardneg.retrieve.bm25 import BM25Retriever
        from hardneg.scale.bm25 import RayBM25

        out = []
        for r in ready if ready is not None else make_retrievers(cfg.retrieve, cfg.show_progress):
            if isinstance(r, BM25Retriever):
                r = RayBM25(r, block_rows(self.opts, len(prep.queries)))
            elif isinstance(r, DenseRetriever):
                work = self.work if not self.dense else self.work / f"retriever-{len(self.dense)}"
                r = RayDense(r, prep.queries, work, self.opts, self.corpus_source)
                self.dense.append(r)
            out.append(r)
        return out

    def select(self, cands, cfg, prep, retrievers: list):
        """select_step per query block on the cluster (hardneg.scale.select.select_blocks), each task given
        the config's select section."""
        from hardneg.scale.select import select_blocks

        self._connect()
        return select_blocks(cands, cfg.select, prep, retrievers, self.work / "selected",
                             block_rows(self.opts, len(prep.queries)))

    def judges(self, specs: list, options: dict) -> list:
        """One Ray actor per judge (num_gpus 1 where the cluster has GPUs, else 0), each loading its model once;
        validate() in the driver sends them the pairs to score."""
        from hardneg.scale.judges import ray_judges

        self._connect()
        got = ray_judges(specs, options, self.opts.gpus_per_actor)
        self.judge_actors += len(got)
        return got

    def info(self) -> dict:
        return {"engine": {"name": "ray", "shards": sum(len(d.shards) for d in self.dense),
                           "judge_actors": self.judge_actors, "work_dir": str(self.work)}}
