"""`hardneg convert`: load any supported source and write it out as a BEIR folder."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from hardneg.data.beir import LoadReport, write_beir
from hardneg.data.load import load_data, source_kind


def convert(
    source: str = typer.Argument(..., help="BEIR folder, dataset name, pair file (jsonl/csv/tsv/parquet), "
                                 "saved HF dataset folder or hub name."),
    out: Path = typer.Argument(..., help="Output folder (BEIR layout: corpus.jsonl, queries.jsonl, qrels/)."),
    split: str = typer.Option("test", "--split", help="Split to read (BEIR qrels or HF split) and to write."),
    query_column: str = typer.Option("query", "--query-column", help="Query column of pair files and HF sets."),
    answer_column: str = typer.Option("answer", "--answer-column", help="Answer column of pair files and HF sets."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Skip and count empty texts and qrels "
                                      "to unknown ids instead of failing."),
) -> None:
    """Convert a dataset to BEIR layout (pairs get text-hash ids; repeated texts are pooled)."""
    console = Console()
    report = LoadReport()
    from hardneg.checks import check_out

    try:
        check_out(out, "OUT")
        kind = source_kind(source)
        with Console(stderr=True).status(f"loading {source}"):
            ds = load_data(source, split, query_column=query_column, answer_column=answer_column,
                           skip_invalid=skip_invalid, report=report)
    except ValueError as e:  # DataError or a bad OUT
        Console(stderr=True).print(f"[red]error:[/red] {e}", soft_wrap=True)
        raise typer.Exit(2) from None
    write_beir(out, ds, split=split)
    table = Table(title=f"{source} ({kind}) -> {out}")
    for col in ("docs", "queries", "judged queries", "qrels", "skipped"):
        table.add_column(col, justify="right")
    skipped = report.empty_docs + report.empty_queries + report.unknown_qrels
    table.add_row(f"{len(ds.corpus):,}", f"{len(ds.queries):,}", f"{len(ds.qrels):,}",
                  f"{sum(map(len, ds.qrels.values())):,}", f"{skipped:,}")
    console.print(table)
