"""Thin wrappers over SentenceTransformerTrainer and CrossEncoderTrainer: config in, saved model out."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from hardneg.data.errors import DataError
from hardneg.types import Dataset
from hardneg.types import Groups
from hardneg.train.losses import build_loss, get_loss, layout

log = logging.getLogger(__name__)

SAMPLERS = {"batch_sampler": "batch_sampler", "no_duplicates": "no_duplicates", "group_by_label": "group_by_label"}


@dataclass
class TrainConfig:
    """Hyperparameters shared by every cell of an experiment (learning rate in optimizer units)."""

    model: str = "minilm"
    loss: str = "mnrl"
    epochs: float = 3.0
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    max_seq_length: int = 256
    seed: int = 42
    n_negatives: int | None = None
    guide: str | None = None
    mini_batch_size: int = 16
    head_learning_rate: float | None = None  # rerankers: head + pooler rate (None: FRESH_HEAD_LR on a new head)
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        get_loss(self.loss)
        for name in ("batch_size", "max_seq_length", "mini_batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise DataError(f"must be a positive integer, got {getattr(self, name)!r}", field=name)
        for name in ("epochs", "learning_rate"):
            if not isinstance(getattr(self, name), (int, float)) or getattr(self, name) <= 0:
                raise DataError(f"must be a positive number, got {getattr(self, name)!r}", field=name)
        if not isinstance(self.warmup_ratio, (int, float)) or not 0 <= self.warmup_ratio < 1:
            raise DataError(f"must be in [0, 1), got {self.warmup_ratio!r}", field="warmup_ratio")
        if self.head_learning_rate is not None and (
                not isinstance(self.head_learning_rate, (int, float)) or self.head_learning_rate <= 0):
            raise DataError(f"must be a positive number, got {self.head_learning_rate!r}", field="head_learning_rate")
        if self.n_negatives is not None and (not isinstance(self.n_negatives, int) or self.n_negatives < 0):
            raise DataError(f"must be a non-negative integer, got {self.n_negatives!r}", field="n_negatives")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    path: Path
    rows: int
    seconds: float
    eval: dict = field(default_factory=dict)


def resolve(model: str) -> str:
    """A local path for 'minilm', 'mpnet', a folder or a hub id (via the retrieval stage's resolver)."""
    from hardneg.models.load import quiet_load_reports, resolve_model

    quiet_load_reports()
    return str(resolve_model(model))


def ir_evaluator(ds: Dataset, name: str = "eval", batch_size: int = 64):
    """The in-training evaluator over a split: hardneg.evaluate's one path (ranx; exact cosine retrieval with the
    model in memory): nDCG@10, MRR@10, Recall@1/3/10/100, MAP@100 in [0, 1], keyed `{name}_ndcg@10`, ..."""
    from hardneg.evaluate.training import RetrievalEvaluator

    return RetrievalEvaluator(ds, name=name, batch_size=batch_size)


def _progress_callback(total_hint: str):
    from rich.progress import Progress
    from transformers import TrainerCallback

    class RichProgress(TrainerCallback):
        """A rich progress bar over optimizer steps."""

        def on_train_begin(self, args, state, control, **kw):
            self.p = Progress(transient=True)
            self.p.start()
            self.t = self.p.add_task(total_hint, total=state.max_steps)

        def on_step_end(self, args, state, control, **kw):
            self.p.update(self.t, completed=state.global_step)

        def on_train_end(self, args, state, control, **kw):
            self.p.stop()

    return RichProgress()


HEAD_PARAMS = r"\.(classifier|pooler)\."  # a CrossEncoder's scoring head on top of its base model
FRESH_HEAD_LR = 2e-3  # a new head at the base rate barely moves in a few hundred steps (README, reranker)


def fresh_head(model) -> bool:
    """True when the CrossEncoder's base checkpoint was not a sequence classifier (its head is newly made)."""
    archs = getattr(getattr(model[0].model, "config", None), "architectures", None) or []
    return not any(a.endswith("ForSequenceClassification") for a in archs)


def _args(cls, cfg: TrainConfig, out: Path, sampler: str, has_eval: bool, progress: bool):
    extra = dict(cfg.extra)
    if cfg.head_learning_rate is not None:
        extra.setdefault("learning_rate_mapping", {HEAD_PARAMS: float(cfg.head_learning_rate)})
    return cls(
        output_dir=str(out / "checkpoints"), num_train_epochs=cfg.epochs, per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
        warmup_steps=float(cfg.warmup_ratio),
        seed=cfg.seed, data_seed=cfg.seed, batch_sampler=SAMPLERS[sampler], save_strategy="no", report_to="none",
        eval_strategy="epoch" if has_eval else "no", logging_steps=max(1, 10), disable_tqdm=True,
        dataloader_drop_last=False, use_cpu=not _cuda(), **extra)


def guard_loss(loss):
    """Make `loss` raise DataError as soon as it returns a non-finite value, so training stops (and saves
    nothing) instead of writing a model with NaN weights."""
    import torch

    forward, step = loss.forward, {"n": 0}

    def checked(*args, **kwargs):
        out = forward(*args, **kwargs)
        step["n"] += 1
        value = out if torch.is_tensor(out) else None
        if value is not None and not torch.isfinite(value.detach()).all():
            raise DataError(f"training loss became {value.detach().float().mean().item()} at batch {step['n']}; "
                            "check the labels (margins, scores) and the learning rate; no model saved", field="loss")
        return out

    loss.forward = checked
    return loss


def _quiet(trainer) -> None:
    """Drop transformers' stdout printer; losses go to the log instead."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def train_bi_encoder(groups: Groups, cfg: TrainConfig, out: str | Path, eval_ds: Dataset | None = None,
                     progress: bool = False) -> TrainResult:
    """Fine-tune a SentenceTransformer on the groups with cfg.loss; saves the model to `out`."""
    import datasets
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as Args
    from transformers import set_seed

    spec = get_loss(cfg.loss)
    if spec.cross:
        raise DataError(f"loss '{cfg.loss}' is a cross-encoder loss; use train_cross_encoder", field="loss")
    out = Path(out)
    set_seed(cfg.seed)
    model = SentenceTransformer(resolve(cfg.model), device="cuda" if _cuda() else "cpu")
    native = model.max_seq_length
    model.max_seq_length = cfg.max_seq_length  # training-time truncation only
    guide = SentenceTransformer(resolve(cfg.guide)) if cfg.guide else None
    loss = guard_loss(build_loss(spec, model, guide=guide, mini_batch_size=cfg.mini_batch_size))
    train = datasets.Dataset.from_dict(layout(groups, spec, cfg.n_negatives))
    evaluator = ir_evaluator(eval_ds) if eval_ds is not None else None
    trainer = SentenceTransformerTrainer(
        model=model, args=_args(Args, cfg, out, spec.sampler, evaluator is not None, progress),
        train_dataset=train, loss=loss, evaluator=evaluator,
        callbacks=[_progress_callback(f"train {cfg.loss}")] if progress else None)
    _quiet(trainer)
    t0 = time.perf_counter()
    trainer.train()
    secs = time.perf_counter() - t0
    model.max_seq_length = native  # the saved model encodes like its base (fair against zero-shot)
    model.save(str(out))
    ev = evaluator(model) if evaluator is not None else {}
    log.info("trained %s on %d rows in %.1fs", cfg.loss, len(train), secs)
    return TrainResult(out, len(train), secs, ev)


def train_cross_encoder(groups: Groups, cfg: TrainConfig, out: str | Path, progress: bool = False) -> TrainResult:
    """Train a reranker (one logit per pair) from the groups with BCE or a listwise loss; saves it to `out`."""
    import datasets
    from sentence_transformers import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments
    from transformers import set_seed

    spec = get_loss(cfg.loss)
    if not spec.cross:
        raise DataError(f"loss '{cfg.loss}' is a bi-encoder loss; use bce, ce-mnrl, listnet or lambda",
                        field="loss")
    out = Path(out)
    set_seed(cfg.seed)
    model = CrossEncoder(resolve(cfg.model), num_labels=1, max_length=cfg.max_seq_length,
                         device="cuda" if _cuda() else "cpu")
    if cfg.head_learning_rate is None and fresh_head(model):
        log.info("%s has no trained scoring head; it learns at %g", cfg.model, FRESH_HEAD_LR)
        cfg = replace(cfg, head_learning_rate=FRESH_HEAD_LR)
    loss = guard_loss(build_loss(spec, model))
    train = datasets.Dataset.from_dict(layout(groups, spec, cfg.n_negatives))
    trainer = CrossEncoderTrainer(
        model=model, args=_args(CrossEncoderTrainingArguments, cfg, out, spec.sampler, False, progress),
        train_dataset=train, loss=loss,
        callbacks=[_progress_callback(f"train {cfg.loss}")] if progress else None)
    _quiet(trainer)
    t0 = time.perf_counter()
    trainer.train()
    secs = time.perf_counter() - t0
    model.save(str(out))
    log.info("trained reranker %s on %d rows in %.1fs", cfg.loss, len(train), secs)
    return TrainResult(out, len(train), secs)
