"""Writing outputs: one atomic file write, one atomic folder write, one parquet/npy/npz writer, one fingerprint
and one done marker. Every stage and engine writes through these, so a killed run never leaves half a file and a
rerun can tell a finished output (its marker records the same fingerprint) from one to redo.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np


def umask_mode(base: int = 0o666) -> int:
    """`base` less the process umask: the mode open() would give a new file (0o777 for folders)."""
    try:  # Linux: read it, without the set-and-restore window other threads could write in
        with open("/proc/self/status", encoding="ascii") as f:
            mask = next(int(x.split()[1], 8) for x in f if x.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0)
        os.umask(mask)
    return base & ~mask


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w") -> Iterator[io.TextIOBase]:
    """Write to a temporary file beside `path`, then rename: readers never see half a file.

    The file gets the umask's mode (as open() would give it), not mkstemp's 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, umask_mode())
    os.close(fd)
    try:
        if path.suffix == ".gz":
            f = gzip.open(tmp, mode + "t" if "b" not in mode else mode, encoding="utf-8", newline="")
        elif "b" in mode:
            f = open(tmp, mode)
        else:
            f = open(tmp, mode, encoding="utf-8", newline="")
        with f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """A temporary folder beside `path`, renamed into place on success (the old folder is removed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    tmp.chmod(umask_mode(0o777))  # mkdtemp's 0700 would outlive the rename
    try:
        yield tmp
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
            os.replace(path, old / "x")
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_parquet(path: str | Path, table) -> Path:
    """A pyarrow Table as parquet, atomically; parquet holds no timestamp, so the same table gives the same bytes."""
    import pyarrow.parquet as pq

    with atomic_write(path, "wb") as f:
        pq.write_table(table, f)
    return Path(path)


def write_npy(path: str | Path, arr: np.ndarray) -> None:
    """np.save through a temp file + rename, so a killed worker never leaves half an array."""
    with atomic_write(path, "wb") as f:
        np.save(f, np.ascontiguousarray(arr), allow_pickle=False)


def write_npz(path: str | Path, **arrays: np.ndarray) -> Path:
    """np.savez, atomically and byte-stable: zip entries carry a fixed date, not the time of writing."""
    with atomic_write(path, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with z.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(arr), allow_pickle=False)
    return Path(path)


def fingerprint(settings) -> str:
    """A short stable hash of JSON-able settings (keys sorted): what makes two runs, steps or blocks the same."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def done_path(path: str | Path) -> Path:
    """The done marker of an output: `<path>.done` beside it."""
    return Path(f"{path}.done")


def read_done(path: str | Path) -> dict | None:
    """The marker's JSON, or None when it is missing or unreadable."""
    try:
        return json.loads(done_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_done(path: str | Path, key: str, outputs: Iterable[str | Path] | None = None) -> bool:
    """True when the marker of `path` records `key` and every output (default: `path` itself) exists."""
    info = read_done(path)
    if not info or info.get("key") != key:
        return False
    return all(Path(p).exists() for p in (outputs if outputs is not None else [path]))


def mark_done(path: str | Path, key: str, **info) -> None:
    """Write the done marker after the output itself is in place."""
    with atomic_write(done_path(path)) as f:
        json.dump({"key": key, **info}, f, sort_keys=True)


def clear(path: str | Path) -> None:
    """Remove an output and its marker (marker first: a half-removed output is never taken as done)."""
    for p in (done_path(path), Path(path)):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)
