"""Idempotent shard outputs: atomic .npy/parquet writes and done markers that make runs resumable."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hardneg.data.jsonl import atomic_write


def write_npy(path: str | Path, arr: np.ndarray) -> None:
    """np.save through a temp file + rename, so a killed worker never leaves half an array."""
    with atomic_write(path, "wb") as f:
        np.save(f, np.ascontiguousarray(arr), allow_pickle=False)


def write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    with atomic_write(path, "wb") as f:
        np.savez(f, **arrays)


def write_parquet(path: str | Path, table: pa.Table) -> None:
    """Parquet without timestamps in its metadata: the same table gives the same bytes."""
    with atomic_write(path, "wb") as f:
        pq.write_table(table, f, compression="zstd", write_statistics=False)


def key_hash(key: dict) -> str:
    """A short stable hash of a JSON-able description of a step's inputs."""
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


def done_path(path: str | Path) -> Path:
    return Path(f"{path}.done")


def is_done(path: str | Path, key: str) -> bool:
    """True when `path` exists and its marker records the same input key."""
    marker = done_path(path)
    if not (marker.exists() and Path(path).exists()):
        return False
    try:
        return json.loads(marker.read_text()).get("key") == key
    except (OSError, ValueError):
        return False


def mark_done(path: str | Path, key: str, **info) -> None:
    """Write the done marker after the output itself is in place."""
    with atomic_write(done_path(path)) as f:
        json.dump({"key": key, **info}, f, sort_keys=True)


def clear(path: str | Path) -> None:
    for p in (done_path(path), Path(path)):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
