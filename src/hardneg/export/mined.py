"""Mined: what the exporters read — queries, their positives and chosen negatives, as corpus rows with scores."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from hardneg.io import atomic_dir


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
