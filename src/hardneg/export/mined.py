"""Mined: what the exporters read — queries, their positives and chosen negatives, as corpus rows with scores."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hardneg.io import atomic_dir


@dataclass
class Mined:
    """Q queries with positives [Q, P] and negatives [Q, N] as corpus rows (-1 = pad), best first.

    Scores are the miner's (float32, NaN = pad); `scorer` names where they come from (e.g. `dense:minilm`).
    judge_pos / judge_neg: a judge's scores of the same pairs ([Q, P] / [Q, N], NaN = pad), named by `judge`;
    MarginMSE labels come from these, never from the miner.
    """

    query_ids: list[str]
    query_texts: list[str]
    pos_rows: np.ndarray
    pos_scores: np.ndarray
    neg_rows: np.ndarray
    neg_scores: np.ndarray
    doc_ids: list[str]
    doc_texts: list[str]
    scorer: str = ""
    prompt: str = ""
    judge_pos: np.ndarray | None = None
    judge_neg: np.ndarray | None = None
    judge: str = ""

    def __post_init__(self) -> None:
        q = len(self.query_ids)
        if len(self.query_texts) != q or self.pos_rows.shape[0] != q or self.neg_rows.shape[0] != q:
            raise ValueError("Mined needs one row per query in every array")
        self._qid = np.asarray(self.query_ids, dtype=object)
        self._qtext = np.asarray(self.query_texts, dtype=object)
        self._did = np.asarray(self.doc_ids, dtype=object)
        self._dtext = np.asarray(self.doc_texts, dtype=object)

    def qids(self, i: np.ndarray) -> list:
        return self._qid[i].tolist()

    def queries(self, i: np.ndarray) -> list:
        return self._qtext[i].tolist()

    def dids(self, rows: np.ndarray) -> list:
        return self._did[rows].tolist()

    def texts(self, rows: np.ndarray) -> list:
        return self._dtext[rows].tolist()


def join_positives(pos_rows: np.ndarray, pos_scores: np.ndarray, extra_rows: np.ndarray | None,
                   extra_scores: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Known positives [Q, P] followed by extra ones [Q, R] (e.g. relabelled by validation), -1 / NaN pad."""
    if extra_rows is None or not extra_rows.shape[1]:
        return pos_rows, pos_scores
    return (np.concatenate([pos_rows, extra_rows], 1).astype(np.int64),
            np.concatenate([pos_scores, extra_scores], 1).astype(np.float32))


def table_hash(table) -> str:
    """A content hash of a pyarrow Table (used as the HF dataset fingerprint, so saves are byte-identical)."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return hashlib.blake2b(sink.getvalue().to_pybytes(), digest_size=8).hexdigest()


def write_hf(path: str | Path, table) -> Path:
    """Save a pyarrow Table as a Hugging Face dataset folder (load with datasets.load_from_disk), atomically."""
    from datasets import Dataset

    import datasets
    from datasets.table import InMemoryTable

    ds = Dataset(InMemoryTable(table), fingerprint=table_hash(table))
    was_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        with atomic_dir(path) as tmp:
            ds.save_to_disk(str(tmp))
    finally:
        if was_on:
            datasets.enable_progress_bars()
    return Path(path)
