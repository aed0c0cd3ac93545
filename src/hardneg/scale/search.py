"""Sharded exact top-k on Ray: each query block against every corpus shard, partials merged per block.

Scores are the dot products of the stored embeddings (float32, higher = more relevant); a worker holds
one query block and one memory-mapped corpus shard, so its memory is bounded by the shard size.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import ray

from hardneg.io import fingerprint, is_done, mark_done, write_npz

log = logging.getLogger(__name__)

CRASH_ENV = "HARDNEG_SCALE_CRASH_DIR"  # test hook: a folder; `arm-<tag>` there kills one worker


def crash_once(tag: str) -> None:
    """Kill this worker process hard, once, when `$HARDNEG_SCALE_CRASH_DIR/arm-<tag>` exists (fault tests)."""
    folder = os.environ.get(CRASH_ENV)
    if not folder or not os.path.exists(os.path.join(folder, f"arm-{tag}")):
        return
    try:
        fd = os.open(os.path.join(folder, f"crashed-{tag}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.close(fd)
    os._exit(1)


@dataclass(frozen=True)
class EmbShard:
    """Embeddings of corpus rows [start, start + rows) in a .npy file."""

    path: str
    start: int
    rows: int


@ray.remote(max_retries=3)
def shard_topk(q: np.ndarray, shard: EmbShard, k: int, q_chunk: int, d_chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of one query block against one corpus shard, as global corpus rows (-1 / -inf padding)."""
    from hardneg.retrieve.topk import exact_topk

    crash_once("search")
    d = np.load(shard.path, mmap_mode="r")
    idx, sc = exact_topk(q, d, k, q_chunk=q_chunk, d_chunk=d_chunk)
    return np.where(idx >= 0, idx + shard.start, -1), sc


@ray.remote(max_retries=3)
def merge_block(out_path: str, key: str, k: int, *parts: tuple[np.ndarray, np.ndarray]) -> str:
    """Merge the per-shard partials of one query block into its global top-k and store it atomically."""
    from hardneg.retrieve.topk import merge_topk

    idx, sc = merge_topk(list(parts), k)
    write_npz(out_path, indices=np.asarray(idx, np.int64), scores=np.asarray(sc, np.float32))
    mark_done(out_path, key, queries=int(idx.shape[0]))
    return out_path


def search_sharded(queries: np.ndarray, shards: list[EmbShard], k: int, out_dir: str | Path,
                   block_rows: int = 4096, key: dict | None = None, max_blocks_in_flight: int = 4,
                   q_chunk: int = 512, d_chunk: int = 32768,
                   progress: Callable[[int], None] | None = None) -> list[str]:
    """Exact top-k of all queries over all shards. Returns one .npz per query block (indices, scores),
    in query order; blocks already done with the same key are kept (resume)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n = queries.shape[0]
    blocks = [(s, min(s + block_rows, n)) for s in range(0, n, block_rows)] or [(0, 0)]
    base = dict(key or {}, k=k, shards=[(s.path, s.start, s.rows) for s in shards])
    paths, todo = [], []
    for b, (s, e) in enumerate(blocks):
        p = str(out / f"topk-{b:05d}.npz")
        bkey = fingerprint(dict(base, block=(s, e)))
        paths.append(p)
        if is_done(p, bkey):
            if progress:
                progress(e - s)
        else:
            todo.append((b, s, e, p, bkey))
    log.info("search: %d query blocks x %d shards (%d blocks already done)", len(blocks), len(shards),
             len(blocks) - len(todo))
    pending: dict = {}
    for b, s, e, p, bkey in todo:
        while len(pending) >= max_blocks_in_flight:
            _wait_one(pending, progress)
        q_ref = ray.put(np.ascontiguousarray(queries[s:e], dtype=np.float32))
        parts = [shard_topk.remote(q_ref, sh, k, q_chunk, d_chunk) for sh in shards]
        pending[merge_block.remote(p, bkey, k, *parts)] = e - s
    while pending:
        _wait_one(pending, progress)
    return paths


def _wait_one(pending: dict, progress) -> None:
    ready, _ = ray.wait(list(pending), num_returns=1)
    for r in ready:
        ray.get(r)
        rows = pending.pop(r)
        if progress:
            progress(rows)


def load_blocks(paths: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate per-block results: int64 indices [Q, k] and float32 scores [Q, k]."""
    idx, sc = [], []
    for p in paths:
        with np.load(p) as z:
            idx.append(z["indices"])
            sc.append(z["scores"])
    return np.concatenate(idx), np.concatenate(sc)
