"""The optional steps around mining: generate (LLM queries for the corpus, before retrieve), train (fine-tune a
bi-encoder on the mined negatives) and evaluate (score it, and any baselines, with ranx on a held-out split).
train and evaluate have the mine steps' contract, `step(ctx, load)`; generate runs before the data is loaded."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from hardneg.io import atomic_dir, atomic_write, read_done

MODEL, EVAL, GENERATED = "model", "eval.json", "generated"


def generate(cfg, dest: Path, on_progress=None):
    """Generate and filter queries for cfg.data.path's corpus into `dest` (a BEIR folder, `train` split).

    Resumable on its own: finished generation shards in dest/.generate are reused (each with its done marker).
    `on_progress(docs, tokens)` is called as documents finish. Returns (GenerateResult, the LLM backend).
    """
    from hardneg.generate.core import generate_dataset, load_corpus
    from hardneg.generate.filters import parse_filters
    from hardneg.generate.prompts import make_prompt
    from hardneg.generate.run import GenConfig, prompt_key
    from hardneg.llm import make_llm

    g = cfg.generate
    examples = Path(g.examples) if g.examples else None
    temp = g.temperature if g.temperature is not None else (0.0 if g.per_doc == 1 else 0.8)
    opts = {"openai": {"api_key_env": g.api_key_env, "concurrency": g.concurrency},
            "local": {"parallel": g.concurrency if g.concurrency > 1 and temp > 0 else 1,
                      "threads": g.threads or None}}.get(g.llm.kind, {})
    llm = make_llm(g.llm, **opts)
    gen = GenConfig(backend=g.backend, prompt=prompt_key(g.prompt, examples), per_doc=g.per_doc, sample=g.sample,
                    seed=g.seed, max_tokens=g.max_tokens, temperature=temp, checkpoint_every=g.checkpoint_every)
    loaded = load_corpus(cfg.data.path, cfg.data.skip_invalid)
    res = generate_dataset(cfg.data.path, llm, make_prompt(g.prompt, examples), gen, Path(dest),
                           parse_filters(g.filters), on_progress, loaded=loaded)
    return res, llm


def run_generate(cfg, dest: str | Path | None = None, on_progress=None):
    """The generate step alone (what `hardneg generate` runs): queries into `dest` (default out/generated),
    resumed from its finished shards; marked done in out/steps when config.out is set. Returns
    (GenerateResult, the LLM backend)."""
    res, llm = generate(cfg, Path(dest) if dest else Path(cfg.out) / GENERATED, on_progress)
    if cfg.out:
        from hardneg.io import mark_done

        mark_done(Path(cfg.out) / "steps/generate", generate_key(cfg), queries=res.kept,
                  documents=res.stats.documents)
    return res, llm


def generate_key(cfg) -> str:
    """The generate step's key: the corpus it reads and its own section."""
    from hardneg.io import fingerprint

    d = cfg.to_dict()
    src = Path(cfg.data.path)
    data = {"path": str(src.resolve()) if src.exists() else cfg.data.path, "skip_invalid": cfg.data.skip_invalid}
    return fingerprint({"data": data, "generate": d["generate"]})


def generated(cfg):
    """The generated queries of a run (out/generated) as a Dataset."""
    from hardneg.data.beir import load_beir

    return load_beir(Path(cfg.out) / GENERATED, "train")


def train(ctx, load: bool) -> None:
    """Fine-tune config.train.model on the exported (validated) negatives; the model is saved to out/model."""
    from hardneg.pipeline.result import to_mined
    from hardneg.train.data import groups_from_mined
    from hardneg.train.trainer import train_bi_encoder

    if load:
        ctx.trained = read_done(ctx.out / "steps/train")["trained"]
        return
    if not ctx.out:
        raise ValueError("the train step saves a model: give the run an out folder")
    groups = groups_from_mined(to_mined(ctx.ds, ctx.prep, ctx.cands, ctx.sel, ctx.cfg))
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
