"""MineConfig: every knob of `hardneg mine`, one dataclass (the CLI builds one of these)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class MineConfig:
    """Settings for mine(). Scores are the miner's: cosine for dense, BM25 units for bm25, fused when several.

    pos_score: which positive score positive-aware rules use when a query has several positives:
               `min` (default, safest: negatives stay below the hardest positive), `mean` or `max`.
    short:     queries with fewer than num_negatives negatives: `keep` short, `drop`, or `pad` from further down.
    depth:     candidates searched per query; None = window + refill margin + the most exclusions of any query.
    """

    retrievers: list[str] = field(default_factory=lambda: ["dense:minilm"])
    fusion: str = "rrf"
    strategy: str = "top"
    num_negatives: int = 5
    depth: int | None = None
    seed: int = 0
    pos_score: str = "min"
    short: str = "keep"
    min_score: float | None = None
    max_score: float | None = None
    formats: list[str] = field(default_factory=lambda: ["triplet"])
    out: str | None = None
    batch_size: int = 32
    backend: str | None = None
    precision: str | None = None  # auto, fp32, bf16, fp16, int8 (None: HARDNEG_PRECISION or auto)
    search: str = "exact"
    min_relevance: int = 1
    dedup_negatives: bool = True
    prompt: str = ""
    show_progress: bool = False
    # validation (see docs/validate.md): action policy, drop-query share, cascade band, calibration target;
    # the judge whose scores become marginmse labels
    policy: str | None = None
    drop_query: float | None = None
    cascade: float | None = None
    target_fn_rate: float | None = None
    margin_judge: str | None = None
    validate_budget: int = 0  # extra candidates searched per query for validation to refill from

    def validate_options(self) -> dict:
        """The options validate() takes from this config."""
        return {"policy": self.policy, "drop_query": self.drop_query, "cascade": self.cascade,
                "target_fn_rate": self.target_fn_rate}

    def to_dict(self) -> dict:
        return asdict(self)
