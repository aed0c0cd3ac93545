"""run(config): the one pipeline. Steps generate -> retrieve -> select -> validate (with judges) -> export ->
train -> evaluate (the optional ones with their sections), in order.

Each step is a function `(ctx, load) -> None` that reads its inputs from the context, writes its output atomically
under `out/` and a done marker `out/steps/<step>.done` keyed by the fingerprint of its own config section and of
the steps it depends on. A rerun loads finished steps instead of running them; a changed setting redoes that
step and everything after it, nothing before. Without `out` everything stays in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from pathlib import Path

from hardneg.io import fingerprint, is_done, mark_done
from hardneg.pipeline.context import Context, Given
from hardneg.pipeline.mine_steps import export, retrieve, select, validate
from hardneg.pipeline.model_steps import EVAL, GENERATED, MODEL, evaluate, generate_key, generated, run_generate, train
from hardneg.pipeline.config_file import dump
from hardneg.pipeline.pipeline_config import CONFIG, PipelineConfig
from hardneg.pipeline.result import MineResult, to_mined, write_summary
from hardneg.mining import Prep, default_depth, make_retrievers, prepare, select_step
from hardneg.types import Dataset, Selection

STEPS = ("retrieve", "select", "validate", "export", "train", "evaluate")


def data_hash(ds: Dataset) -> str:
    """A content hash of a dataset (ids, texts, qrels): a changed file redoes every step."""
    h = hashlib.blake2b(digest_size=8)
    for part in (ds.corpus.ids, ds.corpus.titles, ds.corpus.texts, ds.queries.ids, ds.queries.texts):
        for x in part:
            h.update(x.encode("utf-8", "surrogatepass") + b"\0")
        h.update(b"\1")
    h.update(json.dumps(ds.qrels, sort_keys=True).encode())
    return h.hexdigest()


def step_keys(cfg: PipelineConfig, content: str = "") -> dict[str, str]:
    """The done key of each enabled step: its config section's fingerprint chained with its inputs' keys.

    `content`: the data_hash of the loaded dataset (the data section's path alone does not say what it holds).
    """
    d = cfg.to_dict()
    data = {k: v for k, v in d["data"].items() if k != "path"}
    data["content"] = content
    ret = {k: v for k, v in d["retrieve"].items() if k not in ("engine", "ray_address")}
    s = cfg.select
    depth = cfg.retrieve.depth or ["auto", default_depth(s.strategy, s.num_negatives, 0)]
    keys = {"retrieve": fingerprint({"data": data, "retrieve": ret, "depth": depth, "layout": 2})}  # 2: candidates.npz
    keys["select"] = fingerprint({"after": keys["retrieve"], "select": d["select"]})
    last = keys["select"]
    if cfg.validate.enabled:
        rv = cfg.validate.review
        rp = Path(rv) if rv and Path(rv).exists() else (Path(cfg.out) / rv if rv and cfg.out else None)
        seen = hashlib.sha256(rp.read_bytes()).hexdigest() if rp and rp.is_file() else ""  # its labels
        keys["validate"] = last = fingerprint({"after": last, "validate": d["validate"], "review": seen})
    keys["export"] = fingerprint({"after": last, "export": d["export"]})
    if cfg.train is not None:
        keys["train"] = fingerprint({"after": keys["export"], "train": d["train"]})
    if cfg.evaluate is not None:
        keys["evaluate"] = fingerprint({"after": keys["train"], "evaluate": d["evaluate"]})
    return keys


def outputs(step: str, cfg: PipelineConfig) -> list[str]:
    """What a step writes, relative to the run folder."""
    from hardneg.export.write import parse_formats

    if step == "retrieve":
        return ["candidates.npz"]
    if step == "select":
        return ["steps/select.npz"]
    if step == "validate":
        return ["steps/validate.npz", "validation"]
    if step in ("train", "evaluate"):
        return [MODEL if step == "train" else EVAL]
    return [f for fmt in parse_formats(cfg.export.formats)
            for f in (["flag.jsonl"] if fmt == "flag" else [fmt, f"{fmt}.parquet"])]


def finished(out: str | Path | None, cfg: PipelineConfig, keys: dict[str, str]) -> dict[str, bool]:
    """{step: done} for the enabled steps (`keys` from step_keys), read from the markers in `out`."""
    if not out:
        return {s: False for s in keys}
    p = Path(out)
    return {s: is_done(p / "steps" / s, k, [p / o for o in outputs(s, cfg)]) for s, k in keys.items()}


def reusable(out: str | Path, cfg: PipelineConfig, keys: dict[str, str]) -> frozenset[str]:
    """Outputs and markers of finished steps a new run with `cfg` reuses (kept by `--overwrite`)."""
    done, keep = finished(out, cfg, keys), set()
    for s in STEPS:
        if s not in done:
            continue
        if not done[s]:
            break  # everything after a step to redo is redone
        keep |= {*outputs(s, cfg), f"steps/{s}.done"}
    return frozenset(keep)


class SingleEngine:
    """The engine contract in this process. An engine builds the retrievers the retrieve step searches with and
    runs the select step; every other step (validate, export) is the same code on every engine."""

    name = "single"

    def retrievers(self, cfg: PipelineConfig, prep: Prep, ready: list | None = None) -> list:
        return ready if ready is not None else make_retrievers(cfg.retrieve, cfg.show_progress)

    def select(self, cands, cfg: PipelineConfig, prep: Prep, retrievers: list) -> Selection:
        return select_step(cands, cfg.select, prep, retrievers)

    def judges(self, specs: list, options: dict) -> list:
        """The judges validate() runs: here the specs themselves (it builds each judge once)."""
        return list(specs)

    def info(self) -> dict:
        return {}


def make_engine(cfg: PipelineConfig):
    """The engine cfg.retrieve.engine names (its options were checked when the config was built)."""
    if cfg.retrieve.engine != "ray":
        return SingleEngine()
    from hardneg.scale.engine import RayEngine, RayOptions

    work = Path(cfg.out) / "ray" if cfg.out else Path("hardneg-ray")
    return RayEngine(RayOptions(address=cfg.retrieve.ray_address), work)


MARKED = {"export": lambda c: {"exported": c.exported}, "train": lambda c: {"trained": c.trained}}  # in markers
RUNNERS = {"retrieve": retrieve, "select": select, "validate": validate, "export": export, "train": train,
           "evaluate": evaluate}


def run(config: PipelineConfig, dataset: Dataset | None = None, retrievers: list | None = None, progress=None,
        planned: tuple[str, str] | None = None, overwrite: bool = False, given: Given | None = None,
        engine=None) -> MineResult:
    """Run the enabled steps in order, reusing finished ones in config.out; returns the MineResult.

    dataset: the loaded data (default: load config.data). retrievers: ready retriever objects (default: built
    from config.retrieve). planned: (fingerprint, 'new'|'resume'|'overwrite') from
    hardneg.pipeline.runs.pipeline_plan when the caller planned already. `progress(step)` is called as each
    step starts. given: outputs of steps taken from elsewhere (see Given). engine: a ready engine (default:
    the one config.retrieve.engine names).
    """
    from hardneg.pipeline.runs import pipeline_plan
    from hardneg.rundir import claim

    cfg = config
    step = progress or (lambda name: None)
    from hardneg.models.runtime import use_precision

    fp, action = planned or pipeline_plan(cfg, overwrite)
    use_precision(cfg.retrieve.precision)  # dense retrievers and judges
    gen_key = gen_done = None
    if cfg.generate is not None:
        if not cfg.out:
            raise ValueError("generate: the generated queries are written into the run folder; give out")
        gen_key = generate_key(cfg)
        gen_done = is_done(Path(cfg.out) / "steps/generate", gen_key, [Path(cfg.out) / GENERATED])
        dataset = generated(cfg) if gen_done else None
    elif dataset is None:
        from hardneg.data.load import load_data

        step("load data")
        d = cfg.data
        dataset = load_data(d.path, d.split, query_column=d.query_column, answer_column=d.answer_column,
                            skip_invalid=d.skip_invalid)
    keys = step_keys(cfg, data_hash(dataset)) if dataset is not None else {}
    keep = frozenset()
    if cfg.out and action == "overwrite":
        keep = (reusable(cfg.out, cfg, keys) if keys else frozenset()) | (
            {GENERATED, "steps/generate.done"} if gen_done else set())
    room = claim(cfg.out, fp, action, keep) if cfg.out else contextlib.nullcontext()
    with room:
        if cfg.out:
            dump(cfg, Path(cfg.out) / CONFIG)
        ran = {}
        if cfg.generate is not None:
            ran["generate"] = "reused" if gen_done else "ran"
            if not gen_done:
                step("generate")
                run_generate(cfg)
                dataset = generated(cfg)
                keys = step_keys(cfg, data_hash(dataset))
        return _steps(cfg, dataset, retrievers, step, keys, ran, given or Given(), engine or make_engine(cfg))


def _steps(cfg: PipelineConfig, ds: Dataset, retrievers: list | None, step, keys: dict[str, str],
           ran: dict[str, str], given: Given, engine) -> MineResult:
    t0 = time.perf_counter()
    step("prepare")
    prep = prepare(ds, cfg.data.min_relevance)
    if not len(prep.queries):
        raise ValueError(f"no query in '{ds.name}' has a positive with relevance >= {cfg.data.min_relevance}")
    prep.timings["prepare"] = time.perf_counter() - t0
    ctx = Context(cfg, ds, prep, engine, given, retrievers, keys=keys)
    ctx.cands, ctx.sel = given.candidates, given.selection
    done = finished(cfg.out, cfg, keys)
    redo = False
    for name in STEPS:
        if name not in keys:
            continue
        if (name == "retrieve" and given.candidates is not None) or (name == "select" and given.selection is not None):
            ran[name] = "given"
            continue
        redo = redo or not done[name]
        step(name)
        t1 = time.perf_counter()
        RUNNERS[name](ctx, load=not redo)
        ran[name] = "ran" if redo else "reused"
        if redo and ctx.out:
            mark_done(ctx.out / "steps" / name, keys[name], **MARKED.get(name, lambda c: {})(ctx))
        prep.timings.setdefault(name, time.perf_counter() - t1)
    res = MineResult(ctx.cands, ctx.sel, to_mined(ds, prep, ctx.cands, ctx.sel, cfg), ctx.excluded,
                     exported=ctx.exported, timings=prep.timings, validation=ctx.validation,
                     extra={"steps": ran, **ctx.engine.info(),
                            **({"depth_budget": ctx.depth_budget} if ctx.depth_budget else {}),
                            **{k: v for k, v in (("train", ctx.trained), ("eval", ctx.evaluation)) if v}})
    res.timings["total"] = time.perf_counter() - t0
    write_summary(res, cfg)
    return res
