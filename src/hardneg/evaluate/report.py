"""Result tables (rich) and bar charts (matplotlib) for rows made by `compare`."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from rich.console import Console
from rich.table import Table

from hardneg.evaluate.metrics import parse_metric


def _is_metric(key: str) -> bool:
    try:
        parse_metric(key)
        return True
    except ValueError:
        return False


def metric_keys(rows: Sequence[dict]) -> list[str]:
    """Metric columns (keys like 'ndcg@10') in first-seen order."""
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys and _is_metric(k)]
    return keys


def table_console() -> Console:
    """A console for result tables: the terminal's width, or 160 columns when output is piped to a file."""
    c = Console()
    return c if c.is_terminal else Console(width=160)


def metrics_table(rows: Sequence[dict], title: str = "", digits: int = 4, extra: Sequence[str] = ()) -> Table:
    """Side-by-side table: one row per run, one column per metric (best in bold), then the `extra` keys."""
    keys = metric_keys(rows)
    show_q = any("queries" in r for r in rows)
    table = Table(title=title or None)
    name_width = max([3] + [len(str(r.get("name", ""))) for r in rows])
    table.add_column("run", style="cyan", no_wrap=True, min_width=name_width)
    if show_q:
        table.add_column("queries", justify="right", min_width=7)
    for k in keys:  # min widths keep headers and values whole on narrow (or piped, 80-column) output
        table.add_column(k, justify="right", no_wrap=True, min_width=max(len(k), digits + 2))
    for k in extra:
        table.add_column(k.replace("_", " "), justify="right", style="dim", min_width=7)
    best = {k: max((r[k] for r in rows if k in r), default=None) for k in keys}
    for r in rows:
        cells = [str(r.get("name", ""))] + ([str(r.get("queries", ""))] if show_q else [])
        for k in keys:
            v = r.get(k)
            text = "" if v is None else f"{v:.{digits}f}"
            cells.append(f"[bold]{text}[/bold]" if v is not None and v == best[k] and len(rows) > 1 else text)
        cells += ["" if r.get(k) is None else f"{r[k]:,}" if isinstance(r[k], int) else str(r[k]) for k in extra]
        table.add_row(*cells)
    return table


def plot_metrics(rows: Sequence[dict], path: str | Path, title: str = "") -> Path:
    """Grouped bar chart (metric groups, one bar per run) written atomically to `path` (png, svg or pdf)."""
    import numpy as np

    from hardneg.plots import pyplot, save_figure

    plt = pyplot()
    path = Path(path)
    keys = metric_keys(rows)
    if not rows or not keys:
        raise ValueError("plot_metrics needs at least one row with a metric value")
    x = np.arange(len(keys))
    width = 0.8 / len(rows)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(keys) * max(1, len(rows)) / 2 + 2), 3.6))
    for i, r in enumerate(rows):
        vals = [r.get(k, 0.0) for k in keys]
        bars = ax.bar(x + (i - (len(rows) - 1) / 2) * width, vals, width, label=str(r.get("name", i)))
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=1)
    ax.set_xticks(x, keys)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)
