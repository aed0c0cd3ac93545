"""Run folders: one run at a time (a lock file), a manifest of what the run wrote, resume or refuse a reused folder.

A folder holding a run with the same settings (config fingerprint) is resumed; one with other settings, or
other files, is refused unless `overwrite`, which removes only what the previous run wrote.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterator

from hardneg.checks import OptionError, check_out
from hardneg.data.jsonl import atomic_write

MANIFEST = ".hardneg-run.json"
LOCK = ".hardneg.lock"
# what runs wrote before manifests existed: cleared by --overwrite in a folder without a manifest
KNOWN = ("summary.json", "candidates.npz", "validation", "ray", "flag.jsonl", "triplet", "n-tuple", "labeled-pair",
         "labeled-list", "marginmse", "triplet.parquet", "n-tuple.parquet", "labeled-pair.parquet",
         "labeled-list.parquet", "marginmse.parquet")


def fingerprint(settings: dict) -> str:
    """A short hash of a run's settings (JSON with sorted keys)."""
    return hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lock_pid(lock: Path) -> int | None:
    try:
        return int(lock.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _check_lock(p: Path, option: str = "--out") -> None:
    """OptionError when a live process other than this one holds the folder's lock."""
    pid = _lock_pid(p / LOCK)
    if pid is not None and pid != os.getpid() and _alive(pid):
        raise OptionError(option, f"'{p}' is in use by another run (pid {pid}, {p / LOCK})")


def read_manifest(out: Path) -> dict | None:
    try:
        return json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def plan(out: str | Path, fp: str, overwrite: bool = False, option: str = "--out") -> str:
    """'new', 'resume' or 'overwrite' for running into `out`; OptionError when the folder is unusable or taken."""
    p = check_out(out, option)
    if not p.is_dir():
        return "new"
    _check_lock(p, option)
    if not os.access(p, os.W_OK | os.X_OK):
        raise OptionError(option, f"'{p}' is not writable")
    entries = [e.name for e in p.iterdir() if e.name not in (LOCK, MANIFEST)]
    if not entries:
        return "new"
    man = read_manifest(p)
    if man and man.get("fingerprint") == fp:
        return "resume"
    if overwrite:
        return "overwrite"
    what = "a run with other settings" if man else "files of its own"
    raise OptionError(option, f"'{p}' holds {what}; add --overwrite to replace that run, or choose another folder")


def _clear(p: Path) -> None:
    man = read_manifest(p)
    names = man.get("files", []) if man else KNOWN
    for name in names:
        target = p / name
        if target.resolve().parent != p.resolve():  # only direct children of the run folder
            continue
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
    (p / MANIFEST).unlink(missing_ok=True)


@contextlib.contextmanager
def claim(out: str | Path, fp: str, action: str) -> Iterator[Path]:
    """Create/lock the run folder for the body of the `with`; on success write the manifest of what it wrote."""
    p = Path(out)
    p.mkdir(parents=True, exist_ok=True)
    lock = p / LOCK
    _check_lock(p)  # another run may have started since plan()
    lock.write_text(f"{os.getpid()}\n", encoding="utf-8")
    try:
        if action == "overwrite":
            _clear(p)
        before = {e.name: e.stat().st_mtime_ns for e in p.iterdir()}
        prev = (read_manifest(p) or {}).get("files", []) if action == "resume" else []
        try:
            yield p
        finally:  # a failed run is recorded too, so a rerun resumes it and --overwrite clears it
            wrote = {e.name for e in p.iterdir() if before.get(e.name) != e.stat().st_mtime_ns}
            files = sorted((wrote | set(prev)) - {LOCK, MANIFEST})
            if files or prev:
                with atomic_write(p / MANIFEST) as f:
                    f.write(json.dumps({"fingerprint": fp, "files": files}, indent=2) + "\n")
    finally:
        lock.unlink(missing_ok=True)
