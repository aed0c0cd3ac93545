"""Retrieval metrics via ranx: nDCG@k, MRR@k, Recall@k, MAP@k, P@k against graded qrels."""

from __future__ import annotations

import contextlib
import re
import warnings
from typing import Iterable, Iterator, Mapping, Union

from hardneg.types import Qrels
from hardneg.types import Run

RunLike = Union[Run, Mapping[str, Mapping[str, float]]]
DEFAULT_METRICS = ("ndcg@10", "mrr@10", "recall@100", "map@100")
# our name -> ranx name
_RANX = {"ndcg": "ndcg", "mrr": "mrr", "recall": "recall", "map": "map", "p": "precision", "precision": "precision"}
_METRIC = re.compile(r"^(ndcg|mrr|recall|map|p|precision)@([1-9][0-9]*)$")


def parse_metric(name: str) -> tuple[str, int]:
    """'nDCG@10' -> ('ndcg', 10); 'precision@5' and 'P@5' -> ('p', 5). ValueError names the bad metric."""
    m = _METRIC.match(name.strip().lower())
    if not m:
        raise ValueError(f"unknown metric '{name}' (use ndcg@k, mrr@k, recall@k, map@k or p@k)")
    fam = "p" if m.group(1) == "precision" else m.group(1)
    return fam, int(m.group(2))


def metric_names(metrics: Iterable[str]) -> list[str]:
    """Canonical lower-case names ('ndcg@10', 'p@5'), duplicates dropped, order kept."""
    out = []
    for m in metrics:
        fam, k = parse_metric(m)
        if f"{fam}@{k}" not in out:
            out.append(f"{fam}@{k}")
    return out


def max_cutoff(metrics: Iterable[str]) -> int:
    """The deepest cutoff the metrics need: how many results a run must hold."""
    return max(parse_metric(m)[1] for m in metrics)


def relevant_qrels(qrels: Qrels) -> dict[str, dict[str, int]]:
    """Qrels with grade >= 1 only, for queries that have at least one (BEIR/TREC convention; -1/0 = not relevant)."""
    out = {}
    for q, docs in qrels.items():
        pos = {str(d): int(s) for d, s in docs.items() if s >= 1}
        if pos:
            out[str(q)] = pos
    return out


def run_dict(run: RunLike) -> dict[str, dict[str, float]]:
    """{query id: {doc id: score}}. A Run's own order (ties by corpus row) is kept via rank-based scores."""
    if isinstance(run, Run):
        out: dict[str, dict[str, float]] = {}
        k = run.k
        for qid, rows in zip(run.query_ids, run.indices.tolist()):
            out[str(qid)] = {run.doc_ids[r]: float(k - i) for i, r in enumerate(rows) if r >= 0}
        return out
    return {str(q): {str(d): float(s) for d, s in docs.items()} for q, docs in run.items()}


@contextlib.contextmanager
def quiet_ranx() -> Iterator[None]:
    """Silence numba's type-safety warnings, which ranx's compiled kernels raise on every call."""
    from numba.core.errors import NumbaTypeSafetyWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaTypeSafetyWarning)
        yield


def evaluate(run: RunLike, qrels: Qrels, metrics: Iterable[str] = DEFAULT_METRICS,
             per_query: bool = False) -> dict:
    """Mean metric values in [0, 1] over the queries with a positive qrel; missing queries score 0.

    nDCG uses the integer grades as gains (trec_eval/BEIR); binary metrics count grade >= 1 as relevant.
    With per_query=True returns {metric: {query id: value}} instead.
    """
    names = metric_names(metrics)
    rel = relevant_qrels(qrels)
    if not rel:
        raise ValueError("qrels have no query with a relevant (grade >= 1) document")
    docs = run_dict(run)
    full = {q: docs.get(q, {}) for q in rel}
    from ranx import Qrels as RQrels, evaluate as r_evaluate

    rq, rr = RQrels(rel), _ranx_run(full)
    ranx_names = [f"{_RANX[parse_metric(n)[0]]}@{parse_metric(n)[1]}" for n in names]
    with quiet_ranx():
        scores = r_evaluate(rq, rr, ranx_names, return_mean=False)
    if len(ranx_names) == 1:
        scores = {ranx_names[0]: scores}
    if per_query:
        qids = rr.get_query_ids()
        return {n: {q: float(v) for q, v in zip(qids, scores[r])} for n, r in zip(names, ranx_names)}
    return {n: float(scores[r].mean()) for n, r in zip(names, ranx_names)}


def _ranx_run(full: dict[str, dict[str, float]]):
    from ranx import Run as RRun

    # ranx cannot hold a query with no results; a tiny sentinel doc that is never relevant scores it 0
    return RRun({q: (d if d else {"\x00none": 0.0}) for q, d in full.items()})


def compare(named_runs: Mapping[str, RunLike], qrels: Qrels, metrics: Iterable[str] = DEFAULT_METRICS) -> list[dict]:
    """One row per run: {'name': ..., 'queries': n, metric: value, ...}, in the given order."""
    names = metric_names(metrics)
    n_q = len(relevant_qrels(qrels))
    return [{"name": name, "queries": n_q, **evaluate(run, qrels, names)} for name, run in named_runs.items()]
