"""The training half of `hardneg demo`: mine SciFact train, validate with the mpnet teacher, export, train MiniLM,
score it on test against zero-shot."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from hardneg.paths import cache_dir
from hardneg.experiment.grid import Cell, Experiment, run_experiment
from hardneg.experiment.recipes import Recipe

# default: a stated slice of SciFact, about 210 CPU seconds on 2 cores from a cold cache (40 train queries, 60 test
# queries, a 200-document corpus holding their positives; 2 negatives checked by a 64-token mpnet teacher; 1 epoch
# on inputs cut to 64 tokens; scored at MiniLM's own length so zero-shot reuses the miner's embeddings).
# --full: the Q1 recipe on every train query (examples/q1_minilm_scifact.yaml, hardneg-percpos-teacher: 3 epochs,
# lr 5e-5, 5 negatives mined, one per row).
SIZES = {
    False: {"train_queries": 40, "test_queries": 60, "corpus_docs": 200, "max_seq_length": 64,
            "eval_max_seq_length": 0, "epochs": 1},
    True: {"train_queries": 10**9, "test_queries": 10**9, "corpus_docs": 10**9, "max_seq_length": 128,
           "eval_max_seq_length": 0, "epochs": 3},
}
LR = {False: 5e-5, True: 5e-5}
NEGATIVES = {False: 2, True: 5}
TEACHER = {False: "teacher:mpnet:64", True: "teacher:mpnet:128"}


def demo_experiment(data: str, full: bool) -> Experiment:
    """One cell: MNRL on hardneg's recipe (BM25 + MiniLM candidates, TopK-PercPos 95%, mpnet teacher check)."""
    recipe = Recipe(name="hardneg-percpos-teacher", kind="hardneg", retrievers=["bm25", "dense:minilm"],
                    strategy="topk-percpos:0.95", num_negatives=NEGATIVES[full], validate=[TEACHER[full]])
    train = {"epochs": SIZES[full]["epochs"], "batch_size": 32, "learning_rate": LR[full], "warmup_ratio": 0.1,
             "max_seq_length": SIZES[full]["max_seq_length"], "seed": 42, "n_negatives": 1}
    raw = {"name": "demo", "dataset": data, "recipes": [recipe.to_dict()],
           "cells": [{"recipe": recipe.name, "loss": "mnrl", "model": "minilm"}], "train": train,
           "quick": SIZES[full]}
    return Experiment("demo", data, {recipe.name: recipe}, [Cell("minilm", recipe.name, "mnrl")], train,
                      quick=dict(SIZES[full]), raw=raw)


def run_training_demo(data: str, full: bool = False, console: Console | None = None,
                      out: str | Path | None = None) -> list[dict]:
    """Step 2 of the demo; done work is kept under the hardneg cache, so a re-run only prints. Returns the rows."""
    from hardneg.evaluate.report import table_console
    from hardneg.experiment.report import results_table

    from hardneg.data.beir import splits
    from hardneg.data.fetch import resolve_dataset

    console = console or table_console()
    t0 = time.perf_counter()
    have = splits(resolve_dataset(data))
    if "train" not in have or "test" not in have:
        console.print(f"[yellow]Step 2 skipped[/yellow]: {data} has no train and test splits ({', '.join(have)})")
        return []
    exp = demo_experiment(data, full)
    out = Path(out) if out else cache_dir("demo", "full" if full else "default")
    size = "every train query, 3 epochs" if full else f"{SIZES[False]['train_queries']} sampled train queries, 1 epoch"
    console.print(f"[bold]Step 2[/bold] mine train (BM25 + MiniLM fused by RRF, TopK-PercPos 95%, "
                  f"{NEGATIVES[full]} negatives), check them with the mpnet teacher ({TEACHER[full]}, rule "
                  f"perc:0.95), fine-tune MiniLM with MNRL ({size}, inputs cut to {SIZES[full]['max_seq_length']} "
                  f"tokens); results in {out}")
    with console.status("training and evaluating (cells already done are reused)"):
        rows = run_experiment(exp, out, quick=True)
    console.print(results_table(rows, "test split: zero-shot vs fine-tuned"))
    console.print(f"[green]step 2 done[/green] in {time.perf_counter() - t0:.1f} s")
    return rows
