"""The optional steps around mining: generate (LLM queries for the corpus, before retrieve), train (fine-tune a
bi-encoder on the mined negatives) and evaluate (score it, and any baselines, with ranx on a held-out split).
train and evaluate have the mine steps' contract, `step(ctx, load)`; generate runs before the data is loaded."""

from __future__ import annotations

import json
import time
from dataclasses import asdict

from hardneg.io import atomic_dir, atomic_write, read_done

MODEL, EVAL, GENERATED = "model", "eval.json", "generated"


def generate(cfg, out, progress=None) -> dict:
    """Generate and filter queries for cfg.data.path's corpus into out/generated (a BEIR folder, `train` split).

    Resumable on its own: finished generation shards in out/generated/.generate are reused. Returns counts.
    """
    from hardneg.generate.core import generate_dataset, load_corpus
    from hardneg.generate.filters import parse_filters
    from hardneg.generate.prompts import make_prompt
    from hardneg.generate.run import GenConfig
    from hardneg.llm import make_llm

    g = cfg.generate
    temp = g.temperature if g.temperature is not None else (0.0 if g.per_doc == 1 else 0.8)
    opts = {"local": {"threads": g.threads or None}}.get(g.llm.kind, {})
    llm = make_llm(g.llm, **opts)
    gen = GenConfig(backend=g.backend, prompt=g.prompt, per_doc=g.per_doc, sample=g.sample, seed=g.seed,
                    max_tokens=g.max_tokens, temperature=temp)
    loaded = load_corpus(cfg.data.path, cfg.data.skip_invalid)
    res = generate_dataset(cfg.data.path, llm, make_prompt(g.prompt), gen, out / GENERATED,
                           parse_filters(g.filters), loaded=loaded)
    return {"queries": res.kept, "documents": res.stats.documents}


def train(ctx, load: bool) -> None:
    """Fine-tune config.train.model on the exported (validated) negatives; the model is saved to out/model."""
    from hardneg.pipeline.mine import to_mined
    from hardneg.train.data import groups_from_mined
    from hardneg.train.trainer import train_bi_encoder

    if load:
        ctx.trained = read_done(ctx.out / "steps/train")["trained"]
        return
    if not ctx.out:
        raise ValueError("the train step saves a model: give the run an out folder")
    groups = groups_from_mined(to_mined(ctx.ds, ctx.prep, ctx.cands, ctx.sel, ctx.cfg.mine_config()))
    t0 = time.perf_counter()
    with atomic_dir(ctx.out / MODEL) as tmp:  # a killed run leaves no half-saved model
        res = train_bi_encoder(groups, ctx.cfg.train, tmp, progress=ctx.cfg.show_progress)
    ctx.trained = {"rows": res.rows, "seconds": round(time.perf_counter() - t0, 2), "path": str(ctx.out / MODEL)}


def evaluate(ctx, load: bool) -> None:
    """Score the trained model and the baselines on config.evaluate.split (metrics in [0, 1]) into out/eval.json."""
    from hardneg.data.load import load_data
    from hardneg.evaluate.benchmark import eval_retrievers

    path = ctx.out / EVAL
    if load:
        ctx.evaluation = json.loads(path.read_text(encoding="utf-8"))
        return
    d, ev = ctx.cfg.data, ctx.cfg.evaluate
    test = load_data(d.path, ev.split, query_column=d.query_column, answer_column=d.answer_column,
                     skip_invalid=d.skip_invalid)
    specs = [f"dense:{(ctx.out / MODEL).resolve()}", *ev.baselines]
    rows = eval_retrievers(test, specs, ev.metrics, batch_size=ctx.cfg.retrieve.batch_size, show_progress=False)
    rows[0]["name"] = "trained"
    ctx.evaluation = {"split": ev.split, "rows": [{k: v for k, v in r.items() if k != "seconds"} for r in rows],
                      "train": asdict(ctx.cfg.train)}
    with atomic_write(path) as f:
        f.write(json.dumps(ctx.evaluation, indent=2, sort_keys=True) + "\n")
