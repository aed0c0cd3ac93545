"""Data recipes: turn a train split into training groups (in-batch only, random, ST mining, hardneg mining, hardneg
mixed with random negatives, file)."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from hardneg.data.errors import DataError
from hardneg.data.jsonl import open_text
from hardneg.io import atomic_write
from hardneg.types import Dataset
from hardneg.train.data import groups_from_mined, groups_from_table, pairs_from_dataset, read_groups
from hardneg.types import Groups

log = logging.getLogger(__name__)

KINDS = ("in-batch", "random", "st-mine", "hardneg", "mixed", "file")
# sentence_transformers.util.mine_hard_negatives, settings from its docstring example
ST_RECOMMENDED = {"range_min": 10, "range_max": 50, "max_score": 0.8, "relative_margin": 0.05,
                  "num_negatives": 5, "sampling_strategy": "random"}


@dataclass
class Recipe:
    """How training negatives are made. Scores kept in groups are the miner's (cosine for dense, fused for RRF)."""

    name: str
    kind: str = "in-batch"
    num_negatives: int = 5
    model: str = "minilm"  # mining model for st-mine
    retrievers: list[str] = field(default_factory=lambda: ["bm25", "dense:minilm"])
    strategy: str = "range:10-50:random"
    validate: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    validate_options: dict = field(default_factory=dict)  # validate(): policy, target_fn_rate, cascade, drop_query
    st: dict = field(default_factory=dict)  # overrides of ST_RECOMMENDED
    path: str | None = None
    random_share: float = 0.5  # mixed: share of negative slots filled with a random document

    def __post_init__(self) -> None:
        where = f"recipes[{self.name}]"
        if self.kind not in KINDS:
            raise DataError(f"unknown kind '{self.kind}' (choose from {', '.join(KINDS)})", field=f"{where}.kind")
        if not isinstance(self.num_negatives, int) or self.num_negatives < 1:
            raise DataError("must be a positive integer", field=f"{where}.num_negatives")
        if self.kind == "file" and not self.path:
            raise DataError("a file recipe needs a path", field=f"{where}.path")
        bad = set(self.validate_options) - {"policy", "target_fn_rate", "cascade", "drop_query"}
        if bad:
            raise DataError(f"unknown validation option(s) {sorted(bad)} (policy, target_fn_rate, cascade, "
                            "drop_query)", field=f"{where}.validate_options")
        bad = set(self.st) - set(ST_RECOMMENDED)
        if bad:
            raise DataError(f"unknown mine_hard_negatives option(s) {sorted(bad)}", field=f"{where}.st")
        if self.kind == "mixed" and (not isinstance(self.random_share, (int, float)) or
                                     not 0.0 < self.random_share < 1.0):
            raise DataError(f"must be in (0, 1), got {self.random_share!r}", field=f"{where}.random_share")
        if self.kind in ("hardneg", "mixed"):
            from hardneg.select.spec import parse_strategy

            try:
                parse_strategy(self.strategy)
            except ValueError as e:
                raise DataError(str(e), field=f"{where}.strategy") from None

    def to_dict(self) -> dict:
        return asdict(self)


def random_groups(ds: Dataset, n: int, seed: int) -> Groups:
    """Each pair gets n documents drawn uniformly from the corpus, never one of its query's positives."""
    g = pairs_from_dataset(ds)
    texts = ds.corpus.full_texts()
    qpos = ds.positives()
    qids = [q for q, docs in qpos.items() if q in ds.queries for _ in docs]
    rng = np.random.default_rng(seed)
    draw = rng.integers(0, len(texts), size=(len(qids), 3 * n + 8))
    for i, q in enumerate(qids):
        bad = set(ds.corpus.indices(qpos[q]))
        picks = list(dict.fromkeys(int(r) for r in draw[i] if int(r) not in bad))[:n]
        g.negatives[i] = [texts[r] for r in picks]
    return g


def st_mine_groups(ds: Dataset, recipe: Recipe, batch_size: int = 64) -> Groups:
    """Negatives from sentence_transformers.util.mine_hard_negatives at its recommended settings (cosine scores)."""
    import datasets
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives

    from hardneg.models.load import fingerprint
    from hardneg.paths import cache_dir
    from hardneg.train.trainer import resolve

    pairs = pairs_from_dataset(ds)
    opts = {**ST_RECOMMENDED, "num_negatives": recipe.num_negatives, **recipe.st}
    table = datasets.Dataset.from_dict({"query": pairs.anchors, "positive": pairs.positives})
    path = resolve(recipe.model)
    # its own embedding cache, in a folder per model: it keys files on the texts and the model card's
    # base_model, which a local folder leaves empty
    cache = cache_dir("st-mine", fingerprint(path))
    out = mine_hard_negatives(table, SentenceTransformer(path), corpus=ds.corpus.full_texts(),
                              output_format="triplet", output_scores=True, batch_size=batch_size, verbose=False,
                              cache_folder=str(cache), **opts)
    g = groups_from_table(out, f"mine_hard_negatives({recipe.name})")
    have = {(a, p) for a, p in zip(g.anchors, g.positives)}
    for a, p in zip(pairs.anchors, pairs.positives):  # pairs that got no negative still train in-batch
        if (a, p) not in have:
            g.add(a, p, [])
    return g


