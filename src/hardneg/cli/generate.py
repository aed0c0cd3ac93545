"""`hardneg generate`: write synthetic queries for a corpus, filter them, and save a BEIR folder to mine."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)


def summary_table(res, price: Optional[float], backend_stats: dict) -> Table:
    """Documents, queries generated and kept per filter, tokens, wall time and cost."""
    s = res.stats
    t = Table(title="hardneg generate")
    t.add_column("what")
    t.add_column("value", justify="right")
    t.add_row("documents", f"{s.documents} ({s.resumed_docs} resumed)")
    t.add_row("queries generated", str(s.generated))
    for c in res.counts:
        t.add_row(f"kept after {c.label}", f"{c.kept} / {c.seen}")
    t.add_row("queries written", str(res.kept))
    t.add_row("generated tokens (this run)", f"{s.tokens} ({s.new_tokens})")
    if s.prompt_tokens:
        t.add_row("prompt tokens (this run)", str(s.prompt_tokens))
    t.add_row("wall time", f"{s.seconds:.1f} s")
    if s.seconds > 0 and s.new_tokens:
        t.add_row("throughput", f"{s.new_tokens / s.seconds:.1f} tokens/s, "
                                f"{s.new_queries / s.seconds:.2f} queries/s")
    for k, v in backend_stats.items():
        t.add_row(k, str(v))
    if price is not None:
        cost = (s.new_tokens + s.prompt_tokens) / 1000 * price
        t.add_row("cost (this run)", f"{cost:.4f} (at {price} per 1k prompt+generated tokens)")
    return t


def generate(
    data: Path = typer.Option(..., "--data", help="BEIR folder (only corpus.jsonl[.gz] is read) or a corpus.jsonl file."),
    backend: str = typer.Option("local", help="LLM: local (SmolLM2-135M), local:gemma, local:PATH.gguf, "
                                              "openai:URL[:MODEL] or hf:MODEL (path or hub id)."),
    prompt: str = typer.Option("inpars", help="inpars, gbq, promptagator (needs --examples), doc (raw text, for "
                                             "doc2query T5) or a template FILE ({document}/{title} or Jinja)."),
    examples: Optional[Path] = typer.Option(None, help="JSONL of your own {query, document} pairs for --prompt promptagator."),
    per_doc: int = typer.Option(1, "--per-doc", help="Queries generated per document."),
    sample: int = typer.Option(0, help="Generate for this many documents drawn with --seed (0 = all)."),
    filter_: list[str] = typer.Option([], "--filter", help="Filter, repeatable, applied in order: length:MIN:MAX, dedupe, "
                                                           "copy:RUN, repeat:COUNT, score:FRAC, roundtrip:K:RETRIEVER, "
                                                           "rerank:N:MODEL (default: length:3:32, dedupe, copy:6, "
                                                           "repeat:3; `none` keeps every query)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output BEIR folder; rerunning the same command resumes."),
    seed: int = typer.Option(0, help="Global seed (sampling of documents and per-document generation seeds)."),
    max_tokens: int = typer.Option(48, help="Most tokens generated per query."),
    temperature: Optional[float] = typer.Option(None, help="Sampling temperature (default 0 = greedy for --per-doc 1, else 0.8)."),
    checkpoint_every: int = typer.Option(64, help="Documents per checkpoint shard."),
    concurrency: int = typer.Option(4, help="Parallel requests (openai backend) or slots (local backend)."),
    threads: int = typer.Option(0, help="CPU threads for the local backend (0 = all cores; 1 is faster on a busy machine)."),
    api_key_env: str = typer.Option("OPENAI_API_KEY", help="Environment variable holding the API key (never logged)."),
    price_per_1k_tokens: Optional[float] = typer.Option(None, "--price-per-1k-tokens",
                                                        help="Price per 1000 tokens, to print the run's cost."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Discard checkpoints of an earlier run in --out and start over."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Skip documents without an id or text instead of failing."),
) -> None:
    """Generate synthetic queries (InPars/Promptagator style), filter them and write a dataset `mine` can read."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from hardneg.checks import check_out
    from hardneg.cli.common import fail
    from hardneg.generate.core import load_corpus
    from hardneg.generate.run import sample_rows
    from hardneg.pipeline.model_steps import run_generate
    from hardneg.pipeline.pipeline_config import from_dict

    flags = {"backend": "--backend", "prompt": "--prompt", "filters": "--filter", "per_doc": "--per-doc",
             "max_tokens": "--max-tokens", "checkpoint_every": "--checkpoint-every", "concurrency": "--concurrency"}
    try:
        check_out(out)
        if not data.exists():
            raise ValueError(f"--data: no such file or folder '{data}'")
        try:  # the pipeline's generate section, every spec parsed before the model loads
            cfg = from_dict({"data": {"path": str(data), "skip_invalid": skip_invalid}, "generate": {
                "backend": backend, "prompt": prompt, "examples": str(examples) if examples else None,
                "per_doc": per_doc, "sample": sample, "seed": seed, "max_tokens": max_tokens,
                "temperature": temperature, "filters": filter_, "threads": threads,
                "checkpoint_every": checkpoint_every, "concurrency": concurrency, "api_key_env": api_key_env}})
        except ValueError as e:  # `generate.KEY: message` -> `--flag: message`
            key, _, msg = str(e).partition(": ")
            raise ValueError(f"{flags.get(key.removeprefix('generate.'), key)}: {msg}") from None
    except ValueError as e:
        fail(e)
    if overwrite and (out / ".generate").exists():
        shutil.rmtree(out / ".generate")
    cols = (TextColumn("generate"), BarColumn(), MofNCompleteColumn(), TextColumn("docs"),
            TextColumn("{task.fields[tps]:.1f} tok/s"), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*cols, console=console) as bar:
        task = bar.add_task("generate", total=None, tps=0.0)
        state = {"tokens": 0, "t0": time.perf_counter()}

        def on_progress(docs: int, tokens: int) -> None:
            state["tokens"] += tokens
            dt = max(time.perf_counter() - state["t0"], 1e-6)
            bar.update(task, advance=docs, tps=state["tokens"] / dt)

        try:
            bar.update(task, total=len(sample_rows(len(load_corpus(data, skip_invalid)[0]), sample, seed)))
            res, llm = run_generate(cfg, out, on_progress)  # the pipeline's generate step alone
        except ValueError as e:  # DataError (named file/line/field) or a run with other settings in --out
            bar.stop()
            console.print(f"[red]error:[/red] {e}", soft_wrap=True)
            raise typer.Exit(2) from None
    extra = {k: getattr(llm, k) for k in ("retries", "cache_hits", "malformed") if getattr(llm, k, 0)}
    console.print(summary_table(res, price_per_1k_tokens, extra))
    console.print(f"wrote queries.jsonl, qrels/train.tsv, generated.jsonl and a corpus copy to {out}; "
                  f"next: hardneg mine --data {out}")
