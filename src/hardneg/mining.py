"""The bodies of the retrieve and select steps that every engine runs (the single-process one in
hardneg.pipeline.runner, the Ray one in hardneg.scale): prepare -> build_candidates -> select_step.

Each reads its own section of a PipelineConfig (`cfg`: the whole config, `r`: its retrieve section, `s`: its
select section); this module sits below the pipeline and the engines, so it names their types only here."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from hardneg.types import Candidates, Dataset, Queries, Selection
from hardneg.select.exclude import KIND_NAMES, excluded_rows, match_kinds, text_groups
from hardneg.select.negatives import select_negatives
from hardneg.select.sample import query_keys, random_rows
from hardneg.select.spec import Strategy


log = logging.getLogger(__name__)


@dataclass
class Prep:
    """What every step needs: the judged queries, their positives and what they must never take as negatives."""

    queries: Queries
    pos_rows: np.ndarray  # int64 [Q, P], -1 pad
    groups: np.ndarray  # int64 [D] normalised-text group of each doc
    excl: np.ndarray  # int64 [Q, E], -1 pad
    excl_kinds: np.ndarray  # int8 [Q, E]
    doc_texts: list[str]
    timings: dict[str, float] = field(default_factory=dict)


def prepare(ds: Dataset, min_relevance: int = 1) -> Prep:
    """Judged queries (query-file order), positives as corpus rows, text groups and exclusion lists."""
    pos = ds.positives(min_relevance)
    queries = ds.queries.subset([q for q in ds.queries.ids if pos.get(q)])
    plists = [ds.corpus.indices(pos[q]) for q in queries.ids]
    p = max((len(x) for x in plists), default=0)
    pos_rows = np.full((len(plists), p), -1, dtype=np.int64)
    for i, x in enumerate(plists):
        pos_rows[i, :len(x)] = x
    doc_texts = ds.corpus.full_texts()
    groups = text_groups(doc_texts)
    excl, kinds = excluded_rows(queries.texts, plists, groups)
    return Prep(queries, pos_rows, groups, excl, kinds, doc_texts)


def default_depth(st: Strategy, n: int, n_excl: int) -> int:
    """Window end (10 x n when rules may cut, 100 for simans) + n to refill + the most exclusions of any query."""
    hi = st.window[1] if st.window else n
    if st.has_rules:
        hi = max(hi, 10 * n)
    if st.sampling == "simans" and not st.window:
        hi = max(hi, 100)
    return hi + n + n_excl


def _compact(drop: np.ndarray, arrays: dict[str, tuple[np.ndarray, object]]) -> dict[str, np.ndarray]:
    """Remove dropped columns row by row, shifting the rest left in order; each array is padded with its fill."""
    order = np.argsort(drop, axis=1, kind="stable")
    bad = np.take_along_axis(drop, order, 1)
    return {k: np.where(bad, fill, np.take_along_axis(a, order, 1)).astype(a.dtype) for k, (a, fill) in arrays.items()}


def _locate(rows: np.ndarray, run_rows: np.ndarray, block: int = 1024) -> np.ndarray:
    """int32 [Q, P]: 1-based position of each row in a run's rows (0 = absent)."""
    out = np.zeros(rows.shape, dtype=np.int32)
    for s in range(0, rows.shape[0], block):
        eq = (rows[s:s + block, :, None] == run_rows[s:s + block, None, :]) & (rows[s:s + block, :, None] >= 0)
        out[s:s + block] = np.where(eq.any(2), eq.argmax(2) + 1, 0)
    return out


def make_retrievers(r, show_progress: bool = False) -> list:
    """Build the retrievers of a retrieve section (`bm25`, `dense:minilm`, `dense:PATH`)."""
    from hardneg.retrieve.spec import make_retriever

    opts = {"batch_size": r.batch_size, "backend": r.backend, "precision": r.precision, "search": r.search,
            "show_progress": show_progress}
    return [make_retriever(str(s), **opts) for s in r.retrievers]


def search_depth(cfg, prep: Prep) -> int:
    """retrieve.depth, else the strategy's default depth plus what validation may drop (validate_budget)."""
    s = cfg.select
    return cfg.retrieve.depth or default_depth(s.strategy, s.num_negatives, prep.excl.shape[1]) + cfg.validate_budget()


