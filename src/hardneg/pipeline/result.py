"""What a pipeline run returns (MineResult), the export view of it (to_mined) and summary.json."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hardneg.export.mined import join_positives
from hardneg.io import atomic_write
from hardneg.types import Candidates, Dataset, Mined, Selection

if TYPE_CHECKING:
    from hardneg.mining import Prep
    from hardneg.pipeline.pipeline_config import PipelineConfig


@dataclass
class MineResult:
    """Everything one mine run produced; `summary` is what summary.json holds."""

    candidates: Candidates
    selection: Selection
    mined: Mined
    excluded: dict[str, int]
    exported: dict[str, dict] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    validation: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # engine details, merged into the summary


def to_mined(ds: Dataset, prep: Prep, cands: Candidates, sel: Selection, cfg: PipelineConfig) -> Mined:
    """The export view: kept queries with their positives and chosen negatives (miner scores)."""
    k = np.nonzero(sel.keep)[0]
    names = [str(r) for r in cfg.retrieve.retrievers]
    scorer = names[0] if len(names) == 1 else f"{cfg.retrieve.fusion}({'+'.join(names)})"
    extra = None if sel.positives is None else sel.positives[k]  # relabelled by validation
    pr, ps = join_positives(cands.pos_rows[k], cands.pos_scores[k], extra,
                            None if extra is None else sel.positive_scores[k])
    qids = [sel.query_ids[i] for i in k]  # the candidates' queries (a run folder's may be any subset)
    return Mined(qids, [ds.queries.text(q) for q in qids], pr, ps, sel.rows[k],
                 sel.scores[k], ds.corpus.ids, prep.doc_texts, scorer, cfg.export.prompt)


def _dist(x: np.ndarray) -> dict:
    x = x[~np.isnan(x) & np.isfinite(x)]
    if not len(x):
        return {"count": 0, "min": None, "median": None, "max": None}
    return {"count": int(len(x)), "min": float(x.min()), "median": float(np.median(x)), "max": float(x.max())}


def summarise(res: MineResult, cfg: PipelineConfig) -> dict:
    """The numbers the CLI table and summary.json show."""
    sel, m = res.selection, res.mined
    return {
        "queries": len(sel.query_ids), "queries_exported": exported_queries(m),
        "negatives": int((m.neg_rows >= 0).sum()),
        "pos_scores": _dist(m.pos_scores[m.pos_rows >= 0]), "neg_scores": _dist(m.neg_scores[m.neg_rows >= 0]),
        "excluded": res.excluded, "skipped": sel.skipped, "short": sel.short, "padded": sel.padded,
        "still_short": sel.still_short, "dropped": sel.dropped,
        "exported": {f: v["rows"] for f, v in res.exported.items()},
        "timings": {k: round(v, 4) for k, v in res.timings.items()},
        "config": cfg.to_dict(), "strategy": cfg.select.strategy.to_dict(),
        **({"validation": res.validation} if res.validation else {}), **res.extra,
    }


def exported_queries(m: Mined) -> int:
    """Queries that give at least one training row: a positive and at least one negative."""
    return int(((m.pos_rows >= 0).any(axis=1) & (m.neg_rows >= 0).any(axis=1)).sum())


def validation_counts(vres) -> dict:
    """Judged, dropped and kept candidates, and drop votes per judge, of a ValidationResult."""
    from hardneg.validate.audit import summary

    s = summary(vres)
    return {k: s[k] for k in ("judged", "dropped", "kept", "votes_per_judge", "queries_short")}


def write_summary(res: MineResult, cfg: PipelineConfig) -> None:
    """summary.json in cfg.out: counts, score distributions, timings (seconds) and the config."""
    res.summary = summarise(res, cfg)
    if cfg.out:
        with atomic_write(Path(cfg.out) / "summary.json") as f:
            f.write(json.dumps(res.summary, indent=2, sort_keys=True) + "\n")
