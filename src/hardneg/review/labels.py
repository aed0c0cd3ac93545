"""review.jsonl: a person's decisions on suspected false negatives, appended one JSON line at a time.

Each line: {"query_id", "doc_id", "label", "previous", "time"}; the last line for a pair wins. `read_review` is
the one reader of the file; `append` is the one writer (a lock, then append + flush + fsync).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path


from hardneg.data.errors import DataError
from hardneg.data.jsonl import dumps

LABELS = ("negative", "false_negative", "relevant", "skip")
ACTIONS = ("drop", "relabel", "drop-query", "keep")  # what a validation proposed (the `previous` field)
KEYS = ("query_id", "doc_id", "label", "previous", "time")
_lock = threading.Lock()  # one writer at a time within this process; flock covers other processes


def _lines(path: Path) -> list[tuple[int, bytes]]:
    data = path.read_bytes()
    lines = data.split(b"\n")
    out = [(i + 1, x) for i, x in enumerate(lines) if x.strip()]
    if out and not data.endswith(b"\n"):  # a trailing line cut short by a crash: kept only if it parses
        try:
            json.loads(out[-1][1])
        except ValueError:
            out.pop()
    return out


def check(obj, where: Path | str = "review", line: int | None = None) -> dict:
    """A decision dict with the five keys, a known label and string ids; raises DataError naming the field."""
    if not isinstance(obj, dict):
        raise DataError("expected a JSON object", where, line)
    for k in KEYS:
        if not isinstance(obj.get(k), str) or (k in ("query_id", "doc_id", "label") and not obj[k]):
            raise DataError("missing or not a string", where, line, field=k)
    if obj["label"] not in LABELS:
        raise DataError(f"label must be one of {', '.join(LABELS)}, not '{obj['label']}'", where, line, field="label")
    return {k: obj[k] for k in KEYS}


def read_decisions(path: str | Path) -> list[dict]:
    """Every decision line in file order (a missing file is empty); malformed lines raise DataError."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    for n, raw in _lines(path):
        try:
            obj = json.loads(raw)
        except ValueError as e:
            raise DataError(f"malformed JSON ({e})", path, n) from None
        out.append(check(obj, path, n))
    return out


def read_review(path: str | Path) -> dict[tuple[str, str], str]:
    """{(query_id, doc_id): label} from review.jsonl, the last line for a pair winning; labels are
    negative (keep), false_negative (drop), relevant (a positive) or skip."""
    return {(d["query_id"], d["doc_id"]): d["label"] for d in read_decisions(path)}


def now() -> str:
    """The current time, ISO-8601 UTC to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def decision(query_id: str, doc_id: str, label: str, previous: str, time: str | None = None) -> dict:
    """A checked decision dict (DataError on an unknown label or an empty id)."""
    return check({"query_id": query_id, "doc_id": doc_id, "label": label, "previous": previous,
                  "time": time or now()})


def append(path: str | Path, decisions: list[dict]) -> None:
    """Append decisions to review.jsonl under a lock, flushed and fsynced before returning. A trailing line
    cut short by a crash is cut off first, so the file stays one JSON object per line."""
    path = Path(path)
    body = "".join(dumps(check(d)) + "\n" for d in decisions).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock, open(path, "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            size = f.seek(0, os.SEEK_END)
            if size:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    f.seek(0)
                    data = f.read()
                    cut = data.rfind(b"\n") + 1
                    try:
                        json.loads(data[cut:])
                        f.write(b"\n")  # a whole object missing only its newline
                    except ValueError:
                        f.truncate(cut)
            f.seek(0, os.SEEK_END)
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def resolve(path: str | Path, run_dir: str | Path | None = None) -> Path:
    """A review file as given, else inside run_dir (so `--review review.jsonl` finds RUN_DIR/review.jsonl)."""
    p = Path(path)
    if not p.exists() and run_dir is not None and (Path(run_dir) / p).exists():
        p = Path(run_dir) / p
    if not p.exists():
        raise DataError("no such review file", p)
    return p


def write_relabelled(path: str | Path, labels: dict[tuple[str, str], str], query_ids, doc_ids) -> int:
    """BEIR qrels (query-id, corpus-id, score 1) of the pairs reviewed as `relevant` whose query and document
    are known, sorted, written atomically; returns how many. No file when there are none."""
    from hardneg.data.jsonl import atomic_write

    qs, ds = set(query_ids), set(doc_ids)
    pairs = sorted(k for k, v in labels.items() if v == "relevant" and k[0] in qs and k[1] in ds)
    if pairs:
        with atomic_write(path) as f:
            f.write("query-id\tcorpus-id\tscore\n")
            f.writelines(f"{q}\t{d}\t1\n" for q, d in pairs)
    return len(pairs)
