"""The losses we train with, by short name, and the column layout each one needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from hardneg.data.errors import DataError
from hardneg.types import Groups


@dataclass(frozen=True)
class LossSpec:
    """A sentence-transformers loss: its layout of the data and the batch sampler it wants."""

    name: str
    layout: str  # tuple | triplet | labeled-pair | margin | label | ce-pair | ce-list
    sampler: str  # batch_sampler | no_duplicates | group_by_label
    cross: bool = False
    needs_negatives: bool = False
    max_negatives: int | None = None


def _st_losses():
    from sentence_transformers.sentence_transformer import losses

    return losses


def _ce_losses():
    from sentence_transformers.cross_encoder import losses

    return losses


BUILDERS: dict[str, Callable] = {
    "mnrl": lambda m, o: _st_losses().MultipleNegativesRankingLoss(m),
    "cached-mnrl": lambda m, o: _st_losses().CachedMultipleNegativesRankingLoss(
        m, mini_batch_size=int(o.get("mini_batch_size", 16))),
    "gist": lambda m, o: _st_losses().GISTEmbedLoss(m, guide=o["guide"]),
    "margin-mse": lambda m, o: _st_losses().MarginMSELoss(m),
    "triplet": lambda m, o: _st_losses().TripletLoss(m),
    "contrastive": lambda m, o: _st_losses().ContrastiveLoss(m),
    "online-contrastive": lambda m, o: _st_losses().OnlineContrastiveLoss(m),
    "batch-hard-triplet": lambda m, o: _st_losses().BatchHardTripletLoss(m),
    "bce": lambda m, o: _ce_losses().BinaryCrossEntropyLoss(m),
    "ce-mnrl": lambda m, o: _ce_losses().MultipleNegativesRankingLoss(m),
    "listnet": lambda m, o: _ce_losses().ListNetLoss(m),
    "lambda": lambda m, o: _ce_losses().LambdaLoss(m),
}

LOSSES: dict[str, LossSpec] = {s.name: s for s in [
    LossSpec("mnrl", "tuple", "no_duplicates"),
    LossSpec("cached-mnrl", "tuple", "no_duplicates"),
    LossSpec("gist", "tuple", "no_duplicates", max_negatives=1),
    LossSpec("margin-mse", "margin", "batch_sampler", needs_negatives=True),
    LossSpec("triplet", "triplet", "batch_sampler", needs_negatives=True),
    LossSpec("contrastive", "labeled-pair", "batch_sampler", needs_negatives=True),
    LossSpec("online-contrastive", "labeled-pair", "batch_sampler", needs_negatives=True),
    LossSpec("batch-hard-triplet", "label", "group_by_label"),
    LossSpec("bce", "ce-pair", "batch_sampler", cross=True, needs_negatives=True),
    LossSpec("ce-mnrl", "tuple", "batch_sampler", cross=True, needs_negatives=True),
    LossSpec("listnet", "ce-list", "batch_sampler", cross=True, needs_negatives=True),
    LossSpec("lambda", "ce-list", "batch_sampler", cross=True, needs_negatives=True),
]}


def get_loss(name: str, field: str = "loss") -> LossSpec:
    """The spec of a loss name; unknown names raise DataError naming the field."""
    if name not in LOSSES:
        raise DataError(f"unknown loss '{name}' (choose from {', '.join(LOSSES)})", field=field)
    return LOSSES[name]


def build_loss(spec: LossSpec, model, **options):
    """The sentence-transformers loss object for `model` (options: guide=SentenceTransformer, mini_batch_size)."""
    if spec.name == "gist" and options.get("guide") is None:
        raise DataError("the gist loss needs a guide model", field="guide")
    return BUILDERS[spec.name](model, options)


def layout(groups: Groups, spec: LossSpec, n_negatives: int | None = None) -> dict[str, list]:
    """Columns for the loss, in the order sentence-transformers reads them.

    tuple: anchor, positive, negative_1..n (n = the fewest negatives any group has, capped at n_negatives;
    groups with none are dropped when others have some); triplet/margin: one row per negative, margin =
    score(pos) - score(neg) from the miner (cosine or logit units); labeled-pair: (anchor, doc, 1|0);
    label: (text, label) with anchor and positive sharing the positive's label id.
    """
    negs = [n[:n_negatives] if n_negatives is not None else n for n in groups.negatives]
    if spec.needs_negatives and not any(negs):
        raise DataError(f"the {spec.name} loss needs negatives, but the training data has none", field="data")
    if spec.layout == "tuple":
        have = [i for i, n in enumerate(negs) if n] or list(range(len(groups)))
        k = min(len(negs[i]) for i in have)
        k = k if spec.max_negatives is None else min(k, spec.max_negatives)
        cols: dict[str, list] = {"anchor": [groups.anchors[i] for i in have],
                                 "positive": [groups.positives[i] for i in have]}
        for j in range(k):
            cols[f"negative_{j + 1}"] = [negs[i][j] for i in have]
        return cols
    if spec.layout in ("triplet", "margin"):
        cols = {"anchor": [], "positive": [], "negative": []}
        if spec.layout == "margin":
            cols["label"] = []
        for i, ns in enumerate(negs):
            for j, neg in enumerate(ns):
                if spec.layout == "margin":
                    ps, nsc = groups.pos_scores[i], groups.neg_scores[i]
                    if ps is None or nsc is None:
                        raise DataError("margin-mse needs miner or teacher scores in the training data",
                                        field="scores")
                    cols["label"].append(float(ps) - float(nsc[j]))
                cols["anchor"].append(groups.anchors[i])
                cols["positive"].append(groups.positives[i])
                cols["negative"].append(neg)
        return cols
    if spec.layout in ("labeled-pair", "ce-pair"):
        cols = {"anchor": [], "text": [], "label": []}
        for i, ns in enumerate(negs):
            for doc, y in [(groups.positives[i], 1.0)] + [(n, 0.0) for n in ns]:
                cols["anchor"].append(groups.anchors[i])
                cols["text"].append(doc)
                cols["label"].append(y if spec.cross else int(y))
        return cols
    if spec.layout == "ce-list":
        return {"query": list(groups.anchors),
                "docs": [[p] + n for p, n in zip(groups.positives, negs)],
                "labels": [[1] + [0] * len(n) for n in negs]}
    if spec.layout == "label":
        ids: dict[str, int] = {}
        cols = {"text": [], "label": []}
        for a, p in zip(groups.anchors, groups.positives):
            lab = ids.setdefault(p, len(ids))
            cols["text"] += [a, p]
            cols["label"] += [lab, lab]
        return cols
    raise ValueError(f"unknown layout {spec.layout}")
