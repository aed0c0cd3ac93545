"""BEIR folders: corpus.jsonl, queries.jsonl, qrels/<split>.tsv (each plain or .gz)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from hardneg.data.errors import DataError
from hardneg.data.jsonl import dumps, find, read_jsonl, read_lines
from hardneg.io import atomic_write
from hardneg.types import Corpus, Dataset, Qrels, Queries

log = logging.getLogger(__name__)


@dataclass
class LoadReport:
    """What was skipped while loading with skip_invalid=True."""

    empty_docs: int = 0
    empty_queries: int = 0
    unknown_qrels: int = 0
    skipped: list[str] = field(default_factory=list)

    def note(self, kind: str, msg: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.skipped) < 20:
            self.skipped.append(msg)


def _need(path: Path, name: str) -> Path:
    p = find(path / name)
    if p is None:
        raise DataError(f"missing {name} (or {name}.gz)", path)
    return p


def _get_str(obj: dict, key: str, path: Path, n: int, required: bool = True) -> str:
    if key not in obj:
        if required:
            raise DataError("missing", path, n, key)
        return ""
    v = obj[key]
    if v is None and key != "_id":
        return ""  # null title/text counts as empty, so skip_invalid can skip it
    if isinstance(v, (int, float)) and not isinstance(v, bool) and key == "_id":
        v = str(v)
    if not isinstance(v, str):
        raise DataError(f"expected a string, got {type(v).__name__}", path, n, key)
    return v


def doc_rows(rows, skip_invalid: bool = False, on_skip=None):
    """Validate corpus rows given as (file, line, obj); yield (id, title, text).

    Each document needs a non-empty `_id` unique across all files and a non-empty title or text.
    Empty documents raise a DataError, or are passed to on_skip(file, line, id) with skip_invalid.
    """
    seen: dict[str, tuple] = {}
    for path, n, obj in rows:
        did = _get_str(obj, "_id", path, n)
        if not did.strip():
            raise DataError("empty id", path, n, "_id")
        title = _get_str(obj, "title", path, n, required=False)
        text = _get_str(obj, "text", path, n)
        if did in seen:
            first = seen[did]
            where = f"line {first[1]}" if first[0] == path else f"{first[0]} line {first[1]}"
            raise DataError(f"duplicate id '{did}' (first on {where})", path, n, "_id")
        seen[did] = (path, n)
        if not text.strip() and not title.strip():
            if not skip_invalid:
                raise DataError(f"empty text for document '{did}' (--skip-invalid, or skip_invalid=True in Python, skips it)", path, n, "text")
            if on_skip is not None:
                on_skip(path, n, did)
            continue
        yield did, title, text


def read_corpus(path: str | Path, skip_invalid: bool = False, report: LoadReport | None = None) -> Corpus:
    """Read corpus.jsonl(.gz); a document needs an `_id` and a non-empty title or text."""
    path = Path(path)

    def skip(f, n, did):
        if report is not None:
            report.note("empty_docs", f"{f}:{n} empty document '{did}'")

    rows = ((path, n, obj) for n, obj in read_jsonl(path))
    ids, titles, texts = [], [], []
    for did, title, text in doc_rows(rows, skip_invalid, skip):
        ids.append(did)
        titles.append(title)
        texts.append(text)
    return Corpus(ids, titles, texts)


def read_queries(path: str | Path, skip_invalid: bool = False, report: LoadReport | None = None) -> Queries:
    """Read queries.jsonl(.gz); a query needs an `_id` and a non-empty text."""
    path = Path(path)
    ids, texts, seen = [], [], {}
    for n, obj in read_jsonl(path):
        qid = _get_str(obj, "_id", path, n)
        if not qid.strip():
            raise DataError("empty id", path, n, "_id")
        text = _get_str(obj, "text", path, n)
        if qid in seen:
            raise DataError(f"duplicate id '{qid}' (first on line {seen[qid]})", path, n, "_id")
        seen[qid] = n
        if not text.strip():
            if not skip_invalid:
                raise DataError(f"empty text for query '{qid}' (--skip-invalid, or skip_invalid=True in Python, skips it)", path, n, "text")
            if report is not None:
                report.note("empty_queries", f"{path}:{n} empty query '{qid}'")
            continue
        ids.append(qid)
        texts.append(text)
    return Queries(ids, texts)


def read_qrels(path: str | Path) -> list[tuple[int, str, str, int]]:
    """Rows of (line, query id, doc id, integer grade). A header line starting with 'query-id' is skipped.

    BEIR's tab-separated `query-id corpus-id score` and TREC's `qid iter docid rel` (tabs or spaces) are read.
    """
    path = Path(path)
    rows = []
    for n, line in read_lines(path):
        line = line.rstrip("\r\n")
        if not line.strip() or (n == 1 and line.lower().startswith("query-id")):
            continue
        parts = line.split("\t")
        if len(parts) == 1:
            parts = line.split()
        if len(parts) == 4:  # TREC qrels: qid iter docid rel
            parts = [parts[0], parts[2], parts[3]]
        if len(parts) != 3:
            raise DataError(f"expected 3 tab-separated columns, got {len(parts)}", path, n)
        qid, did, score = parts
        if not qid or not did:
            raise DataError("empty id", path, n, "query-id" if not qid else "corpus-id")
        try:
            f_score = float(score)
            s = int(f_score)
        except (ValueError, OverflowError):
            raise DataError(f"score '{score}' is not a finite number", path, n, "score") from None
        if s != f_score:
            raise DataError(f"score '{score}' is not an integer grade", path, n, "score")
        rows.append((n, qid, did, s))
    return rows


def splits(root: str | Path) -> list[str]:
    """Split names that have a qrels/<split>.tsv(.gz) file."""
    qdir = Path(root) / "qrels"
    if not qdir.is_dir():
        return []
    names = (p.name.removesuffix(".gz") for p in qdir.iterdir())
    return sorted({n[: -len(".tsv")] for n in names if n.endswith(".tsv")})


def load_beir(root: str | Path, split: str = "test", skip_invalid: bool = False,
              report: LoadReport | None = None, corpus: Corpus | None = None) -> Dataset:
    """Load a BEIR folder. Qrels must point at known queries and docs unless skip_invalid is set."""
    root = Path(root)
    if not root.is_dir():
        raise DataError("dataset folder does not exist", root)
    report = report if report is not None else LoadReport()
    qrels_path = find(root / "qrels" / f"{split}.tsv")
    if qrels_path is None:
        raise DataError(f"split '{split}' does not exist (available: {', '.join(splits(root)) or 'none'})",
                        root / "qrels")
    if corpus is None:
        corpus = read_corpus(_need(root, "corpus.jsonl"), skip_invalid, report)
    queries = read_queries(_need(root, "queries.jsonl"), skip_invalid, report)
    qrels: Qrels = {}
    first: dict[tuple[str, str], int] = {}
    for n, qid, did, s in read_qrels(qrels_path):
        bad = None
        if qid not in queries:
            bad = ("query-id", f"unknown query '{qid}'")
        elif did not in corpus:
            bad = ("corpus-id", f"unknown document '{did}'")
        if bad:
            if not skip_invalid:
                raise DataError(f"{bad[1]} (--skip-invalid, or skip_invalid=True in Python, skips it)", qrels_path, n, bad[0])
            report.note("unknown_qrels", f"{qrels_path}:{n} {bad[1]}")
            continue
        if (qid, did) in first:
            raise DataError(f"duplicate judgment for query '{qid}' and document '{did}' "
                            f"(first on line {first[qid, did]})", qrels_path, n, "corpus-id")
        first[qid, did] = n
        qrels.setdefault(qid, {})[did] = s
    if skip_invalid and (report.empty_docs or report.empty_queries or report.unknown_qrels):
        log.warning("skipped %d empty docs, %d empty queries, %d unknown qrels",
                    report.empty_docs, report.empty_queries, report.unknown_qrels)
    return Dataset(corpus, queries, qrels, name=root.name)


def write_corpus(path: str | Path, corpus: Corpus) -> None:
    """corpus.jsonl in BEIR's own byte format (atomic)."""
    with atomic_write(path) as f:
        for i, t, x in zip(corpus.ids, corpus.titles, corpus.texts):
            f.write(dumps({"_id": i, "title": t, "text": x}) + "\n")


def write_queries(path: str | Path, queries: Queries) -> None:
    with atomic_write(path) as f:
        for i, x in zip(queries.ids, queries.texts):
            f.write(dumps({"_id": i, "text": x}) + "\n")


def write_qrels(path: str | Path, qrels: Qrels) -> None:
    with atomic_write(path) as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for q, docs in qrels.items():
            for d, s in docs.items():
                f.write(f"{q}\t{d}\t{s}\n")


def write_beir(root: str | Path, ds: Dataset, split: str = "test", corpus: bool = True) -> Path:
    """Write a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv); returns `root`."""
    root = Path(root)
    if corpus:
        write_corpus(root / "corpus.jsonl", ds.corpus)
    write_queries(root / "queries.jsonl", ds.queries)
    write_qrels(root / "qrels" / f"{split}.tsv", ds.qrels)
    return root
