"""Line-numbered JSONL/TSV reading (plain or .gz) and atomic writing."""

from __future__ import annotations

import codecs
import contextlib
import gzip
import json
import zlib
from pathlib import Path
from typing import Iterator

from hardneg.data.errors import DataError
from hardneg.io import atomic_write, umask_mode  # noqa: F401 - re-exported for older callers


def open_text(path: str | Path, mode: str = "rt"):
    """A UTF-8 text file, plain or .gz; reading skips a leading byte-order mark."""
    path = Path(path)
    enc = "utf-8-sig" if "r" in mode else "utf-8"
    if path.suffix == ".gz":
        return gzip.open(path, mode, encoding=enc, newline="")
    return open(path, mode, encoding=enc, newline="")


@contextlib.contextmanager
def gzip_errors(path: str | Path) -> Iterator[None]:
    """Turn a corrupt or truncated .gz file's errors into one DataError naming the file."""
    try:
        yield
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise DataError(f"corrupt gzip file ({e or type(e).__name__})", path) from None


def find(path: Path) -> Path | None:
    """`path` or `path.gz`, whichever exists."""
    for p in (path, path.with_name(path.name + ".gz")):
        if p.exists():
            return p
    return None


def read_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield (line number, text) of a UTF-8 file (plain or .gz); bad bytes raise DataError naming the line."""
    path = Path(path)
    with gzip_errors(path), (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
        for n, raw in enumerate(f, 1):
            if n == 1 and raw.startswith(codecs.BOM_UTF8):  # as json/csv readers elsewhere accept it
                raw = raw[len(codecs.BOM_UTF8):]
            try:
                yield n, raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"not valid UTF-8 ({e.reason} at byte {e.start})", path, n) from None


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for each non-blank line; malformed lines raise DataError."""
    for n, line in read_lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"malformed JSON ({e.msg} at column {e.colno})", path, n) from None
        if not isinstance(obj, dict):
            raise DataError("expected a JSON object", path, n)
        yield n, obj


def dumps(obj: dict) -> str:
    """The one JSON line format we write (matches BEIR's files byte for byte)."""
    return json.dumps(obj, ensure_ascii=False)


def write_jsonl(path: str | Path, rows) -> None:
    with atomic_write(path) as f:
        for row in rows:
            f.write(dumps(row) + "\n")
