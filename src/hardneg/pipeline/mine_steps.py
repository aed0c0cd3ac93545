"""The retrieve, select, validate and export steps of run(): each `(ctx, load) -> None` reads its inputs from
the Context and writes its output atomically under `out/` (the runner writes the done markers)."""

from __future__ import annotations

import logging

from hardneg.io import clear, mark_done, read_done
from hardneg.pipeline.context import Context, pause
from hardneg.pipeline.result import to_mined, validation_counts
from hardneg.mining import build_candidates, search_depth
from hardneg.types import Selection

log = logging.getLogger(__name__)


def _sel_meta(sel: Selection) -> dict:
    return {"skipped": sel.skipped, "short": sel.short, "padded": sel.padded, "still_short": sel.still_short,
            "dropped": sel.dropped}


def retrieve(ctx: Context, load: bool, depth: int | None = None) -> None:
    """Index, search and fuse: Candidates and exclusion counts (candidates.npz, the one copy of them, with the
    data source that `hardneg validate` reads back)."""
    from hardneg.validate.step import CANDIDATES, load_candidates, save_candidates

    path = ctx.out / CANDIDATES if ctx.out else None
    if load:
        ctx.cands, _, meta = load_candidates(path)
        ctx.excluded = meta["excluded"]
        return
    ctx.cands, ctx.excluded = build_candidates(ctx.ds, ctx.cfg, ctx.prep, ctx.models(), depth)
    ctx.indexed = True
    pause("retrieve")
    if path:
        save_candidates(path, ctx.cands, meta={**ctx.cfg.source(), "excluded": ctx.excluded})


def select(ctx: Context, load: bool) -> None:
    """Choose negatives by the strategy: the Selection (steps/select.npz; its queries are the candidates')."""
    from hardneg.validate.step import SELECTED, load_selection, save_selection

    path = ctx.out / SELECTED if ctx.out else None
    if load:
        ctx.sel, _ = load_selection(path, ctx.cands.query_ids)
        return
    rs = ctx.models()
    if ctx.cfg.select.strategy.from_corpus and not ctx.indexed:  # `random` scores corpus draws with them
        for r in rs:
            r.index(ctx.ds.corpus)
        ctx.indexed = True
    ctx.sel = ctx.engine.select(ctx.cands, ctx.cfg, ctx.prep, rs)
    if path:
        save_selection(path, ctx.sel, {"selection": _sel_meta(ctx.sel)})


def validate(ctx: Context, load: bool) -> None:
    """Judge the picks, drop false negatives, refill (validation/ audit and steps/validate.npz). When the
    search depth is the default and validation left queries short with every candidate judged, retrieve and
    select again once at a depth sized from the drops (hardneg.validate.budget), then validate that."""
    from hardneg.validate.step import load_selection, save_selection

    path = ctx.out / "steps/validate.npz" if ctx.out else None
    if load:
        ctx.sel, meta = load_selection(path, ctx.sel.query_ids)
        ctx.validation, ctx.depth_budget = meta["validation"], meta.get("depth_budget")
        return
    v = ctx.cfg.validate
    opts = {k: {"batch_size": v.batch_size} for k in ("cross-encoder", "llm")} if v.batch_size else {}
    judges = ctx.engine.judges(v.judges, opts)  # specs are built in validate(); judge objects used as they are
    budget = ctx.cfg.retrieve.depth is None and ctx.cfg.validate_budget() and ctx.given.candidates is None
    labels = None
    if v.review:  # read once, for both passes
        from hardneg.review.labels import read_review, resolve

        labels = read_review(resolve(v.review, ctx.cfg.out))
    try:
        if budget and ctx.cands.rows.shape[1] != min(search_depth(ctx.cfg, ctx.prep), len(ctx.ds.corpus)):
            _deeper(ctx, None)  # candidates an earlier run deepened: start again from the first pass
        first = ctx.sel
        ctx.sel, res = _judge(ctx, judges, opts, labels)
        if budget:
            from hardneg.validate.budget import deeper_depth
            from hardneg.validate.step import short_for_depth

            d, info = deeper_depth(res.judged, res.dropped, short_for_depth(ctx.cands, first, res),
                                   ctx.cfg.select.num_negatives, ctx.cands.rows.shape[1], len(ctx.ds.corpus))
            if d is not None or info["short_for_depth"]:
                ctx.depth_budget = info
            if d is not None:
                log.info("%d queries left short at depth %d; searching %d", info["short_for_depth"],
                         info["first_depth"], d)
                _deeper(ctx, d)
                ctx.sel, res = _judge(ctx, judges, opts, labels)
    finally:
        for j in judges:
            getattr(j, "close", lambda: None)()
    ctx.result = res
    ctx.validation = validation_counts(res)
    pause("validate")
    if path:
        extra = {"depth_budget": ctx.depth_budget} if ctx.depth_budget else {}
        save_selection(path, ctx.sel, {"selection": _sel_meta(ctx.sel), "validation": ctx.validation, **extra})


def _judge(ctx: Context, judges: list, opts: dict, labels: dict | None):
    """One validation pass over ctx.sel (`labels`: reviewed labels or None): (the selection to export, the
    ValidationResult)."""
    from hardneg.validate.step import validate_selection

    v = ctx.cfg.validate
    return validate_selection(ctx.ds, ctx.cands, ctx.sel, judges, v.rules, v.combine, ctx.cfg.select.pos_score,
                              out=ctx.dir("validate"), split=ctx.cfg.data.split, review=labels,
                              judge_options=opts, refill_margin=v.refill_margin, progress=ctx.given.on_judge,
                              policy=v.policy, drop_query=v.drop_query, cascade=v.cascade,
                              target_fn_rate=v.target_fn_rate, relabel_precision=v.relabel_precision)


def _deeper(ctx: Context, depth: int | None) -> None:
    """Redo retrieve and select at `depth` (None: the default); their markers are cleared first, so a run killed
    in between redoes them (and finds the same depth) rather than mixing two depths."""
    if ctx.out:
        for s in ("retrieve", "select"):
            clear(ctx.out / "steps" / f"{s}.done")
    retrieve(ctx, load=False, depth=depth)
    select(ctx, load=False)
    if ctx.out:
        for s in ("retrieve", "select"):
            mark_done(ctx.out / "steps" / s, ctx.keys[s])


def export(ctx: Context, load: bool) -> None:
    """Write each format (one file or folder at a time, each atomic)."""
    from hardneg.export.write import export as write, parse_formats

    if load:
        ctx.exported = read_done(ctx.out / "steps/export")["exported"]
        return
    mined = to_mined(ctx.ds, ctx.prep, ctx.cands, ctx.sel, ctx.cfg)
    mj, formats = ctx.cfg.validate.margin_judge, ctx.cfg.export.formats
    if mj and "marginmse" in parse_formats(formats):  # labels from a judge's scores
        from hardneg.validate.spec import margin_judge
        from hardneg.validate.step import judge_margins

        (judge,) = ctx.engine.judges([margin_judge(mj, formats)], {})
        try:
            mined = judge_margins(mined, judge)
        finally:
            getattr(judge, "close", lambda: None)()
    for i, fmt in enumerate(parse_formats(ctx.cfg.export.formats)):
        if i == 1:
            pause("export")
        if ctx.dir("export"):
            ctx.exported.update(write(mined, ctx.dir("export"), [fmt]))
