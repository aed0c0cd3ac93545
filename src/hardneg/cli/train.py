"""`hardneg train` and `hardneg experiment` (registered in hardneg.cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from hardneg.data.errors import DataError

console = Console()


def train(
    data: Path = typer.Argument(..., help="Training data exported by `hardneg mine` (HF dataset folder, .parquet, "
                                          ".jsonl): triplet, n-tuple, labeled-pair, labeled-list or marginmse."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder the trained model is saved to."),
    model: str = typer.Option("minilm", help="Base model: minilm, mpnet, a local folder or a hub id."),
    loss: str = typer.Option("mnrl", help="mnrl, cached-mnrl, gist, margin-mse, triplet, contrastive, "
                                          "online-contrastive, batch-hard-triplet; rerankers: bce, ce-mnrl, listnet, lambda."),
    epochs: float = typer.Option(3.0, help="Training epochs (3, as in Q1 and the HF Trainer default)."),
    batch_size: int = typer.Option(32, help="Per-device batch size."),
    lr: float = typer.Option(5e-5, help="Peak learning rate (5e-5, as in Q1)."),
    warmup: float = typer.Option(0.1, help="Warm-up, as a fraction of the training steps."),
    max_seq_length: int = typer.Option(256, help="Longest training input in tokens (the saved model keeps "
                                                 "its base model's length)."),
    seed: int = typer.Option(42, help="Random seed (model init, data order)."),
    negatives: Optional[int] = typer.Option(None, help="Use at most this many negatives per query."),
    guide: Optional[str] = typer.Option(None, help="Guide model for the gist loss (e.g. mpnet)."),
    head_lr: Optional[float] = typer.Option(None, help="Rerankers: learning rate of the scoring head and pooler "
                                                       "(default: 2e-3 on a new head, --lr on a trained one)."),
    eval_data: Optional[Path] = typer.Option(None, help="BEIR folder scored during training (bi-encoders)."),
    eval_split: str = typer.Option("dev", help="Split of --eval-data used for evaluation."),
) -> None:
    """Fine-tune a bi-encoder or train a reranker from exported training data."""
    from hardneg.data.beir import load_beir
    from hardneg.train.data import read_groups
    from hardneg.train.losses import get_loss
    from hardneg.checks import check_out
    from hardneg.cli.common import fail
    from hardneg.train.trainer import TrainConfig, train_bi_encoder, train_cross_encoder

    try:  # options and the out folder before any model loads
        check_out(out)
        get_loss(loss)
        if eval_data is not None and not eval_data.is_dir():
            raise ValueError(f"--eval-data: no such folder '{eval_data}'")
    except ValueError as e:
        fail(e)
    try:
        cfg = TrainConfig(model=model, loss=loss, epochs=epochs, batch_size=batch_size, learning_rate=lr,
                          warmup_ratio=warmup, max_seq_length=max_seq_length, seed=seed, n_negatives=negatives,
                          guide=guide, head_learning_rate=head_lr)
        groups = read_groups(data)
        ev = load_beir(eval_data, eval_split) if eval_data else None
        if get_loss(loss).cross:
            res = train_cross_encoder(groups, cfg, out, progress=True)
        else:
            res = train_bi_encoder(groups, cfg, out, eval_ds=ev, progress=True)
    except DataError as e:
        console.print(f"[red]error:[/] {e}", soft_wrap=True)
        raise typer.Exit(2) from None
    t = Table(title=f"trained {loss} on {model}")
    t.add_column("what")
    t.add_column("value", justify="right")
    t.add_row("training rows", str(res.rows))
    t.add_row("train time (s)", f"{res.seconds:.1f}")
    for k, v in res.eval.items():
        if any(m in k for m in ("ndcg@10", "mrr@10", "recall@10", "recall@100")):
            t.add_row(k, f"{v:.4f}")
    t.add_row("saved to", str(res.path))
    console.print(t)


def experiment(
    config: Path = typer.Argument(..., help="Experiment YAML (see examples/seed_comparison.yaml)."),
    out: Path = typer.Option(Path("runs/experiment"), "--out", "-o", help="Output folder; done cells are skipped."),
    quick: bool = typer.Option(False, "--quick", help="Sample the data (queries, corpus) and shorten inputs."),
    seed: Optional[int] = typer.Option(None, help="Override the config's train.seed."),
    data: Optional[Path] = typer.Option(None, help="Override the config's dataset (a BEIR folder)."),
) -> None:
    """Train every cell of a recipe x loss x model grid alike and score each on the test split."""
    from hardneg.checks import check_out
    from hardneg.cli.common import fail
    from hardneg.experiment.grid import load_config, run_experiment

    try:
        check_out(out)
    except ValueError as e:
        fail(e)
    try:
        exp = load_config(config)
        if data is not None:
            exp.dataset = str(data)
        with console.status("running cells") as st:
            rows = run_experiment(exp, out, quick=quick, seed=seed,
                                  on_cell=lambda c: st.update(f"cell {c.key}"))
    except DataError as e:
        console.print(f"[red]error:[/] {e}", soft_wrap=True)
        raise typer.Exit(2) from None
    from hardneg.experiment.report import results_table

    console.print(results_table(rows, f"{exp.name}: test metrics"))
    console.print(f"results in {out}/results.md, plots in {out}/plots/")
