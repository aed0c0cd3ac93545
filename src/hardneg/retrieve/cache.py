"""On-disk embedding cache: only texts never encoded before (by this exact model setup) are encoded.

Layout: cache_dir("embeddings", <setup key>) holds shards written by each encode call:
`<id>.emb.npy` (float32 [n, dim]) and `<id>.keys.npy` (16-byte text hashes, written last, so a shard
counts only once both exist). Files are written atomically; concurrent readers are safe.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hardneg.models.load import model_fingerprint
from hardneg.paths import cache_dir

log = logging.getLogger(__name__)
CHUNK = 2048  # texts per encode call (progress granularity)


@dataclass
class CacheStats:
    """How many texts came from the cache (hits) and how many were encoded (misses)."""

    hits: int = 0
    misses: int = 0

    def __iadd__(self, other: "CacheStats") -> "CacheStats":
        self.hits += other.hits
        self.misses += other.misses
        return self


def text_hashes(texts: list[str]) -> np.ndarray:
    """16-byte blake2b digest of each text, as a numpy 'S16' array."""
    return np.array([hashlib.blake2b(t.encode("utf-8"), digest_size=16).digest() for t in texts], dtype="S16")


def setup_key(model, prompt: str | None, normalize: bool) -> str:
    """Cache key of everything that changes an embedding besides the text."""
    parts = [model_fingerprint(model), f"prompt={prompt!r}", f"norm={normalize}",
             f"maxlen={getattr(model, 'max_seq_length', None)}",
             f"backend={getattr(model, 'backend', 'torch')}"]
    precision = getattr(model, "_hardneg_precision", "fp32")
    if precision != "fp32":  # fp32 keys stay as before, so existing caches still hit
        parts.append(f"precision={precision}")
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=12).hexdigest()


class EmbeddingStore:
    """The shards of one setup key."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _shards(self) -> list[str]:
        return sorted(p.name[:-len(".keys.npy")] for p in self.folder.glob("*.keys.npy"))

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(shard number or -1, row) for each key, and the shard names."""
        names = self._shards()
        shard = np.full(len(keys), -1, dtype=np.int64)
        row = np.zeros(len(keys), dtype=np.int64)
        if not names or not len(keys):
            return shard, row, names
        all_keys = [np.load(self.folder / f"{n}.keys.npy") for n in names]
        cat = np.concatenate(all_keys)
        owner = np.repeat(np.arange(len(names)), [len(a) for a in all_keys])
        local = np.concatenate([np.arange(len(a)) for a in all_keys])
        order = np.argsort(cat, kind="stable")
        sk = cat[order]
        pos = np.clip(np.searchsorted(sk, keys), 0, len(sk) - 1)
        found = sk[pos] == keys
        shard[found] = owner[order[pos[found]]]
        row[found] = local[order[pos[found]]]
        return shard, row, names

    def read(self, shard: np.ndarray, row: np.ndarray, names: list[str], out: np.ndarray) -> None:
        """Fill out[i] from (shard[i], row[i]) for each i with shard >= 0."""
        for s in np.unique(shard[shard >= 0]):
            sel = np.nonzero(shard == s)[0]
            emb = np.load(self.folder / f"{names[s]}.emb.npy", mmap_mode="r")
            out[sel] = emb[row[sel]]

    def write(self, keys: np.ndarray, emb: np.ndarray) -> None:
        name = uuid.uuid4().hex
        for suffix, arr in ((".emb.npy", emb), (".keys.npy", keys)):  # keys last: they commit the shard
            path = self.folder / f"{name}{suffix}"
            tmp = self.folder / f".{name}{suffix}.tmp"
            with open(tmp, "wb") as f:
                np.save(f, arr)
            os.replace(tmp, path)


def encode_cached(model, texts: list[str], *, prompt: str | None = None, batch_size: int = 32,
                  normalize: bool = True, show_progress: bool = True,
                  desc: str = "encoding") -> tuple[np.ndarray, CacheStats]:
    """Embeddings (float32 [N, dim]; unit length if normalize) for texts, encoding only cache misses.

    `prompt` is a prompt string or the name of one of the model's prompts (model.prompts).
    """
    prompts = getattr(model, "prompts", None) or {}
    if prompt is not None and prompt in prompts:
        prompt = prompts[prompt]
    prompt = prompt or None
    store = EmbeddingStore(cache_dir("embeddings", setup_key(model, prompt, normalize)))
    keys = text_hashes(texts)
    uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    shard, row, names = store.lookup(uniq)
    get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = get_dim()
    out = np.zeros((len(uniq), dim or 0), dtype=np.float32)
    store.read(shard, row, names, out)
    miss = np.nonzero(shard < 0)[0]
    if len(miss):
        miss_texts = [texts[i] for i in first[miss]]
        emb = _encode(model, miss_texts, prompt, batch_size, normalize, show_progress, desc)
        if out.shape[1] != emb.shape[1]:
            out = np.zeros((len(uniq), emb.shape[1]), dtype=np.float32)
            store.read(shard, row, names, out)
        out[miss] = emb
        store.write(uniq[miss], emb)
    stats = CacheStats(hits=len(texts) - len(miss), misses=len(miss))
    log.debug("embedding cache %s: %d hits, %d misses", store.folder.name, stats.hits, stats.misses)
    return out[inverse.reshape(-1)], stats


def _encode(model, texts: list[str], prompt: str | None, batch_size: int, normalize: bool,
            show_progress: bool, desc: str) -> np.ndarray:
    """Encode longest-first in chunks (as sentence-transformers sorts), with a rich progress bar."""
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out = None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*cols, transient=True, disable=not show_progress) as bar:
        task = bar.add_task(desc, total=len(texts))
        for c0 in range(0, len(texts), CHUNK):
            idx = order[c0:c0 + CHUNK]
            emb = model.encode([texts[i] for i in idx], prompt=prompt, batch_size=batch_size,
                               normalize_embeddings=normalize, convert_to_numpy=True,
                               show_progress_bar=False)
            emb = np.asarray(emb, dtype=np.float32)
            if out is None:
                out = np.empty((len(texts), emb.shape[1]), dtype=np.float32)
            out[idx] = emb
            bar.advance(task, len(idx))
    return out
