"""Find a dataset folder by path or BEIR name; download a public BEIR zip once into the cache."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from hardneg.data.errors import DataError
from hardneg.paths import cache_dir

log = logging.getLogger(__name__)

BEIR_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/{name}.zip"
BEIR_NAMES = ("scifact", "nfcorpus", "arguana", "fiqa", "scidocs", "trec-covid", "webis-touche2020", "quora",
              "nq", "hotpotqa", "fever", "climate-fever", "dbpedia-entity", "msmarco", "cqadupstack")


def shared_dirs() -> list[Path]:
    """Where local copies of the datasets may sit: ../shared/datasets beside the repo, then beside the cwd."""
    repo = Path(__file__).resolve().parents[3]
    return [repo.parent / "shared" / "datasets", Path.cwd().parent / "shared" / "datasets"]


def resolve_dataset(name_or_path: str | Path, url: str | None = None) -> Path:
    """An existing folder as is; else a dataset name from ../shared/datasets, the cache, or a one-time download."""
    p = Path(name_or_path)
    if p.is_dir():
        return p
    name = str(name_or_path)
    if "/" in name or os.sep in name:
        raise DataError("dataset folder does not exist", p)
    for root in shared_dirs():
        if (root / name).is_dir():
            return root / name
    cached = cache_dir("datasets") / name
    if cached.is_dir():
        return cached
    if url is None and name not in BEIR_NAMES:
        raise DataError(f"unknown dataset '{name}': not a folder, not in ../shared/datasets, not a BEIR name "
                        f"({', '.join(BEIR_NAMES)})", name)
    return download_beir(name, url or BEIR_URL.format(name=name))


def download_beir(name: str, url: str) -> Path:
    """Download a BEIR zip and unpack it atomically into cache_dir('datasets')/name."""
    dest = cache_dir("datasets") / name
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{name}."))
    try:
        zpath = tmp / f"{name}.zip"
        log.info("downloading %s", url)
        with urllib.request.urlopen(url, timeout=60) as r, open(zpath, "wb") as f:
            shutil.copyfileobj(r, f, length=1 << 20)
        with zipfile.ZipFile(zpath) as z:
            z.extractall(tmp / "unzipped")
        top = tmp / "unzipped" / name  # BEIR zips hold one top-level folder named after the set
        src = top if top.is_dir() else tmp / "unzipped"
        if not (src / "corpus.jsonl").exists() and not (src / "corpus.jsonl.gz").exists():
            raise DataError("downloaded archive has no corpus.jsonl", url)
        try:
            os.replace(src, dest)
        except OSError:
            if not dest.is_dir():  # another process may have finished first; otherwise re-raise
                raise
    except OSError as e:
        raise DataError(f"cannot download dataset '{name}' ({e})", url) from None
    except zipfile.BadZipFile as e:
        raise DataError(f"downloaded file is not a zip ({e})", url) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
