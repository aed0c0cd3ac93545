"""The one evaluation path: search a split's judged queries, optionally re-rank with a cross-encoder, score the
run with ranx (hardneg.evaluate.metrics.evaluate). Used by `hardneg eval`, the pipeline's evaluate step, the
demo, experiments and the figures reported during training."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from hardneg.evaluate.metrics import DEFAULT_METRICS, evaluate, max_cutoff, relevant_qrels
from hardneg.types import Corpus, Dataset, Queries, Run


def judged_queries(ds: Dataset) -> Queries:
    """The queries with at least one relevant (grade >= 1) judgment, in query-file order; ValueError if none."""
    rel = relevant_qrels(ds.qrels)
    queries = ds.queries.subset([q for q in ds.queries.ids if q in rel])
    if not len(queries):
        raise ValueError(f"{ds.name or 'dataset'}: no query has a relevant judgment in this split")
    return queries


def search_judged(retriever, ds: Dataset, k: int, on_step=None) -> Run:
    """Index ds.corpus with the retriever and search the judged queries for their top min(k, corpus) documents."""
    queries = judged_queries(ds)
    if on_step:
        on_step(f"{retriever.name}: indexing {len(ds.corpus):,} documents")
    retriever.index(ds.corpus)
    if on_step:
        on_step(f"{retriever.name}: searching {len(queries):,} queries (top {k})")
    return retriever.search(queries, min(k, len(ds.corpus)))


def score_retriever(retriever, ds: Dataset, metrics: Iterable[str] = DEFAULT_METRICS, k: int | None = None,
                    on_step=None) -> tuple[dict, Run]:
    """(metrics in [0, 1], the run) of a retriever (any Retriever: bm25, dense, an in-training model) on ds.

    k: how many documents to retrieve per query (default: the deepest metric cutoff).
    """
    metrics = list(metrics)
    run = search_judged(retriever, ds, k or max_cutoff(metrics), on_step)
    return evaluate(run, ds.qrels, metrics), run


def rerank(model, run: Run, queries: Queries, corpus: Corpus, batch_size: int = 64,
           activation: str = "model") -> dict[str, dict[str, float]]:
    """{query id: {doc id: cross-encoder score}} over each query's retrieved documents (every query of the run
    kept, an empty one too). Scores as hardneg.models.score.cross_scores gives them (activation "model": the
    reranker's own units, sigmoid for one-label sentence-transformers models)."""
    from hardneg.models.score import cross_scores

    texts = corpus.full_texts()
    qi, kj = np.nonzero(run.indices >= 0)
    rows = run.indices[qi, kj]
    pos = {q: i for i, q in enumerate(queries.ids)}
    q_rows = [pos[run.query_ids[i]] for i in qi]
    scores = cross_scores(model, [queries.texts[i] for i in q_rows], [texts[r] for r in rows],
                          batch_size=batch_size, activation=activation)
    out: dict[str, dict[str, float]] = {q: {} for q in run.query_ids}
    for i, r, s in zip(qi, rows, scores):
        out[run.query_ids[i]][run.doc_ids[r]] = float(s)
    return out


def score_reranker(model, retriever, ds: Dataset, top: int, metrics: Iterable[str] = DEFAULT_METRICS,
                   batch_size: int = 64) -> tuple[dict, Run, dict]:
    """(metrics in [0, 1], first-stage run, re-ranked run) of a loaded CrossEncoder re-ranking the retriever's
    top `top` documents per judged query."""
    run = search_judged(retriever, ds, top)
    reranked = rerank(model, run, judged_queries(ds), ds.corpus, batch_size)
    return evaluate(reranked, ds.qrels, list(metrics)), run, reranked
