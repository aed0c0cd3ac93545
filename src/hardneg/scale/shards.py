"""Corpus shards: plan the shard size, split jsonl/parquet input into parquet shards, read them back."""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hardneg.data.beir import doc_rows
from hardneg.data.errors import DataError
from hardneg.data.jsonl import find, read_jsonl
from hardneg.io import fingerprint, is_done, mark_done, read_done
from hardneg.types import Corpus
from hardneg.io import write_parquet

log = logging.getLogger(__name__)

SCHEMA = pa.schema([("_id", pa.string()), ("title", pa.string()), ("text", pa.string())])


@dataclass(frozen=True)
class Shard:
    """Corpus rows [start, stop) stored in `path` (parquet: _id, title, text)."""

    index: int
    start: int
    stop: int
    path: str

    @property
    def rows(self) -> int:
        return self.stop - self.start


def plan_shard_rows(n_rows: int, dim: int, workers: int, shard_mb: float = 256.0) -> int:
    """Rows per shard: the float32 embeddings of one shard fit in `shard_mb` MiB, and there are at
    least as many shards as workers so that every worker searches one."""
    if n_rows <= 0:
        return 1
    by_memory = math.ceil(n_rows * dim * 4 / (shard_mb * 1024 * 1024))
    n_shards = min(n_rows, max(by_memory, workers, 1))
    return math.ceil(n_rows / n_shards)


def corpus_source(path: str | Path) -> list[Path]:
    """The input files of a corpus: a BEIR folder's corpus.jsonl, a file, or a folder of shards
    (*.parquet or *.jsonl[.gz], in name order)."""
    p = Path(path)
    if p.is_dir():
        beir = find(p / "corpus.jsonl")
        if beir is not None:
            return [beir]
        files = sorted(f for f in p.iterdir() if f.name.endswith((".parquet", ".jsonl", ".jsonl.gz")))
        if not files:
            raise DataError("no corpus.jsonl, *.parquet or *.jsonl files in folder", p)
        return files
    if not p.exists():
        raise DataError("corpus path does not exist", p)
    return [p]


def count_rows(files: list[Path]) -> int:
    """Row count without parsing: parquet metadata, non-blank jsonl lines (an upper bound if some
    documents are later skipped)."""
    n = 0
    for f in files:
        if f.suffix == ".parquet":
            n += pq.ParquetFile(f).metadata.num_rows
        else:
            from hardneg.data.jsonl import open_text

            with open_text(f) as fh:
                n += sum(1 for line in fh if line.strip())
    return n


def _iter_docs(files: list[Path]):
    """Yield (file, line, row) in file order from JSONL and parquet files, for doc_rows to validate."""
    for f in files:
        if f.suffix == ".parquet":
            pf = pq.ParquetFile(f)
            names = set(pf.schema_arrow.names)
            for col in ("_id", "text"):
                if col not in names:
                    raise DataError(f"missing column (columns: {', '.join(sorted(names))})", f, None, col)
            n = 0
            for batch in pf.iter_batches(batch_size=8192):
                d = batch.to_pydict()
                titles = d.get("title") or [""] * batch.num_rows
                for i, t, x in zip(d["_id"], titles, d["text"]):
                    n += 1
                    yield f, n, {"_id": i, "title": t, "text": x}
        else:
            for n, obj in read_jsonl(f):
                yield f, n, obj


def write_shards(source: str | Path, out_dir: str | Path, shard_rows: int,
                 skip_invalid: bool = False) -> list[Shard]:
    """Stream the corpus into parquet shards of `shard_rows` rows under out_dir; reuse a finished split of the
    same source and shard size (its done marker, out_dir/shards.done, lists the shards)."""
    files = corpus_source(source)
    out = Path(out_dir)
    key = fingerprint({"files": [[str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns] for f in files],
                       "shard_rows": shard_rows, "skip_invalid": skip_invalid})
    marker = out / "shards"
    info = read_done(marker)
    if info is not None:
        if is_done(marker, key, [s["path"] for s in info.get("shards", [])]):
            return [Shard(**s) for s in info["shards"]]
        log.info("corpus shards in %s are stale; rewriting", out)
    shards: list[Shard] = []
    buf: dict[str, list[str]] = {"_id": [], "title": [], "text": []}

    def flush() -> None:
        start = shards[-1].stop if shards else 0
        s = Shard(len(shards), start, start + len(buf["_id"]), str(out / f"corpus-{len(shards):05d}.parquet"))
        write_parquet(s.path, pa.table(buf, schema=SCHEMA))
        shards.append(s)
        for v in buf.values():
            v.clear()

    skipped = 0

    def skip(f, n, did):
        nonlocal skipped
        skipped += 1

    for did, title, text in doc_rows(_iter_docs(files), skip_invalid, skip):
        buf["_id"].append(did)
        buf["title"].append(title)
        buf["text"].append(text)
        if len(buf["_id"]) >= shard_rows:
            flush()
    if buf["_id"] or not shards:
        flush()
    if skipped:
        log.warning("skipped %d empty documents", skipped)
    mark_done(marker, key, shards=[asdict(s) for s in shards])
    return shards


def read_shard(shard: Shard) -> Corpus:
    """One shard as a Corpus (its rows are local: global row = shard.start + local row)."""
    t = pq.read_table(shard.path).to_pydict()
    return Corpus(t["_id"], t["title"], t["text"])


def read_ids(shards: list[Shard]) -> list[str]:
    """All document ids in global row order."""
    ids: list[str] = []
    for s in shards:
        ids.extend(pq.read_table(s.path, columns=["_id"]).column(0).to_pylist())
    return ids
