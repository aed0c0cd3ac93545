"""The judge contract and an on-disk cache of pair scores (sqlite, keyed by judge id + query + doc)."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

import numpy as np

from hardneg.paths import cache_dir

log = logging.getLogger(__name__)


@runtime_checkable
class Judge(Protocol):
    """Scores (anchor, doc) pairs, float32, higher = more relevant (or more similar).

    compares = "query": anchors are query texts; "positives": anchors are the query's positive texts and
    the core keeps the max over positives (near-duplicate detection).
    """

    name: str
    units: str
    compares: str

    def score_pairs(self, queries: list[str], docs: list[str]) -> np.ndarray:
        """float32 [n] scores of the pairs (queries[i], docs[i]); NaN = no answer (e.g. malformed reply)."""


def _key(judge_id: str, q: str, d: str) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for part in (judge_id, q, d):
        b = part.encode("utf-8")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.digest()


class PairCache:
    """Pair scores on disk so a re-run (e.g. with another rule) costs nothing. NaN answers are not stored."""

    def __init__(self, judge_id: str, path: Path | None = None):
        self.judge_id = judge_id
        name = hashlib.blake2b(judge_id.encode(), digest_size=8).hexdigest()
        self.path = path or cache_dir("judges") / f"{name}.sqlite"
        self.hits = 0
        with self._connect() as con:
            con.execute("CREATE TABLE IF NOT EXISTS s (k BLOB PRIMARY KEY, v REAL NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def scores(self, queries: list[str], docs: list[str], fn: Callable[[list[str], list[str]], np.ndarray]
               ) -> np.ndarray:
        """Cached scores of the pairs; `fn` is called once on the unique missing pairs."""
        keys = [_key(self.judge_id, q, d) for q, d in zip(queries, docs)]
        found: dict[bytes, float] = {}
        uniq = list(dict.fromkeys(keys))
        with self._connect() as con:
            for i in range(0, len(uniq), 500):
                chunk = uniq[i:i + 500]
                marks = ",".join("?" * len(chunk))
                found.update(con.execute(f"SELECT k, v FROM s WHERE k IN ({marks})", chunk).fetchall())
        self.hits += sum(k in found for k in keys)
        first: dict[bytes, int] = {}
        for i, k in enumerate(keys):
            if k not in found and k not in first:
                first[k] = i
        if first:
            idx = list(first.values())
            new = np.asarray(fn([queries[i] for i in idx], [docs[i] for i in idx]), dtype=np.float32)
            fresh = {k: float(v) for k, v in zip(first, new)}
            found.update(fresh)
            rows = [(k, v) for k, v in fresh.items() if not np.isnan(v)]
            with self._connect() as con:
                con.executemany("INSERT OR REPLACE INTO s (k, v) VALUES (?, ?)", rows)
        return np.array([found[k] for k in keys], dtype=np.float32)