def build_candidates(ds: Dataset, cfg, prep: Prep, retrievers: list,
                     depth: int | None = None) -> tuple[Candidates, dict]:
    """Index, search and fuse; drop excluded docs; score the positives. Returns (Candidates, exclusion counts).

    depth: candidates searched per query (default: search_depth).
    """
    depth = min(depth or search_depth(cfg, prep), len(ds.corpus))
    t, runs = prep.timings, []
    for r in retrievers:
        t0 = time.perf_counter()
        r.index(ds.corpus)
        t["encode"] = t.get("encode", 0.0) + time.perf_counter() - t0
        t0 = time.perf_counter()
        if hasattr(r, "encode_queries") and hasattr(r, "search_embeddings"):
            from hardneg.types import Run

            qe = r.encode_queries(prep.queries.texts)
            t1 = time.perf_counter()
            t["encode"] += t1 - t0
            rows, scores = r.search_embeddings(qe, depth)
            runs.append(Run(list(prep.queries.ids), rows, scores, ds.corpus.ids, r.name))
            t["search"] = t.get("search", 0.0) + time.perf_counter() - t1
        else:
            runs.append(r.search(prep.queries, depth))
            t["search"] = t.get("search", 0.0) + time.perf_counter() - t0
    t0 = time.perf_counter()
    if len(runs) == 1:
        fused = runs[0]
    else:
        from hardneg.retrieve.fusion import fuse

        fused = fuse(runs, method=cfg.retrieve.fusion)
    kinds = match_kinds(fused.indices, prep.excl, prep.excl_kinds)
    excluded = {name: int((kinds == i).sum()) for i, name in enumerate(KIND_NAMES)}
    if len(runs) == 1:
        ranks = np.where(fused.indices >= 0, np.arange(1, fused.k + 1, dtype=np.int32)[None, :], 0)
        per = {fused.name: (np.where(fused.indices >= 0, fused.scores, np.nan).astype(np.float32), ranks)}
    else:
        per = {n: (fused.retriever_scores[n], fused.retriever_ranks[n]) for n in fused.retriever_scores}
    arrays = {"rows": (fused.indices, -1), "scores": (fused.scores, -np.inf)}
    for n, (sc, rk) in per.items():
        arrays["s:" + n], arrays["r:" + n] = (sc, np.nan), (rk, 0)
    out = _compact((kinds >= 0) | (fused.indices < 0), arrays)
    rows, scores = out["rows"], out["scores"].astype(np.float32)
    r_scores = {n: out["s:" + n] for n in per}
    r_ranks = {n: out["r:" + n] for n in per}
    q_idx = np.broadcast_to(np.arange(len(prep.queries))[:, None], prep.pos_rows.shape)
    ok = prep.pos_rows >= 0
    pos_scores = np.full(prep.pos_rows.shape, np.nan, dtype=np.float32)
    if len(runs) == 1:
        pos_scores[ok] = retrievers[0].score_pairs(prep.queries, q_idx[ok], prep.pos_rows[ok])
    else:  # the positive's fused score where a retriever found it; NaN (no positive-aware cut) otherwise
        at = _locate(prep.pos_rows, fused.indices)
        got = np.take_along_axis(fused.scores, np.maximum(at - 1, 0), 1)
        pos_scores = np.where(ok & (at > 0), got, np.nan).astype(np.float32)
        excluded["positives-unscored"] = int((ok & (at == 0)).sum())
    t["candidates"] = time.perf_counter() - t0
    cands = Candidates(list(prep.queries.ids), rows, scores, prep.pos_rows, pos_scores, r_scores, r_ranks)
    return cands, excluded


def select_step(cands: Candidates, s, prep: Prep, retrievers: list | None = None) -> Selection:
    """Choose negatives by the select section's strategy; `random` draws from the whole corpus, scored in the
    miner's units."""
    st = s.strategy
    if not st.from_corpus:
        groups = np.where(cands.rows >= 0, prep.groups[np.maximum(cands.rows, 0)], -1) if s.dedup_negatives else None
        return select_negatives(cands, st, s.num_negatives, pos_score=s.pos_score, short=s.short,
                                seed=s.seed, groups=groups)
    n = s.num_negatives
    rows = random_rows(query_keys(cands.query_ids, s.seed), len(prep.groups), prep.excl, n)
    scores = np.full(rows.shape, np.nan, dtype=np.float32)
    ok = rows >= 0
    if retrievers and len(retrievers) == 1 and ok.any():
        q_idx = np.broadcast_to(np.arange(rows.shape[0])[:, None], rows.shape)
        scores[ok] = retrievers[0].score_pairs(prep.queries, q_idx[ok], rows[ok])
    elif retrievers:  # fused units: the candidate's fused score, 0 where no retriever returned it (as fusion does)
        at = _locate(rows, cands.rows)
        got = np.take_along_axis(cands.scores, np.maximum(at - 1, 0), 1)
        scores = np.where(ok, np.where(at > 0, got, 0.0), np.nan).astype(np.float32)
    order = np.argsort(np.where(ok, -np.nan_to_num(scores, nan=0.0), np.inf), axis=1, kind="stable")
    rows, scores = np.take_along_axis(rows, order, 1), np.take_along_axis(scores, order, 1)
    still = (rows >= 0).sum(1) < n
    keep = ~still if s.short == "drop" else np.ones(len(rows), dtype=bool)
    return Selection(list(cands.query_ids), rows, scores, np.zeros(rows.shape, dtype=np.int32), keep, {},
                     int(still.sum()), 0, int(still.sum()), int((~keep).sum()))
