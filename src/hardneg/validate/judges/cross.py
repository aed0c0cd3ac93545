"""Cross-encoder judge: sentence-transformers CrossEncoder over (query, doc) pairs, sigmoid scores."""

from __future__ import annotations

import logging

import numpy as np

from hardneg.validate.judges.base import PairCache

log = logging.getLogger(__name__)


class CrossEncoderJudge:
    """Score = sigmoid(logit) in (0, 1) for one-label models, softmax P(label 1) for two-label ones.

    Scored by hardneg.models.score.cross_scores: (query, doc) tuples, so the tokenizer builds [CLS] q [SEP] d
    [SEP] with token_type_ids 0/1 (the InPars pitfall is joining them into one string); all pairs of a call
    in one predict(), which sorts them by length across queries.
    """

    compares = "query"

    def __init__(self, model: str, name: str = "cross-encoder", batch_size: int = 64, device: str | None = None,
                 cache: bool = True, max_length: int | None = None, precision: str | None = None):
        from hardneg.models.load import load_cross_encoder, resolve_model, fingerprint

        self.name, self.batch_size = name, batch_size
        self._load = lambda p: load_cross_encoder(model, device=device, precision=p)
        self.model = self._load(precision)
        self.precision, self._checked = self.model._hardneg_precision, False
        self.max_length = max_length or self.model.max_seq_length  # applied per call: the model is shared
        self.units = "cross-encoder sigmoid(logit) in (0,1)"
        if self.model.num_labels not in (1, 2):
            raise ValueError(f"cross-encoder '{model}' has {self.model.num_labels} labels; expected 1 or 2")
        self._fp = f"ce|{fingerprint(resolve_model(model))}|{self.max_length}"
        self._cache = PairCache(self._id()) if cache else None

    def _id(self) -> str:
        return self._fp + ("" if self.precision == "fp32" else f"|{self.precision}")

    def _predict(self, queries: list[str], docs: list[str]) -> np.ndarray:
        return self._run(self.model, queries, docs)

    def _check(self, queries: list[str], docs: list[str]) -> None:
        """fp32 check of a reduced precision on a sample of the first call's pairs (once per process)."""
        from hardneg.models.check import checked_scorer

        if self._checked or not queries:
            return
        self.model, self.precision = checked_scorer(self.model, self._load, queries, docs, self._run,
                                                    str(self.max_length))
        self._checked = True
        if self._cache is not None and self._cache.judge_id != self._id():
            self._cache = PairCache(self._id())  # fell back to fp32: its own cached scores

    def _run(self, model, queries: list[str], docs: list[str]) -> np.ndarray:
        from hardneg.models.score import cross_scores

        return cross_scores(model, queries, docs, batch_size=self.batch_size, max_length=self.max_length)

    def score_pairs(self, queries: list[str], docs: list[str]) -> np.ndarray:
        """float32 [n] sigmoid scores of the (queries[i], docs[i]) pairs."""
        self._check(list(queries), list(docs))
        if self._cache is None:
            return self._predict(list(queries), list(docs))
        return self._cache.scores(list(queries), list(docs), self._predict)
