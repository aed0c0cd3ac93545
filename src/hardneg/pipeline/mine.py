"""mine(dataset, config): retrieve -> select -> export, as small steps other stages can call one by one."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from hardneg.io import atomic_write
from hardneg.types import Dataset
from hardneg.export import export
from hardneg.types import Mined
from hardneg.export.mined import join_positives
from hardneg.pipeline.config import MineConfig
from hardneg.pipeline.steps import Prep, build_candidates, make_retrievers, prepare, select_step
from hardneg.types import Candidates
from hardneg.types import Selection
from hardneg.export.write import parse_formats
from hardneg.select.spec import parse_strategy
from hardneg.validate.spec import margin_judge

log = logging.getLogger(__name__)


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


def to_mined(ds: Dataset, prep: Prep, cands: Candidates, sel: Selection, cfg: MineConfig) -> Mined:
    """The export view: kept queries with their positives and chosen negatives (miner scores)."""
    k = np.nonzero(sel.keep)[0]
    scorer = cfg.retrievers[0] if len(cfg.retrievers) == 1 else f"{cfg.fusion}({'+'.join(cfg.retrievers)})"
    extra = None if sel.positives is None else sel.positives[k]  # relabelled by validation
    pr, ps = join_positives(cands.pos_rows[k], cands.pos_scores[k], extra,
                            None if extra is None else sel.positive_scores[k])
    qids = [sel.query_ids[i] for i in k]  # the candidates' queries (a run folder's may be any subset)
    return Mined(qids, [ds.queries.text(q) for q in qids], pr, ps, sel.rows[k],
                 sel.scores[k], ds.corpus.ids, prep.doc_texts, scorer, cfg.prompt)


def _dist(x: np.ndarray) -> dict:
    x = x[~np.isnan(x) & np.isfinite(x)]
    if not len(x):
        return {"count": 0, "min": None, "median": None, "max": None}
    return {"count": int(len(x)), "min": float(x.min()), "median": float(np.median(x)), "max": float(x.max())}


def summarise(res: MineResult, cfg: MineConfig) -> dict:
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
        "config": cfg.to_dict(), "strategy": parse_strategy(cfg.strategy, cfg.min_score, cfg.max_score).to_dict(),
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


def export_step(res: MineResult, cfg: MineConfig) -> None:
    """Write every requested format into cfg.out (no-op without an out dir)."""
    if not cfg.out:
        return
    t0 = time.perf_counter()
    res.exported = export(res.mined, cfg.out, cfg.formats)
    res.timings["export"] = time.perf_counter() - t0


def write_summary(res: MineResult, cfg: MineConfig) -> None:
    """summary.json in cfg.out: counts, score distributions, timings (seconds) and the config."""
    res.summary = summarise(res, cfg)
    if cfg.out:
        with atomic_write(Path(cfg.out) / "summary.json") as f:
            f.write(json.dumps(res.summary, indent=2, sort_keys=True) + "\n")


def begin(dataset: Dataset, cfg: MineConfig, step) -> tuple[Prep, float]:
    """The head every engine shares: prepare, refusing a dataset with no judged query; returns (prep, start time)."""
    t0 = time.perf_counter()
    step("prepare")
    prep = prepare(dataset, cfg)
    if not len(prep.queries):
        raise ValueError(f"no query in '{dataset.name}' has a positive with relevance >= {cfg.min_relevance}")
    prep.timings["prepare"] = time.perf_counter() - t0
    return prep, t0


def mine(dataset: Dataset, config: MineConfig, retrievers: list | None = None, progress=None,
         validate: Callable[[Dataset, Candidates, Selection], Selection] | None = None) -> MineResult:
    """Mine hard negatives for every judged query of `dataset`; writes config.formats to config.out if set.

    `progress(stage)` is called as each stage starts (the CLI uses it for its progress display).
    `validate(dataset, candidates, selection)`, if given, runs between selection and export and returns the
    selection to export (e.g. with false negatives dropped and refilled).
    """
    cfg = config
    parse_strategy(cfg.strategy, cfg.min_score, cfg.max_score)  # fail fast on a bad spec
    margin_judge(cfg.margin_judge, cfg.formats)
    step = progress or (lambda stage: None)
    prep, t0 = begin(dataset, cfg, step)
    retrievers = retrievers if retrievers is not None else make_retrievers(cfg)
    step("retrieve")
    cands, excluded = build_candidates(dataset, cfg, prep, retrievers)
    step("select")
    t1 = time.perf_counter()
    sel = select_step(cands, cfg, prep, retrievers)
    prep.timings["select"] = time.perf_counter() - t1
    res = finish(dataset, cfg, prep, cands, excluded, sel, validate, step, t0)
    if cfg.depth is None and cfg.validate_budget and getattr(validate, "short_depth", None) is not None:
        from dataclasses import replace

        from hardneg.validate.budget import deeper_depth

        r = validate.result
        d, info = deeper_depth(r.judged, r.dropped, validate.short_depth, cfg.num_negatives, cands.rows.shape[1],
                               len(dataset.corpus))
        if d is not None:  # validation dropped more than the default depth budgets for: search deeper once
            log.info("%d queries left short at depth %d; searching %d", info["short_for_depth"], info["first_depth"], d)
            cfg2 = replace(cfg, depth=d)
            cands, excluded = build_candidates(dataset, cfg2, prep, retrievers)
            sel = select_step(cands, cfg2, prep, retrievers)
            res = finish(dataset, cfg, prep, cands, excluded, sel, validate, step, t0, extra={"depth_budget": info})
        elif info["short_for_depth"] or validate.result is not None:
            res.extra["depth_budget"] = info
            write_summary(res, cfg)
    return res


def finish(dataset: Dataset, cfg: MineConfig, prep: Prep, cands: Candidates, excluded: dict[str, int],
           sel: Selection, validate, step, t0: float, extra: dict | None = None) -> MineResult:
    """The tail every engine shares: optional validation, export and summary.json (with `extra` merged in)."""
    if validate is not None:
        step("validate")
        t1 = time.perf_counter()
        sel = validate(dataset, cands, sel)
        prep.timings["validate"] = time.perf_counter() - t1
    res = MineResult(cands, sel, to_mined(dataset, prep, cands, sel, cfg), excluded, timings=prep.timings,
                     extra=extra or {})
    if getattr(validate, "result", None) is not None:
        res.validation = validation_counts(validate.result)
    if cfg.margin_judge and "marginmse" in parse_formats(cfg.formats):
        from hardneg.validate.step import judge_margins

        res.mined = judge_margins(res.mined, cfg.margin_judge)
    if sel.still_short:
        log.warning("%d of %d queries have fewer than %d negatives (short=%s)", sel.still_short,
                    len(sel.query_ids), cfg.num_negatives, cfg.short)
    step("export")
    export_step(res, cfg)
    res.timings["total"] = time.perf_counter() - t0
    write_summary(res, cfg)
    return res
