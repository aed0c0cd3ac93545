"""A hand-made Mined set and a one-step sentence-transformers training helper for the export tests."""

from __future__ import annotations

import numpy as np

from hardneg.types import Mined

DOCS = [f"document number {i} about topic {i % 3}" for i in range(8)]


def tiny_mined() -> Mined:
    """3 queries: q0 two positives + 2 negatives, q1 one positive + 1 negative (short), q2 one positive + 2."""
    nan = np.nan
    return Mined(
        ["q0", "q1", "q2"], ["first query", "second query", "third query"],
        np.array([[0, 1], [2, -1], [3, -1]]), np.array([[.9, .8], [.7, nan], [.6, nan]], np.float32),
        np.array([[4, 5], [6, -1], [7, 4]]), np.array([[.5, .4], [.3, nan], [.2, .1]], np.float32),
        [f"d{i}" for i in range(8)], DOCS, scorer="dense:test", prompt="Represent this query: ",
        judge_pos=np.array([[.95, .85], [.75, nan], [.65, nan]], np.float32),
        judge_neg=np.array([[.45, .35], [.25, nan], [.15, .05]], np.float32), judge="teacher:test")


def train_one_step(model, loss, dataset, tmp_path, cross: bool = False) -> float:
    """Run exactly one optimiser step of `loss` on `dataset`; returns the logged training loss."""
    if cross:
        from sentence_transformers.cross_encoder import CrossEncoderTrainer as T
        from sentence_transformers.cross_encoder import CrossEncoderTrainingArguments as A
    else:
        from sentence_transformers import SentenceTransformerTrainer as T
        from sentence_transformers import SentenceTransformerTrainingArguments as A
    args = A(output_dir=str(tmp_path / "train"), max_steps=1, per_device_train_batch_size=4, report_to="none",
             save_strategy="no", logging_steps=1, use_cpu=True, dataloader_num_workers=0)
    before = [p.detach().clone() for p in model.parameters()]
    out = T(model=model, args=args, train_dataset=dataset, loss=loss).train()
    moved = any(not np.allclose(b.numpy(), p.detach().numpy()) for b, p in zip(before, model.parameters()))
    assert moved, "one training step changed no weight"
    return float(out.training_loss)
