"""Selection per query block as Ray tasks; each block's negatives are stored as a parquet part (resumable)."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import ray

from hardneg.scale.search import crash_once
from hardneg.io import fingerprint, is_done, mark_done, read_done, write_parquet

log = logging.getLogger(__name__)


def _block_key(cands, s) -> str:
    h = hashlib.blake2b(digest_size=16)
    for a in (cands.rows, cands.scores, cands.pos_rows, cands.pos_scores):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update("\0".join(cands.query_ids).encode())
    knobs = {k: getattr(s, k) for k in ("spec", "num_negatives", "seed", "pos_score", "short", "min_score",
                                        "max_score", "dedup_negatives")}
    return fingerprint({"cands": h.hexdigest(), "cfg": knobs})


def _to_table(sel) -> pa.Table:
    n = sel.rows.shape[1]
    off = pa.array(np.arange(0, (len(sel.query_ids) + 1) * n, n, dtype=np.int32))
    lst = lambda a: pa.ListArray.from_arrays(off, pa.array(a.reshape(-1)))  # noqa: E731
    return pa.table({"query_id": pa.array(sel.query_ids, pa.string()), "neg_rows": lst(sel.rows),
                     "neg_scores": lst(sel.scores), "neg_ranks": lst(sel.ranks), "keep": pa.array(sel.keep)})


def _from_table(t: pa.Table, stats: dict):
    from hardneg.types import Selection

    q = t.num_rows

    def arr(col, dtype):
        return t.column(col).combine_chunks().flatten().to_numpy(zero_copy_only=False).astype(dtype).reshape(q, -1)

    return Selection(t.column("query_id").to_pylist(), arr("neg_rows", np.int64), arr("neg_scores", np.float32),
                     arr("neg_ranks", np.int32), t.column("keep").to_numpy(zero_copy_only=False).astype(bool),
                     **stats)


@ray.remote(max_retries=3)
def select_block(cands, s, prep, groups: np.ndarray, out_path: str, key: str):
    """select_step on one query block; stores the block's negatives atomically and returns its Selection."""
    from hardneg.mining import select_step

    crash_once("select")
    sel = select_step(cands, s, dataclasses.replace(prep, groups=groups))
    write_parquet(out_path, _to_table(sel))
    mark_done(out_path, key, stats=sel.stats())
    return sel


def concat(parts: list):
    """One Selection from per-block Selections (query order kept, counters summed)."""
    from hardneg.types import Selection

    skipped: dict[str, int] = {}
    for p in parts:
        for k, v in p.skipped.items():
            skipped[k] = skipped.get(k, 0) + v
    return Selection([q for p in parts for q in p.query_ids], np.concatenate([p.rows for p in parts]),
                     np.concatenate([p.scores for p in parts]), np.concatenate([p.ranks for p in parts]),
                     np.concatenate([p.keep for p in parts]), skipped, sum(p.short for p in parts),
                     sum(p.padded for p in parts), sum(p.still_short for p in parts), sum(p.dropped for p in parts))


def select_blocks(cands, sec, prep, retrievers: list, out_dir: str | Path, block_rows: int):
    """Negatives for every query, one Ray task per block of `block_rows` queries; finished blocks are reused.

    `random` (drawn from the whole corpus, scored by the retrievers) runs in the driver: it has no candidates.
    """
    from hardneg.mining import select_step

    if sec.strategy.from_corpus:  # `sec`: the config's select section
        return select_step(cands, sec, prep, retrievers)
    out = Path(out_dir)
    q = len(cands.query_ids)
    light = dataclasses.replace(prep, groups=np.zeros(0, np.int64), doc_texts=[])
    groups = ray.put(prep.groups)
    parts: list = []
    for b, s in enumerate(range(0, q, block_rows)):
        idx = np.arange(s, min(s + block_rows, q))
        cb = cands.take(idx)
        path, key = str(out / f"selected-{b:05d}.parquet"), _block_key(cb, sec)
        if is_done(path, key):
            stats = read_done(path)["stats"]
            parts.append(_from_table(pq.read_table(path), stats))
            continue
        pb = dataclasses.replace(light, queries=prep.queries.subset([prep.queries.ids[i] for i in idx]),
                                 pos_rows=prep.pos_rows[idx], excl=prep.excl[idx], excl_kinds=prep.excl_kinds[idx])
        parts.append(select_block.remote(cb, sec, pb, groups, path, key))
    refs = [p for p in parts if isinstance(p, ray.ObjectRef)]
    got = dict(zip(refs, ray.get(refs)))
    return concat([got[p] if isinstance(p, ray.ObjectRef) else p for p in parts])
