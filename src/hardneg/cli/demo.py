"""`hardneg demo`: the showcase on a stated slice of SciFact (see hardneg.experiment.demo)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from hardneg.data.errors import DataError
from hardneg.experiment.demo import run_demo, run_showcase


def demo(
    data: str = typer.Option("scifact", "--data", help="BEIR folder or dataset name to run the demo on "
                             "(default: scifact from ../shared/datasets or the cache)."),
    full: bool = typer.Option(False, "--full", help="The full run: whole test split, mpnet too, and the Q1 "
                              "recipe on every train query (slow)."),
    train: bool = typer.Option(True, "--train/--no-train", help="Mine, validate, fine-tune MiniLM and compare it "
                               "with zero-shot (needs train and test splits); --no-train: baselines only."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default: the hardneg cache, demo/default or "
                             "demo/full); the HTML report is OUT/report.html."),
) -> None:
    """Run the showcase on a stated slice of SciFact and write an HTML report (--full: the whole Q1 run)."""
    try:
        if not train:
            run_demo(data, full)
            return
        from hardneg.data.beir import splits
        from hardneg.data.fetch import resolve_dataset
        from hardneg.paths import cache_dir

        if not {"train", "test"} <= set(splits(resolve_dataset(data))):
            from hardneg.experiment.showcase import run_training_demo

            run_demo(data, full)
            run_training_demo(data, full)  # prints why step 2 is skipped
            return
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the demo prints its own steps; no per-model loading bars
        run_showcase(data, Path(out) if out else cache_dir("demo", "full" if full else "default"), full)
    except DataError as e:
        Console(stderr=True).print(f"[red]error:[/red] {e}", soft_wrap=True)
        raise typer.Exit(2) from None
