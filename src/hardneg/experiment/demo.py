"""`hardneg demo`: mine, validate, train briefly and evaluate on a stated slice of SciFact, then write an HTML report.

Default: a slice that fits a coffee break on 2 CPU cores (see hardneg.experiment.showcase.SIZES). `--full`: BM25, MiniLM
and mpnet on the whole test split, then the Q1 recipe on every train query.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from hardneg.data.load import load_data
from hardneg.evaluate.benchmark import eval_retrievers
from hardneg.evaluate.metrics import DEFAULT_METRICS
from hardneg.evaluate.report import metrics_table, table_console

BASELINES = ("bm25", "dense:minilm")
FULL_EXTRA = ("dense:mpnet",)  # --full: the slower, stronger offline model too
# published SciFact test nDCG@10 figures to compare against (full test split only)
PUBLISHED = {"bm25": "0.665 (BEIR paper), 0.679 (Anserini)", "dense:minilm": "about 0.645"}
METRICS = ("ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100")


def baselines(ds, specs, console: Console, metrics=DEFAULT_METRICS, published: bool = True) -> list[dict]:
    """Evaluate retriever specs on `ds` and print their table; returns the rows (metrics in [0, 1])."""
    rows = eval_retrievers(ds, specs, metrics, on_step=lambda m: console.print(f"[dim]  {m}[/dim]"))
    extra = [c for c in ("seconds", "cache_hits", "cache_misses") if any(c in r for r in rows)]
    console.print(metrics_table(rows, title=f"{ds.name} test: retrieval baselines", extra=extra))
    for r in rows:
        if published and r["name"] in PUBLISHED and ds.name == "scifact":
            console.print(f"  {r['name']}: nDCG@10 {r['ndcg@10']:.4f}, published {PUBLISHED[r['name']]}")
        if "cache_hits" in r:
            console.print(f"  embedding cache for {r['name']}: {r['cache_hits']:,} hits, "
                          f"{r['cache_misses']:,} misses")
    return rows


def run_demo(data: str = "scifact", full: bool = False, console: Console | None = None) -> list[dict]:
    """Step 1 on the whole test split: BM25 and MiniLM (and mpnet with `full`); returns the rows."""
    console = console or table_console()
    t0 = time.perf_counter()
    ds = load_data(data, "test")
    console.rule(f"[bold]hardneg demo[/bold] · {ds.name}: {len(ds.corpus):,} docs, {len(ds.qrels):,} test queries")
    specs = list(BASELINES) + (list(FULL_EXTRA) if full else [])
    console.print("[bold]Step 1[/bold] baselines: " + ", ".join(specs))
    rows = baselines(ds, specs, console)
    console.print(f"[green]done[/green] in {time.perf_counter() - t0:.1f} s")
    return rows


def _named(rows: list[dict]) -> list[dict]:
    """Experiment rows as report rows: 'MiniLM zero-shot', 'MiniLM fine-tuned on RECIPE'."""
    out = []
    for r in rows:
        model = {"minilm": "MiniLM"}.get(r["model"], r["model"])
        name = f"{model} zero-shot" if r["recipe"] == "zero-shot" else f"{model} fine-tuned on {r['recipe']}"
        out.append({"name": name, **{k: r[k] for k in METRICS if k in r}})
    return out


def run_showcase(data: str, out: Path, full: bool = False, console: Console | None = None) -> Path | None:
    """The demo on its stated slice (or `full`): baselines, mine + validate + train + evaluate, HTML report."""
    from hardneg.experiment.demo_report import write_demo_report
    from hardneg.experiment.grid import load_data as slice_data
    from hardneg.experiment.showcase import NEGATIVES, SIZES, TEACHER, demo_experiment, run_training_demo

    console = console or table_console()
    t0 = time.perf_counter()
    exp = demo_experiment(data, full)
    train, test = slice_data(exp, not full, int(exp.train["seed"]))
    what = "whole" if full else "slice of"
    head = (f"{what} {test.name}: {len(test.corpus):,} docs, {len(train.qrels):,} train queries, "
            f"{len(test.qrels):,} test queries")
    console.rule(f"[bold]hardneg demo[/bold] · {head}")
    specs = list(BASELINES) + (list(FULL_EXTRA) if full else [])
    console.print("[bold]Step 1[/bold] baselines on the test " + ("split" if full else "slice") + ": "
                  + ", ".join(specs))
    base = baselines(test, specs, console, METRICS, published=full)
    console.print(f"[green]step 1 done[/green] in {time.perf_counter() - t0:.1f} s")
    rows = run_training_demo(data, full, console, out)
    recipe = next(iter(exp.recipes))
    vdir = out / "recipes" / recipe / "validation"
    seconds = time.perf_counter() - t0
    about = {
        "title": f"hardneg demo: {test.name}",
        "lines": [
            head + (" (the corpus slice holds every sampled query's positives plus random documents; seed "
                    f"{exp.train['seed']})" if not full else ""),
            f"candidates: BM25 + MiniLM fused by RRF; strategy topk-percpos:0.95; {NEGATIVES[full]} negatives "
            f"per query, checked by {TEACHER[full]} with rule perc:0.95",
            f"training: all-MiniLM-L6-v2, MNRL, {SIZES[full]['epochs']} epoch(s), lr {exp.train['learning_rate']}, "
            f"batch {exp.train['batch_size']}, inputs cut to {exp.train['max_seq_length']} tokens, seed "
            f"{exp.train['seed']}; scored at MiniLM's own 256 tokens",
            f"this run took {seconds:.1f} s (a rerun into the same folder reuses every finished step)",
        ] + ([] if full else [
            "the training step is brief (one epoch on the slice's train queries), so on a test slice this small "
            "its scores move by noise; `hardneg demo --full` trains the Q1 recipe on every train query (0.7328 "
            "nDCG@10 on the full test split against 0.6451 zero-shot, see docs/benchmarks.md)"]),
        "files": [("experiment results", str(out / "results.md")),
                  ("validation audit (every drop)", str(vdir / "audit.jsonl")),
                  ("training data (sentence-transformers triplets)", str(out / "recipes" / recipe / "triplet"))],
    }
    report_rows = [{"name": r["name"], **{k: r[k] for k in METRICS if k in r}} for r in base
                   if r["name"] != "dense:minilm"]  # MiniLM's zero-shot row comes from the experiment
    report_rows += _named(rows)
    extra = [out / "plots" / f"scores_{recipe}.png"]
    path = write_demo_report(out, report_rows, about, vdir if vdir.exists() else None, extra)
    if vdir.exists():
        import json

        s = json.loads((vdir / "summary.json").read_text(encoding="utf-8"))
        console.print(f"validation: {s['judged']} candidates judged, [bold]{s['dropped']} suspected false "
                      f"negatives dropped[/bold], {s['kept']} kept")
    console.print(f"[green]demo done[/green] in {seconds:.1f} s; report: [bold]{path}[/bold]")
    return path
