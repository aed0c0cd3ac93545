"""`hardneg eval`: run retrievers on a dataset split and print a side-by-side metric table."""

from __future__ import annotations

import json
from typing import List, Optional

import typer
from rich.console import Console

from hardneg.data.beir import LoadReport
from hardneg.data.errors import DataError
from hardneg.data.load import load_data
from hardneg.evaluate.benchmark import eval_retrievers
from hardneg.evaluate.metrics import metric_names
from hardneg.evaluate.report import metrics_table, plot_metrics, table_console


def default_metrics(k: int) -> list[str]:
    """nDCG@k and MRR@k at the headline cutoff, Recall@100 and MAP@100 for depth."""
    return [f"ndcg@{k}", f"mrr@{k}", "recall@100", "map@100"]


def eval_command(
    data: str = typer.Option(..., "--data", help="BEIR folder, dataset name (scifact), pair file "
                             "(jsonl/csv/parquet), saved HF dataset folder or hub name."),
    split: str = typer.Option("test", "--split", help="Qrels split to evaluate (qrels/<split>.tsv; HF split)."),
    retriever: List[str] = typer.Option(["bm25"], "--retriever", "-r", help="Retriever spec, repeatable: "
                                        "bm25, dense:minilm, dense:mpnet, dense:PATH or dense:HUB_ID."),
    k: int = typer.Option(10, "--k", min=1, help="Cutoff of the default nDCG@k and MRR@k metrics."),
    metric: Optional[List[str]] = typer.Option(None, "--metric", "-m", help="Metric, repeatable "
                                               "(ndcg@k, mrr@k, recall@k, map@k, p@k); replaces the defaults."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON only on stdout."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="Encoding batch size for dense "
                                             "retrievers (default: the retriever's own)."),
    backend: Optional[str] = typer.Option(None, "--backend", help="Encoding runtime for dense retrievers "
                                          "(default: the fastest installed, e.g. torch)."),
    precision: Optional[str] = typer.Option(None, "--precision", help="Dense models' precision: auto, fp32, bf16, fp16 or int8 (default: auto)."),
    plot: Optional[str] = typer.Option(None, "--plot", help="Also write a bar chart of the metrics to this "
                                       "file (.png, .svg or .pdf)."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Skip and count empty texts and qrels "
                                      "to unknown ids instead of failing."),
    query_column: str = typer.Option("query", "--query-column", help="Query column of pair files and HF sets."),
    answer_column: str = typer.Option("answer", "--answer-column", help="Answer column of pair files and HF sets."),
) -> None:
    """Evaluate retrievers (nDCG, MRR, Recall, MAP via ranx) on the judged queries of one split."""
    out = table_console()
    err = Console(stderr=True)
    from hardneg.checks import check_plot
    from hardneg.cli.common import fail

    try:
        metrics = metric_names(metric or default_metrics(k))
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--metric") from None
    try:
        check_plot(plot)
        from hardneg.models.runtime import use_precision

        use_precision(precision)
    except ValueError as e:
        fail(e)
    report = LoadReport()
    try:
        with err.status(f"loading {data} ({split})", spinner="dots"):
            ds = load_data(data, split, query_column=query_column, answer_column=answer_column,
                           skip_invalid=skip_invalid, report=report)
    except DataError as e:
        err.print(f"[red]error:[/red] {e}", soft_wrap=True)
        raise typer.Exit(2) from None
    # step lines, not a status spinner: dense retrievers draw their own progress bars while encoding
    try:
        rows = eval_retrievers(ds, retriever, metrics, on_step=lambda m: err.print(f"[dim]{m}[/dim]"),
                               batch_size=batch_size, backend=backend, precision=precision, show_progress=not as_json)
    except ValueError as e:
        err.print(f"[red]error:[/red] {e}", soft_wrap=True)
        raise typer.Exit(2) from None
    if plot:
        plot_metrics(rows, plot, title=f"{ds.name} ({split})")
    if as_json:
        skipped = {"empty_docs": report.empty_docs, "empty_queries": report.empty_queries,
                   "unknown_qrels": report.unknown_qrels}
        doc = {"data": data, "split": split, "docs": len(ds.corpus), "metrics": metrics,
               "skipped": skipped, "results": rows}
        typer.echo(json.dumps(doc, indent=2))
        return
    extra = [c for c in ("seconds", "cache_hits", "cache_misses") if any(c in r for r in rows)]
    out.print(metrics_table(rows, title=f"{ds.name or data} · {split} · {len(ds.corpus):,} docs", extra=extra))
    for r in rows:
        if "cache_hits" in r:
            out.print(f"embedding cache for {r['name']}: {r['cache_hits']:,} hits, {r['cache_misses']:,} misses")
    if skip_invalid and (report.empty_docs or report.empty_queries or report.unknown_qrels):
        out.print(f"[yellow]skipped:[/yellow] {report.empty_docs} empty docs, {report.empty_queries} empty "
                  f"queries, {report.unknown_qrels} qrels to unknown ids")
    if plot:
        out.print(f"chart written to {plot}")
