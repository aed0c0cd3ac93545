"""`hardneg mine`: retrieve candidates, select hard negatives, export trainer formats, print a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from hardneg.pipeline.pipeline_config import FLAT
from hardneg.cli.common import Cascade, DropQuery, MarginJudge, Policy, RelabelPrecision, TargetFnRate

console = Console(stderr=True)


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4f}"


def summary_table(s: dict) -> Table:
    """Rich table of a mine summary: score distributions, exclusions and rule skips, short queries, timings."""
    t = Table(title="hardneg mine", show_header=True)
    t.add_column("what")
    t.add_column("value", justify="right")
    for name in ("pos_scores", "neg_scores"):
        d = s[name]
        t.add_row(f"{name.split('_')[0]} scores (n={d['count']})",
                  f"min {_fmt(d['min'])}  median {_fmt(d['median'])}  max {_fmt(d['max'])}")
    t.add_row("queries judged / exported", f"{s['queries']} / {s['queries_exported']}")
    t.add_row("negatives", str(s["negatives"]))
    for k, v in s["excluded"].items():
        t.add_row(f"excluded: {k}", str(v))
    for k, v in s["skipped"].items():
        t.add_row(f"skipped: {k}", str(v))
    t.add_row("queries short of negatives after selection", str(s["short"]))
    t.add_row("negatives padded from further down", str(s["padded"]))
    t.add_row("queries short of negatives at export", str(s["still_short"]))
    t.add_row("queries dropped (--short drop)", str(s["dropped"]))
    v = s.get("validation")
    if v:
        t.add_row("validation: judged / dropped", f"{v['judged']} / {v['dropped']}")
        for k, n in v["votes_per_judge"].items():
            t.add_row(f"validation: drop votes {k}", str(n))
    for k, v in s["exported"].items():
        t.add_row(f"rows: {k}", str(v))
    for k, v in s["timings"].items():
        t.add_row(f"time: {k}", f"{v:.2f} s")
    return t


RENAMED = {"retriever": "retrievers", "judge": "judges", "rule": "rules", "fmt": "formats"}  # parameter -> FLAT
PARAMS = [next((p for p, f in RENAMED.items() if f == k), k) for k in FLAT if k not in ("validate_budget",
                                                                                         "refill_margin")]
KEY_FLAGS = {FLAT[RENAMED.get(p, p)]: "--" + {"fmt": "format"}.get(p, p).replace("_", "-") for p in PARAMS}


def given_flags(ctx: typer.Context, values: dict) -> dict:
    """The flags typed on the command line, as a config dict (section -> key -> value)."""
    typed = [n for n in PARAMS  # typer's own click: compare the source by name
             if getattr(ctx.get_parameter_source(n), "name", "") in ("COMMANDLINE", "ENVIRONMENT")]
    return flags_dict(values, typed)


def flags_dict(values: dict, names=PARAMS) -> dict:
    """The parameters `names` of `values` (the command's) as a config dict (section -> key -> value)."""
    from hardneg.pipeline.pipeline_config import nest

    return nest({RENAMED.get(n, n): str(values[n]) if isinstance(values[n], Path) else values[n] for n in names})


def merge(base: dict, over: dict) -> dict:
    """`over`'s keys (two levels: section.key) on top of `base` (flags given explicitly over a file)."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for k, v in over.items():
        if isinstance(v, dict):
            out[k] = {**(out.get(k) or {}), **v}
        else:
            out[k] = v
    return out


def mine(
    ctx: typer.Context,
    data: Optional[str] = typer.Option(None, "--data", help="BEIR folder, pair file (jsonl/csv/parquet), saved HF dataset or dataset name."),
    split: str = typer.Option("train", help="Qrels split (BEIR) or HF split to mine for."),
    retriever: list[str] = typer.Option(["dense:minilm"], "--retriever", "-r",
                                        help="Candidate retriever, repeatable: bm25, dense:minilm, dense:mpnet, dense:PATH."),
    fusion: Optional[str] = typer.Option(None, help="How several retrievers are fused: rrf (default) or score (min-max normalised sum)."),
    strategy: str = typer.Option("top", help="top | range:MIN-MAX[:random] | random | topk-abs:T | topk-marginpos:M | "
                                             "topk-percpos:P | simans[:a=1,b=0]; options after ':' e.g. min=0.2,max=0.9."),
    num_negatives: int = typer.Option(5, "--num-negatives", "-n", help="Negatives per query."),
    pos_score: str = typer.Option("min", help="Positive score used by positive-aware rules when a query has several: min, mean or max."),
    short: str = typer.Option("keep", help="Queries with too few negatives: keep (short), drop, or pad from further down the list."),
    min_score: Optional[float] = typer.Option(None, help="Drop candidates scoring below this (miner units)."),
    max_score: Optional[float] = typer.Option(None, help="Drop candidates scoring above this (miner units)."),
    depth: Optional[int] = typer.Option(None, help="Candidates searched per query (default: window + refill margin + exclusions)."),
    fmt: list[str] = typer.Option(["triplet"], "--format", "-f",
                                  help="Output format, repeatable: triplet, n-tuple, labeled-pair, labeled-list, flag, marginmse."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (created). The same settings resume a run in it; other settings are refused unless --overwrite."),
    seed: int = typer.Option(0, help="Seed for random/simans sampling: same seed, same output bytes."),
    batch_size: int = typer.Option(32, help="Encoding batch size for dense retrievers."),
    backend: Optional[str] = typer.Option(None, help="Encoding runtime for dense retrievers (default: the fastest installed)."),
    precision: Optional[str] = typer.Option(None, help="Dense models' precision: auto, fp32, bf16, fp16 or int8 (default: auto; checked against fp32)."),
    search: str = typer.Option("exact", help="Dense search: exact, faiss-flat, faiss-ivf or faiss-hnsw."),
    min_relevance: int = typer.Option(1, help="Qrels grade from which a document counts as a positive."),
    dedup_negatives: bool = typer.Option(True, "--dedup-negatives/--no-dedup-negatives", help="Skip a candidate whose normalised text repeats a better one."),
    judge: list[str] = typer.Option([], "--judge", "-j", help="Validate the negatives with this judge, repeatable (as `hardneg validate`): cross-encoder:PATH, teacher:mpnet, llm:local, dup:jaccard:0.8."),
    rule: list[str] = typer.Option([], "--rule", help="Validation drop rule, repeatable: perc:0.95, margin:0.1, abs:T, optionally JUDGE=RULE (default: perc:0.95; llm abs:0.5; dup its threshold)."),
    review: Optional[Path] = typer.Option(None, help="review.jsonl from `hardneg review` (or OUT/FILE): with --judge, its labels override the judges."),
    combine: str = typer.Option("any", help="How validation judges' drop votes combine: any, all or majority."),
    policy: Policy = None,
    drop_query: DropQuery = None,
    cascade: Cascade = None,
    target_fn_rate: TargetFnRate = None,
    relabel_precision: RelabelPrecision = 0.9,
    margin_judge: MarginJudge = None,
    prompt: str = typer.Option("", help="Instruction written into FlagEmbedding rows' `prompt` field."),
    engine: str = typer.Option("single", help="single (this process) or ray (encoding, search and selection on a Ray cluster)."),
    ray_address: str = typer.Option("local", help="With --engine ray: local (start a cluster here), auto, or HOST:PORT."),
    query_column: str = typer.Option("query", "--query-column", help="Query column of pair files and HF sets."),
    answer_column: str = typer.Option("answer", "--answer-column", help="Answer column of pair files and HF sets."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Skip and count empty texts and qrels to unknown ids instead of failing."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier run in --out with other settings (removes only the files it wrote; finished steps that still apply are reused)."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML pipeline config (as `hardneg run`); flags given here override it."),
) -> None:
    """Mine hard negatives for every query with a positive, and export them for training."""
    from hardneg.cli.common import fail
    from hardneg.pipeline.config_file import load_dict
    from hardneg.pipeline.pipeline_config import ConfigError

    if config is None:
        if data is None or out is None:
            fail(ValueError(f"Missing option '{'--data' if data is None else '--out'}' (or give --config FILE)"))
        raw, where = flags_dict({**locals(), "fusion": fusion or "rrf"}), ""
    else:
        try:
            raw, where = merge(load_dict(config), given_flags(ctx, locals())), str(config)
        except ConfigError as e:
            fail(e)
    pcfg = build(raw, where, fusion_given=fusion is not None and config is None)
    res = run_config(pcfg, overwrite)
    if res.selection.still_short:
        console.print(f"[yellow]{res.selection.still_short} queries have fewer than {pcfg.select.num_negatives} "
                      f"negatives (--short {pcfg.select.short}).[/yellow]")
    files = [Path(f).name for v in res.exported.values() for f in v["files"]]
    console.print(f"wrote {', '.join(files)}, config.yaml and summary.json to {pcfg.out}")


def build(raw: dict, where: str, fusion_given: bool = False):
    """The PipelineConfig of a config dict; exits 2 with one line naming `where` and the key (or, for a dict
    built from flags, the flag) when it is bad."""
    from hardneg.cli.common import fail
    from hardneg.pipeline.pipeline_config import from_dict

    try:
        pcfg = from_dict(raw, where, flags=KEY_FLAGS, fusion_given=fusion_given)
        if not pcfg.data.path or not pcfg.out:
            raise ValueError(f"{where + ': ' if where else ''}{'data.path' if not pcfg.data.path else 'out'}: required")
    except ValueError as e:
        fail(e)
    pcfg.show_progress = True
    return pcfg


def run_config(pcfg, overwrite: bool = False):
    """Plan (checks, out folder), run the pipeline under a progress display, print the summary table."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from hardneg.cli.common import fail
    from hardneg.pipeline.runner import run
    from hardneg.pipeline.runs import pipeline_plan

    try:  # the out folder and the review file, before anything loads or is written
        planned = pipeline_plan(pcfg, overwrite)
        if pcfg.validate.review:
            from hardneg.review.labels import read_review, resolve

            read_review(resolve(pcfg.validate.review, pcfg.out))
    except ValueError as e:
        fail(e)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=False) as bar:
        task = {"id": None}

        def stage(name: str) -> None:
            if task["id"] is not None:
                bar.update(task["id"], completed=1, total=1)
            task["id"] = bar.add_task(f"mine: {name}", total=None)

        try:
            res = run(pcfg, progress=stage, planned=planned)
        except ValueError as e:  # DataError is a ValueError: bad input, named file/line/field
            bar.stop()
            fail(e)
        bar.update(task["id"], completed=1, total=1)
    if planned[1] == "resume":
        console.print(f"[dim]{pcfg.out} held a run with the same settings: resumed into it[/dim]")
    console.print(summary_table(res.summary))
    return res


def run_cmd(
    config: Path = typer.Argument(..., help="YAML pipeline config: data, retrieve, select, validate, export, train, evaluate, out."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier run in `out` with other settings (finished steps that still apply are reused)."),
) -> None:
    """Run the pipeline a YAML config describes (steps already finished in its out folder are reused)."""
    from hardneg.cli.common import fail
    from hardneg.pipeline.config_file import load_dict

    try:
        raw = load_dict(config)
    except ValueError as e:
        fail(e)
    res = run_config(build(raw, str(config)), overwrite)
    console.print(f"steps: {', '.join(f'{k} {v}' for k, v in res.summary.get('steps', {}).items())}")
