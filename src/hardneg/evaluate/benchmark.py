"""Run retrievers on a dataset and score them: the body of `hardneg eval`, the demo and the pipeline's evaluate step."""

from __future__ import annotations

import logging
import time
from typing import Callable, Iterable, Sequence

from hardneg.types import Dataset
from hardneg.evaluate.metrics import DEFAULT_METRICS, metric_names, relevant_qrels
from hardneg.evaluate.retrieval import judged_queries, score_retriever
from hardneg.retrieve.spec import make_retriever

log = logging.getLogger(__name__)


def eval_retrievers(ds: Dataset, specs: Sequence[str], metrics: Iterable[str] = DEFAULT_METRICS,
                    on_step: Callable[[str], None] | None = None, **opts) -> list[dict]:
    """For each retriever spec: index the corpus, search the judged queries, score the run.

    Rows: {'name', 'queries', metric: value in [0, 1], 'seconds', and 'cache_hits'/'cache_misses' for dense}.
    `opts` go to make_retriever (batch_size, backend, show_progress, ...); on_step gets progress messages.
    """
    names = metric_names(metrics)
    n_judged = len(relevant_qrels(ds.qrels))
    judged_queries(ds)  # a split with no judged query fails before any model loads
    rows = []
    for spec in specs:
        retriever = make_retriever(spec, **opts)
        t0 = time.perf_counter()
        scores, _ = score_retriever(retriever, ds, names, on_step=on_step)
        seconds = time.perf_counter() - t0
        row = {"name": spec, "queries": n_judged, **scores, "seconds": round(seconds, 2)}
        stats = getattr(retriever, "cache_stats", None)
        if stats is not None:
            row["cache_hits"], row["cache_misses"] = int(stats.hits), int(stats.misses)
        log.info("%s: %s", spec, {n: round(row[n], 4) for n in names})
        rows.append(row)
    return rows
