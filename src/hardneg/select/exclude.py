"""Positives are never negatives: qrels positives, docs whose normalised text equals a positive's, pooled positives."""

from __future__ import annotations

import re
import unicodedata

import numpy as np

KIND_NAMES = ("positive", "pooled-positive", "same-text")  # codes 0, 1, 2
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Casefold, drop punctuation, collapse whitespace."""
    t = "".join(ch for ch in text.casefold() if not unicodedata.category(ch).startswith("P"))
    return _SPACE.sub(" ", t).strip()


def text_groups(texts: list[str]) -> np.ndarray:
    """int64 [D]: for each text, the first row whose normalised text is the same."""
    first: dict[str, int] = {}
    return np.fromiter((first.setdefault(normalise(t), i) for i, t in enumerate(texts)), dtype=np.int64,
                       count=len(texts))


def excluded_rows(query_texts: list[str], positives: list[list[int]],
                  groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows int64 [Q, E], kinds int8 [Q, E]) of what each query must never take as a negative (-1 = pad).

    Kinds index KIND_NAMES: the query's own positives, positives of queries with the same normalised text,
    and any document whose normalised text equals one of those positives.
    """
    pooled: dict[str, set[int]] = {}
    keys = [normalise(t) for t in query_texts]
    for key, pos in zip(keys, positives):
        pooled.setdefault(key, set()).update(pos)
    uniq, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    members: dict[int, list[int]] = {}
    if (counts > 1).any():
        multi = np.nonzero(counts[inverse] > 1)[0]
        for row in multi.tolist():
            members.setdefault(int(groups[row]), []).append(row)
    per_query = []
    for key, pos in zip(keys, positives):
        own = list(dict.fromkeys(pos))
        kind = {r: 0 for r in own}
        for r in sorted(pooled[key]):
            kind.setdefault(r, 1)
        for r in list(kind):
            for m in members.get(int(groups[r]), ()):
                kind.setdefault(m, 2)
        per_query.append(kind)
    e = max((len(d) for d in per_query), default=0)
    rows = np.full((len(positives), e), -1, dtype=np.int64)
    kinds = np.full((len(positives), e), -1, dtype=np.int8)
    for i, d in enumerate(per_query):
        rows[i, :len(d)] = list(d)
        kinds[i, :len(d)] = list(d.values())
    return rows, kinds


def match_kinds(rows: np.ndarray, excl: np.ndarray, kinds: np.ndarray, block: int = 2048) -> np.ndarray:
    """int8 [Q, K]: the exclusion kind of each candidate row (-1 = allowed), in query blocks to bound memory."""
    out = np.full(rows.shape, -1, dtype=np.int8)
    if excl.shape[1] == 0:
        return out
    for s in range(0, rows.shape[0], block):
        r, e, k = rows[s:s + block], excl[s:s + block], kinds[s:s + block]
        eq = (r[:, :, None] == e[:, None, :]) & (e[:, None, :] >= 0)
        hit = eq.any(axis=2)
        first = eq.argmax(axis=2)
        out[s:s + block] = np.where(hit, np.take_along_axis(k, first, axis=1), -1)
    return out