def hardneg_groups(ds: Dataset, recipe: Recipe, seed: int, progress: bool = False,
                   export_dir: str | Path | None = None) -> Groups:
    """Negatives from hardneg's miner (retrievers -> strategy), then the validation judges if any.

    One pipeline run (hardneg.pipeline.runner.run); with export_dir it is the run folder: the (validated) set
    is exported there as ST triplets (HF dataset + parquet), and a rerun reuses the steps that still apply.
    """
    from hardneg.pipeline.pipeline_config import from_dict
    from hardneg.pipeline.runner import run
    from hardneg.pipeline.runs import pipeline_plan

    cfg = from_dict({"data": {"path": ds.name}, "retrieve": {"retrievers": list(recipe.retrievers)},
                     "select": {"strategy": recipe.strategy, "num_negatives": recipe.num_negatives, "seed": seed},
                     "validate": {"judges": list(recipe.validate), "rules": list(recipe.rules),
                                  **recipe.validate_options},
                     "export": {"formats": ["triplet"]}, "out": str(export_dir) if export_dir else None},
                    f"recipes[{recipe.name}]")
    cfg.show_progress = progress
    planned = pipeline_plan(cfg, overwrite=True, check_data=False) if export_dir else ("", "new")
    return groups_from_mined(run(cfg, ds, planned=planned).mined)


def mixed_groups(ds: Dataset, recipe: Recipe, seed: int, progress: bool = False,
                 export_dir: str | Path | None = None) -> Groups:
    """hardneg's (validated) negatives with random ones beside them (arXiv 2411.11767: hard negatives alone can
    hurt; mixing in random ones helps). Each negative slot, in order, takes a random corpus document (never a
    positive of the query, never a repeat) with probability `random_share`, else the next hard negative; the
    draws are seeded. Groups holding a random negative carry no miner scores (no margin labels)."""
    hard = hardneg_groups(ds, recipe, seed, progress, export_dir)
    rand = random_groups(ds, recipe.num_negatives, seed)
    pool = {(a, p): n for a, p, n in zip(rand.anchors, rand.positives, rand.negatives)}
    rng = np.random.default_rng(seed)
    slots = rng.random((len(hard), recipe.num_negatives)) < recipe.random_share
    out = Groups()
    for i, (a, p, negs) in enumerate(zip(hard.anchors, hard.positives, hard.negatives)):
        sc = hard.neg_scores[i]
        h = list(zip(negs, sc if sc is not None else [None] * len(negs)))
        r = [(t, None) for t in pool.get((a, p), []) if t not in set(negs)]
        picked = []
        for j in range(recipe.num_negatives):
            src = r if (slots[i, j] and r) or not h else h
            if src:
                picked.append(src.pop(0))
        vals = [v for _, v in picked]
        out.add(a, p, [t for t, _ in picked], hard.pos_scores[i], None if None in vals else vals)
    return out


def build(ds: Dataset, recipe: Recipe, seed: int, progress: bool = False,
          export_dir: str | Path | None = None) -> Groups:
    """The training groups of a recipe on a train split (hardneg recipes also export to export_dir)."""
    if recipe.kind == "in-batch":
        return pairs_from_dataset(ds)
    if recipe.kind == "random":
        return random_groups(ds, recipe.num_negatives, seed)
    if recipe.kind == "st-mine":
        return st_mine_groups(ds, recipe)
    if recipe.kind == "hardneg":
        return hardneg_groups(ds, recipe, seed, progress, export_dir)
    if recipe.kind == "mixed":
        return mixed_groups(ds, recipe, seed, progress, export_dir)
    return read_groups(recipe.path)


def save_groups(path: str | Path, g: Groups) -> None:
    """One JSON line per group (anchor, positive, negatives, scores), gzipped, atomically."""
    with atomic_write(path) as f:
        for row in zip(g.anchors, g.positives, g.negatives, g.pos_scores, g.neg_scores):
            f.write(json.dumps(dict(zip(("anchor", "positive", "negatives", "pos_score", "neg_scores"), row)),
                               ensure_ascii=False) + "\n")


def load_groups(path: str | Path) -> Groups:
    g = Groups()
    with open_text(path) as f:
        for line in f:
            r = json.loads(line)
            g.add(r["anchor"], r["positive"], r["negatives"], r["pos_score"], r["neg_scores"])
    return g
