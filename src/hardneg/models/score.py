"""Cross-encoder pair scoring, shared by the cross-encoder judge, the generation rerank filter and reranker
evaluation."""

from __future__ import annotations

import numpy as np

ACTIVATIONS = ("prob", "model")


def cross_scores(model, queries: list[str], docs: list[str], *, batch_size: int = 64,
                 max_length: int | None = None, activation: str = "prob") -> np.ndarray:
    """float32 [n] scores of the (queries[i], docs[i]) pairs, higher = more relevant.

    model: a loaded sentence-transformers CrossEncoder (see hardneg.models.load.load_cross_encoder).
    Pairs go in as (query, doc) tuples ([CLS] q [SEP] d [SEP], token types 0/1), all in one predict(), which
    sorts them by length. max_length: truncate at this many tokens for this call only (None: the model's own).
    activation "prob": P(relevant) in (0, 1), sigmoid(logit) for one-label models, softmax P(label 1) for
    two-label ones. "model": the model's own activation_fn (sentence-transformers' default is sigmoid for one
    label and none otherwise; rerankers such as ms-marco give raw logits), the last label's column.
    """
    import torch

    from hardneg.models.load import seq_length

    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation '{activation}' (valid: {', '.join(ACTIVATIONS)})")
    if not len(queries):
        return np.zeros(0, np.float32)
    pairs = list(zip(queries, docs))
    two = model.num_labels == 2 and activation == "prob"
    if activation == "model":
        opts = {}
    elif two:
        opts = {"apply_softmax": True, "activation_fn": torch.nn.Identity()}
    else:
        opts = {"activation_fn": torch.nn.Sigmoid()}
    with seq_length(model, max_length):
        out = model.predict(pairs, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False, **opts)
    out = np.asarray(out, dtype=np.float32).reshape(len(pairs), -1)
    return np.ascontiguousarray(out[:, 1] if two else out[:, -1])
