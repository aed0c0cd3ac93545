"""`hardneg demo`: the end-to-end showcase on embedded defaults (for now: BM25 vs MiniLM on SciFact test)."""

from __future__ import annotations

import time

import typer
from rich.console import Console

from hardneg.data.errors import DataError
from hardneg.data.load import load_data
from hardneg.evaluate.benchmark import eval_retrievers
from hardneg.evaluate.metrics import DEFAULT_METRICS
from hardneg.evaluate.report import metrics_table, table_console

BASELINES = ("bm25", "dense:minilm")
FULL_EXTRA = ("dense:mpnet",)  # --full: the slower, stronger offline model too
# published SciFact test nDCG@10 figures to compare against
PUBLISHED = {"bm25": "0.665 (BEIR paper), 0.679 (Anserini)", "dense:minilm": "about 0.645"}


def run_demo(data: str = "scifact", full: bool = False, console: Console | None = None) -> list[dict]:
    """Step 1: baselines. Evaluate BM25 and MiniLM on the test split and print the table; returns the rows."""
    console = console or table_console()
    t0 = time.perf_counter()
    ds = load_data(data, "test")
    console.rule(f"[bold]hardneg demo[/bold] · {ds.name}: {len(ds.corpus):,} docs, {len(ds.qrels):,} test queries")
    specs = list(BASELINES) + (list(FULL_EXTRA) if full else [])
    console.print("[bold]Step 1[/bold] baselines: " + ", ".join(specs))
    rows = eval_retrievers(ds, specs, DEFAULT_METRICS, on_step=lambda m: console.print(f"[dim]  {m}[/dim]"))
    extra = [c for c in ("seconds", "cache_hits", "cache_misses") if any(c in r for r in rows)]
    console.print(metrics_table(rows, title=f"{ds.name} test: retrieval baselines", extra=extra))
    for r in rows:
        if r["name"] in PUBLISHED and ds.name == "scifact":
            console.print(f"  {r['name']}: nDCG@10 {r['ndcg@10']:.4f}, published {PUBLISHED[r['name']]}")
        if "cache_hits" in r:
            console.print(f"  embedding cache for {r['name']}: {r['cache_hits']:,} hits, "
                          f"{r['cache_misses']:,} misses")
    console.print(f"[green]done[/green] in {time.perf_counter() - t0:.1f} s")
    return rows


def demo(
    data: str = typer.Option("scifact", "--data", help="BEIR folder or dataset name to run the demo on "
                             "(default: scifact from ../shared/datasets or the cache)."),
    full: bool = typer.Option(False, "--full", help="Run the longer version (adds all-mpnet-base-v2, slower)."),
    train: bool = typer.Option(True, "--train/--no-train", help="Step 2: mine, validate, export, fine-tune MiniLM "
                               "and compare it with zero-shot (needs train and test splits)."),
) -> None:
    """Run the showcase: BM25 and MiniLM on SciFact test, then MiniLM fine-tuned on hardneg's negatives."""
    try:
        run_demo(data, full)
        if train:
            from hardneg.train.showcase import run_training_demo

            run_training_demo(data, full)
    except DataError as e:
        Console(stderr=True).print(f"[red]error:[/red] {e}", soft_wrap=True)
        raise typer.Exit(2) from None
