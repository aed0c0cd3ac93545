"""Near-duplicate judge: similarity of a candidate to a positive (normalised text, word n-grams, MinHash)."""

from __future__ import annotations

import re
import unicodedata
import zlib

import numpy as np

_WORD = re.compile(r"\w+")
_PRIME = np.uint64((1 << 61) - 1)


def normalise(text: str) -> str:
    """Lower-cased NFKC words joined by single spaces (punctuation and spacing ignored)."""
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).lower()))


def shingles(text: str, n: int) -> set[str]:
    """Word n-grams of the normalised text (the whole text when it has fewer than n words)."""
    words = normalise(text).split()
    if len(words) < n:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


class MinHasher:
    """MinHash signatures with `num_perm` universal hashes drawn from a fixed seed (stable across runs)."""

    def __init__(self, num_perm: int = 128, seed: int = 1):
        rng = np.random.default_rng(seed)
        # a, b < 2^32 and 32-bit shingle hashes: a * h + b stays below 2^64, so no overflow before the mod
        self.a = rng.integers(1, 1 << 32, num_perm, dtype=np.uint64)
        self.b = rng.integers(0, 1 << 32, num_perm, dtype=np.uint64)

    def signature(self, grams: set[str]) -> np.ndarray:
        """uint64 [num_perm]; crc32 hashes keep it independent of Python's per-process hash seed."""
        if not grams:
            return np.full(self.a.shape, np.iinfo(np.uint64).max, dtype=np.uint64)
        h = np.fromiter((zlib.crc32(g.encode("utf-8")) for g in grams), dtype=np.uint64, count=len(grams))
        return ((h[:, None] * self.a[None, :] + self.b[None, :]) % _PRIME).min(axis=0)


class DupJudge:
    """Score = similarity in [0, 1] between (positive, candidate): 1/0 for exact, Jaccard or MinHash estimate."""

    compares = "positives"

    def __init__(self, method: str = "jaccard", ngram: int = 3, threshold: float = 0.8, name: str = "dup",
                 num_perm: int = 128):
        self.method, self.ngram, self.name = method, ngram, name
        self.threshold = 1.0 if method == "exact" else float(threshold)
        self.units = "exact match 0/1" if method == "exact" else f"word {ngram}-gram {method} similarity [0,1]"
        self._hasher = MinHasher(num_perm) if method == "minhash" else None

    def _features(self, texts: list[str]) -> dict[str, object]:
        uniq = dict.fromkeys(texts)
        if self.method == "exact":
            return {t: normalise(t) for t in uniq}
        grams = {t: shingles(t, self.ngram) for t in uniq}
        if self._hasher is None:
            return grams
        return {t: self._hasher.signature(g) for t, g in grams.items()}

    def score_pairs(self, queries: list[str], docs: list[str]) -> np.ndarray:
        """float32 [n] similarity of each (positive text, candidate text) pair."""
        feats = self._features(list(queries) + list(docs))
        if self.method == "exact":
            return np.array([feats[a] == feats[b] for a, b in zip(queries, docs)], dtype=np.float32)
        if self.method == "jaccard":
            return np.array([jaccard(feats[a], feats[b]) for a, b in zip(queries, docs)], dtype=np.float32)
        if not len(queries):
            return np.zeros(0, np.float32)
        sa = np.stack([feats[a] for a in queries])
        sb = np.stack([feats[b] for b in docs])
        return (sa == sb).mean(axis=1).astype(np.float32)
