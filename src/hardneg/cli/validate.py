"""`hardneg validate RUN_DIR` and `hardneg report RUN_DIR`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from hardneg.cli.common import Cascade, DropQuery, MarginJudge, Policy, RelabelPrecision, TargetFnRate

console = Console()
JUDGE_HELP = ("Judge, repeatable: cross-encoder:PATH|HUB_ID, teacher:mpnet|PATH, llm:local[:gemma|PATH.gguf], "
              "llm:openai:URL[:MODEL], dup:exact, dup:jaccard:0.8[:N], dup:minhash:0.8[:N].")
RULE_HELP = ("Drop rule, repeatable: perc:0.95 (drop if s_neg > 95% of the positive's score), margin:0.1 "
             "(drop if s_neg > s_pos - 0.1), abs:T (drop if s_neg > T); optional :min|mean|max positive; "
             "prefix JUDGE= to bind it to one judge (e.g. llm=abs:0.5). Default: perc:0.95, llm abs:0.5, dup its threshold.")

REVIEW_HELP = ("review.jsonl from `hardneg review` (or RUN_DIR/FILE): its labels override the judges; relevant pairs "
               "go to qrels/<split>.relabelled.tsv.")


def summary_table(summ: dict) -> Table:
    t = Table(title="validation", show_header=True)
    t.add_column("what")
    t.add_column("value", justify="right")
    for k in ("queries", "judged", "dropped", "relabelled", "kept", "spare", "queries_dropped", "queries_short"):
        t.add_row(k.replace("_", " "), str(summ[k]))
    for why, c in summ.get("short_reasons", {}).items():
        t.add_row(f"short because of {why}", str(c))
    if summ.get("cascade"):
        c = summ["cascade"]
        for j, v in c["pairs_scored"].items():
            t.add_row(f"pairs scored by {j}", f"{v} of {c['pairs_if_judging_all']}")
    for j, c in summ.get("calibration", {}).items():
        t.add_row(f"calibrated {j}", f"{c.get('value')} ({c['reason']})")
    for r, c in summ["drops_per_rule"].items():
        t.add_row(f"dropped by {r}", str(c))
    for j, m in summ.get("malformed", {}).items():
        if m:
            t.add_row(f"malformed replies ({j})", str(m))
    return t


def validate_cmd(
    run_dir: Path = typer.Argument(..., help="Output folder of `hardneg mine` (holds candidates.npz)."),
    judge: list[str] = typer.Option(..., "--judge", "-j", help=JUDGE_HELP),
    rule: list[str] = typer.Option([], "--rule", help=RULE_HELP),
    review: Optional[Path] = typer.Option(None, help=REVIEW_HELP),
    combine: str = typer.Option("any", help="How judges' drop votes combine: any, all or majority."),
    pos_score: str = typer.Option("min", help="Positive score relative rules compare with when a query has several: min, mean or max."),
    num_negatives: Optional[int] = typer.Option(None, "--num-negatives", "-n", help="Negatives per query (default: as mined)."),
    refill_margin: Optional[int] = typer.Option(None, help="Extra candidates judged per query beyond N in the first round (default: max(2, N/2))."),
    data: Optional[str] = typer.Option(None, help="Dataset the run was mined from (default: as recorded in candidates.npz)."),
    split: Optional[str] = typer.Option(None, help="Qrels split (default: as recorded in candidates.npz, else train)."),
    fmt: list[str] = typer.Option([], "--format", "-f", help="Also export validated negatives in these formats (as `mine --format`)."),
    batch_size: int = typer.Option(64, help="Pairs per batch for cross-encoder and LLM judges."),
    policy: Policy = None,
    drop_query: DropQuery = None,
    cascade: Cascade = None,
    target_fn_rate: TargetFnRate = None,
    relabel_precision: RelabelPrecision = 0.9,
    margin_judge: MarginJudge = None,
    query_column: Optional[str] = typer.Option(None, "--query-column", help="Query column of pair files and HF sets (default: as mined)."),
    answer_column: Optional[str] = typer.Option(None, "--answer-column", help="Answer column of pair files and HF sets (default: as mined)."),
    skip_invalid: Optional[bool] = typer.Option(None, "--skip-invalid/--no-skip-invalid", help="Skip empty texts and qrels to unknown ids (default: as mined)."),
    precision: Optional[str] = typer.Option(None, "--precision", help="Judge models' precision: auto, fp32, bf16, fp16 or int8 (default: auto; checked against fp32)."),
) -> None:
    """Re-judge mined candidates, drop suspected false negatives, refill, and write an audit of every drop."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hardneg.checks import check_out, check_validation
    from hardneg.pipeline.pipeline_config import from_dict
    from hardneg.pipeline.context import Given
    from hardneg.pipeline.runner import run
    from hardneg.review.labels import read_review, resolve
    from hardneg.validate.step import CANDIDATES, load_run, top_selection

    t0 = time.perf_counter()
    try:
        from hardneg.models.runtime import use_precision

        use_precision(precision)  # teacher and cross-encoder judges
        check_validation(judge, rule, combine, policy, drop_query, cascade, target_fn_rate, margin_judge,
                         fmt, relabel_precision)  # every spec before any judge model loads
        check_out(run_dir, "RUN_DIR")
        if review:
            review = resolve(review, run_dir)
            read_review(review)
        cands, sel, meta = load_run(run_dir)
        source = data or meta.get("data")
        if not source:
            raise ValueError(f"{run_dir / CANDIDATES}: no dataset recorded; pass --data")
        if sel is None or num_negatives not in (None, sel.rows.shape[1]):  # judge the candidates in miner order
            sel = top_selection(cands, num_negatives or (sel.rows.shape[1] if sel is not None
                                                         else int(meta.get("num_negatives", 10))))
        cfg = from_dict({  # the run's own retrieve and select outputs, then the pipeline's validate and export steps
            "data": {"path": str(source), "split": split or meta.get("split", "train"),
                     "query_column": query_column or meta.get("query_column", "query"),
                     "answer_column": answer_column or meta.get("answer_column", "answer"),
                     "skip_invalid": meta.get("skip_invalid", False) if skip_invalid is None else skip_invalid},
            "select": {"num_negatives": sel.rows.shape[1], "pos_score": pos_score},
            "validate": {"judges": judge, "rules": rule, "combine": combine, "policy": policy,
                         "drop_query": drop_query, "cascade": cascade, "target_fn_rate": target_fn_rate,
                         "relabel_precision": relabel_precision, "margin_judge": margin_judge, "review": str(review) if review else None,
                         "batch_size": batch_size, "refill_margin": refill_margin},
            "export": {"formats": fmt or ["flag"]}})
        cfg.export.formats = list(fmt)  # no --format: the export step writes nothing
        out = run_dir / "validation"
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console) as bar:
            task = bar.add_task("judging candidates", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            run(cfg, planned=("", "new"), given=Given(cands, sel, {"validate": run_dir, "export": out}, progress))
            done = next(t.completed for t in bar.tasks if t.id == task)
            bar.update(task, total=done)  # judging stops once every query holds N kept: the bar ends full
        summ = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    except ValueError as e:  # DataError is a ValueError: bad input, named file/line/field
        console.print(f"[red]error:[/red] {e}", soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(summary_table(summ))
    console.print(f"wrote audit.jsonl, audit.parquet and summary.json to {out} in {time.perf_counter() - t0:.1f} s; "
                  f"next: hardneg report {run_dir}")


def report_cmd(
    run_dir: Path = typer.Argument(..., help="A run folder validated by `hardneg validate` (or its validation/ folder)."),
    top: int = typer.Option(20, help="How many suspected false negatives to show beside their positive."),
    html: bool = typer.Option(False, "--html", help="Also write report.html."),
) -> None:
    """Write report.md with score histograms, drop counts and the most confident suspected false negatives."""
    from hardneg.validate.report import report_files, write_report

    try:
        path = write_report(run_dir, top=top, as_html=html)
    except ValueError as e:
        console.print(f"[red]error:[/red] {e}", soft_wrap=True)
        raise typer.Exit(2) from None
    files = report_files(path, html)
    console.print(f"wrote {', '.join(p.name for p in files)} to {path.parent}")

