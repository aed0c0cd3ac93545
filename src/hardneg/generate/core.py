"""Generate -> filter -> write a BEIR folder (queries.jsonl, qrels/train.tsv, a copy of the corpus)."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from hardneg.data.beir import read_corpus, write_qrels, write_queries
from hardneg.data.errors import DataError
from hardneg.data.jsonl import find, write_jsonl
from hardneg.io import atomic_write
from hardneg.types import Corpus, Queries
from hardneg.generate import filters as F
from hardneg.generate.run import GenConfig, GenStats, generate_rows
from hardneg.llm.base import LLM, Prompt

log = logging.getLogger(__name__)


@dataclass
class FilterCount:
    label: str
    seen: int
    kept: int


@dataclass
class GenerateResult:
    out: Path
    stats: GenStats
    counts: list[FilterCount] = field(default_factory=list)
    kept: int = 0


def load_corpus(data: str | Path, skip_invalid: bool = False) -> tuple[Corpus, Path]:
    """The corpus of a BEIR folder (only corpus.jsonl[.gz] is needed) and the file it came from.

    skip_invalid: skip documents without an id or text instead of failing on them.
    """
    data = Path(data)
    path = find(data / "corpus.jsonl") if data.is_dir() else data
    if path is None or not path.exists():
        raise DataError("no corpus.jsonl (or corpus.jsonl.gz) here", data)
    return read_corpus(path, skip_invalid), path


def apply_filters(rows: list[dict], corpus: Corpus, specs: list[F.FilterSpec],
                  retriever_factory: Callable[[str], object] | None = None) -> tuple[np.ndarray, list[FilterCount]]:
    """Keep-mask over `rows` after the filters in order, and how many each saw and kept."""
    alive = np.array([bool(r["ok"]) and bool(r["query"]) for r in rows], dtype=bool)
    counts = [FilterCount("non-empty reply", len(rows), int(alive.sum()))]
    verdict = ["" if a else "empty" for a in alive]
    full: list[str] | None = None
    for spec in specs:
        idx = np.flatnonzero(alive)
        qs = [rows[i]["query"] for i in idx]
        src = np.array([corpus.index(rows[i]["doc_id"]) for i in idx], dtype=np.int64)
        if spec.kind in ("copy", "rerank") and full is None:
            full = corpus.full_texts()
        docs = [full[r] for r in src] if spec.kind in ("copy", "rerank") else []
        if spec.kind == "length":
            m = F.length_mask(qs, *spec.args)
        elif spec.kind == "dedupe":
            m = F.dedupe_mask(qs)
        elif spec.kind == "copy":
            m = F.copy_mask(qs, docs, *spec.args)
        elif spec.kind == "repeat":
            m = F.repeat_mask(qs, *spec.args)
        elif spec.kind == "score":
            lp = np.array([rows[i]["mean_logprob"] if rows[i]["mean_logprob"] is not None else np.nan for i in idx])
            m = F.top_fraction_mask(lp, spec.args[0])
        elif spec.kind == "roundtrip":
            from hardneg.retrieve.spec import make_retriever

            retr = (retriever_factory or make_retriever)(spec.args[1])
            m = F.roundtrip_mask(retr, corpus, qs, src, spec.args[0])
        else:  # rerank
            n, model = spec.args
            sc = F.cross_encoder_scores(model, qs, docs)
            for i, s in zip(idx, sc):
                rows[i]["rerank_score"] = round(float(s), 4)
            m = F.top_fraction_mask(sc, n) if isinstance(n, float) else F.top_n_mask(sc, n)
        for i in idx[~m]:
            verdict[i] = spec.label
        alive[idx[~m]] = False
        counts.append(FilterCount(spec.label, len(idx), int(m.sum())))
        log.info("filter %s kept %d of %d", spec.label, int(m.sum()), len(idx))
    for r, v in zip(rows, verdict):
        r["dropped_by"] = v
    return alive, counts


def query_id(row: dict) -> str:
    return f"gen-{row['doc_id']}-{row['j']}"


def write_output(out: Path, rows: list[dict], keep: np.ndarray, corpus_file: Path) -> int:
    """Write queries.jsonl, qrels/train.tsv (each query -> its source doc), all rows and a corpus copy."""
    kept = [r for r, k in zip(rows, keep) if k]
    write_queries(out / "queries.jsonl", Queries([query_id(r) for r in kept], [r["query"] for r in kept]))
    write_qrels(out / "qrels" / "train.tsv", {query_id(r): {r["doc_id"]: 1} for r in kept})
    write_jsonl(out / "generated.jsonl", [{"_id": query_id(r), **r} for r in rows])
    target = out / corpus_file.name
    if corpus_file.resolve() != target.resolve():
        with open(corpus_file, "rb") as src, atomic_write(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    return len(kept)


def generate_dataset(data: str | Path, llm: LLM, build: Callable[[str, str], Prompt], cfg: GenConfig,
                     out: str | Path, filters: list[F.FilterSpec] | None = None,
                     on_progress: Callable[[int, int], None] | None = None,
                     loaded: tuple[Corpus, Path] | None = None) -> GenerateResult:
    """The whole stage: generate (resumable, in out/.generate), filter, write a BEIR folder to `out`."""
    out = Path(out)
    corpus, corpus_file = loaded or load_corpus(data)
    rows, stats = generate_rows(corpus, llm, build, cfg, out / ".generate", on_progress)
    keep, counts = apply_filters(rows, corpus, filters or [])
    n = write_output(out, rows, keep, corpus_file)
    return GenerateResult(out, stats, counts, n)
