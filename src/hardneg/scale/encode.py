"""Batch encoding on Ray Data: model actors (one GPU each where GPUs exist) turn text shards into .npy shards."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow.parquet as pq

from hardneg.types import Corpus
from hardneg.scale.search import EmbShard, crash_once
from hardneg.io import fingerprint, is_done, mark_done, write_npy

log = logging.getLogger(__name__)


def shard_texts(path: str) -> list[str]:
    """The texts to encode from a parquet shard: title + text for documents (as Corpus.full_texts), text for queries."""
    t = pq.read_table(path).to_pydict()
    if "title" in t:
        return Corpus(t["_id"], t["title"], t["text"]).full_texts()
    return list(t["text"])


class EncodeShards:
    """A Ray Data actor: loads the model once, then encodes whole shards through the embedding cache
    (hardneg.retrieve.cache, as the single-process engine does) and stores each shard atomically."""

    def __init__(self, model: str, backend: str, batch_size: int, normalize: bool, cache: str | None = None,
                 device: str | None = None, precision: str = "fp32"):
        from hardneg.models.load import load_sentence_transformer

        if cache:  # the driver's cache folder (shared storage on a real cluster, else node-local)
            os.environ["HARDNEG_CACHE"] = cache
        # precision: one the driver already resolved and checked against fp32 (RayDense.index)
        self.model = load_sentence_transformer(model, backend=backend, device=device, precision=precision)
        self.batch_size, self.normalize = batch_size, normalize

    def __call__(self, batch: dict) -> dict:
        from hardneg.retrieve.cache import encode_cached

        rows = []
        for src, out, prompt, key in zip(batch["src"], batch["out"], batch["prompt"], batch["key"]):
            crash_once("encode")
            emb, _ = encode_cached(self.model, shard_texts(str(src)), prompt=str(prompt) or None,
                                   batch_size=self.batch_size, normalize=self.normalize, show_progress=False)
            write_npy(str(out), emb)
            mark_done(str(out), str(key), rows=int(emb.shape[0]), dim=int(emb.shape[1]))
            rows.append(emb.shape[0])
        return {"out": batch["out"], "rows": np.asarray(rows, np.int64)}


def encode_shards(jobs: list[tuple[str, str, str | None]], model: str, *, backend: str = "torch",
                  batch_size: int = 32, normalize: bool = True, concurrency: int = 1, gpus_per_actor: float = 0,
                  progress: Callable[[int], None] | None = None, precision: str = "fp32") -> list[str]:
    """Encode parquet text shards, jobs = [(source, output .npy, prompt)], into float32 [rows, dim] arrays.

    Finished shards are skipped; one actor pool serves all jobs, each actor takes `gpus_per_actor` GPUs.
    precision: fp32, bf16, fp16 or int8, already checked against fp32 by the caller (not auto).
    """
    from hardneg.models.runtime import check_precision

    if check_precision(precision) == "auto":
        raise ValueError("encode_shards takes a resolved precision (fp32, bf16, fp16 or int8), not auto")
    import ray.data

    from hardneg.models.load import fingerprint as model_fingerprint, resolve_model

    model_fp = model_fingerprint(resolve_model(model))
    outs, items = [], []
    for src, p, prompt in jobs:
        st = Path(src).stat()
        key = fingerprint({"src": str(src), "size": st.st_size, "mtime": st.st_mtime_ns, "model": model_fp,
                        "backend": backend, "prompt": prompt, "normalize": normalize,
                        **({"precision": precision} if precision != "fp32" else {})})
        outs.append(p)
        if is_done(p, key):
            if progress:
                progress(1)
        else:
            Path(p).parent.mkdir(parents=True, exist_ok=True)
            items.append({"src": str(src), "out": p, "prompt": prompt or "", "key": key})
    if not items:
        return outs
    log.info("encoding %d of %d shards with %d actor(s)", len(items), len(jobs), concurrency)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.execution_options.preserve_order = True
    ds = ray.data.from_items(items, override_num_blocks=len(items))
    ds = ds.map_batches(EncodeShards, batch_size=1,
                        compute=ray.data.ActorPoolStrategy(size=max(1, min(concurrency, len(items)))),
                        num_cpus=1, **({"num_gpus": gpus_per_actor} if gpus_per_actor else {}),
                        fn_constructor_kwargs={"model": model, "backend": backend, "batch_size": batch_size,
                                               "normalize": normalize, "cache": os.environ.get("HARDNEG_CACHE"),
                                               "precision": precision})
    for _ in ds.iter_rows():
        if progress:
            progress(1)
    return outs


def shards_of(paths: list[str]) -> list[EmbShard]:
    """EmbShards with global start rows, from .npy shards in corpus order (rows read from the headers)."""
    shards, start = [], 0
    for p in paths:
        n = int(np.load(p, mmap_mode="r").shape[0])
        shards.append(EmbShard(p, start, n))
        start += n
    return shards
