"""Experiment outputs: results.csv / results.md, bar charts per metric, score histograms per recipe, versions."""

from __future__ import annotations

import csv
import json
import logging
import platform
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hardneg.io import atomic_write

if TYPE_CHECKING:
    from rich.table import Table

log = logging.getLogger(__name__)

COLUMNS = ["kind", "model", "recipe", "loss", "ndcg@10", "mrr@10", "recall@1", "recall@3", "recall@10",
           "recall@100", "train_s", "train_rows"]
PACKAGES = ["hardneg", "sentence-transformers", "transformers", "torch", "datasets", "accelerate", "bm25s",
            "ranx", "numpy"]


def versions() -> dict:
    """Installed versions of the packages a result depends on."""
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def markdown(rows: list[dict]) -> str:
    """A GitHub table of the rows (metrics in [0, 1], train time in seconds)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(f"{r.get(c, '')}" for c in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def results_table(rows: list[dict], title: str) -> Table:
    """A rich table of result rows (metrics in [0, 1], train time in seconds)."""
    from rich.table import Table

    t = Table(title=title)
    for c in COLUMNS[1:]:
        t.add_column(c, justify="right" if c not in ("model", "recipe", "loss") else "left")
    for r in rows:
        t.add_row(*[f"{r.get(c, '')}" for c in COLUMNS[1:]])
    return t


def bar_charts(out: Path, rows: list[dict]) -> list[Path]:
    """One PNG bar chart per metric, one bar per row."""
    from hardneg.plots import pyplot, save_figure

    plt = pyplot()

    paths = []
    labels = [f"{r['recipe']}/{r['loss']}" if r["loss"] != "-" else f"{r['model']} zero-shot" for r in rows]
    for m in COLUMNS[4:10]:
        fig, ax = plt.subplots(figsize=(max(5, 0.7 * len(rows) + 2), 3.6))
        vals = [r.get(m, 0.0) for r in rows]
        ax.bar(range(len(rows)), vals, color=["#888" if r["loss"] == "-" else "#3a7" for r in rows])
        ax.set_xticks(range(len(rows)), labels, rotation=35, ha="right", fontsize=8)
        ax.set_ylabel(m)
        for i, v in enumerate(vals):
            ax.text(i, v, f"{v:.3f}", ha="center", va="bottom", fontsize=7)
        fig.tight_layout()
        paths.append(save_figure(fig, out / "plots" / f"{m.replace('@', '_at_')}.png"))
    return paths


def score_histograms(out: Path) -> list[Path]:
    """Per recipe, the miner's positive and negative scores of its training groups (recipes without scores skipped)."""
    from hardneg.plots import pyplot, save_figure

    plt = pyplot()

    from hardneg.experiment.recipes import load_groups

    paths = []
    for gpath in sorted((out / "recipes").glob("*.jsonl.gz")):
        g = load_groups(gpath)
        pos = np.array([s for s in g.pos_scores if s is not None], dtype=np.float32)
        neg = np.array([x for s in g.neg_scores if s for x in s], dtype=np.float32)
        if not len(neg):
            continue
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.hist(pos, bins=40, alpha=0.6, label=f"positives ({len(pos)})")
        ax.hist(neg, bins=40, alpha=0.6, label=f"negatives ({len(neg)})")
        ax.set_xlabel("miner score")
        ax.set_title(gpath.name.removesuffix(".jsonl.gz"))
        ax.legend(fontsize=8)
        fig.tight_layout()
        paths.append(save_figure(fig, out / "plots" / f"scores_{gpath.name.removesuffix('.jsonl.gz')}.png"))
    return paths


def write_outputs(out: Path, exp, rows: list[dict], quick: bool, seed: int) -> None:
    """results.csv, results.md, plots/, config.yaml (exact) and run.json (mode, seed, versions)."""
    import yaml

    with atomic_write(out / "results.csv") as f:
        w = csv.DictWriter(f, fieldnames=["cell"] + COLUMNS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    head = f"# {exp.name}\n\nDataset `{exp.dataset}`, {'quick' if quick else 'full'} mode, seed {seed}.\n\n"
    with atomic_write(out / "results.md") as f:
        f.write(head + markdown(rows))
    with atomic_write(out / "config.yaml") as f:
        f.write(yaml.safe_dump(exp.raw, sort_keys=False))
    with atomic_write(out / "run.json") as f:
        f.write(json.dumps({"quick": quick, "seed": seed, "quick_settings": exp.quick if quick else None,
                            "versions": versions()}, indent=2) + "\n")
    bar_charts(out, rows)
    score_histograms(out)
