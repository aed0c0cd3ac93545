"""Teacher judge: a stronger bi-encoder than the miner (mpnet by default); score = cosine similarity."""

from __future__ import annotations

import numpy as np


class TeacherJudge:
    """Score = cosine similarity in [-1, 1] of unit-normalised embeddings, through the shared embedding cache."""

    compares = "query"

    def __init__(self, model: str = "mpnet", name: str = "teacher", batch_size: int = 32, device: str | None = None,
                 show_progress: bool = False, max_length: int | None = None, precision: str | None = None):
        from hardneg.models.load import load_sentence_transformer

        self.name, self.batch_size, self.show_progress = name, batch_size, show_progress
        self._load = lambda p: load_sentence_transformer(model, device=device, precision=p)
        self.model = self._load(precision)
        self.precision, self._checked = self.model._hardneg_precision, False
        self.max_length = max_length  # applied per call: the loaded model is shared within the process
        self.units = f"teacher ({model}) cosine in [-1,1]" + (f", {max_length} tokens" if max_length else "")
        prompts = getattr(self.model, "prompts", None) or {}
        self._q_prompt = "query" if "query" in prompts else None
        self._d_prompt = next((p for p in ("document", "passage", "corpus") if p in prompts), None)

    def _embed(self, texts: list[str], prompt: str | None, desc: str) -> np.ndarray:
        from hardneg.retrieve.cache import encode_cached
        from hardneg.models.load import seq_length

        with seq_length(self.model, self.max_length):
            emb, _ = encode_cached(self.model, texts, prompt=prompt, batch_size=self.batch_size, normalize=True,
                                   show_progress=self.show_progress, desc=desc)
        return emb

    def score_pairs(self, queries: list[str], docs: list[str]) -> np.ndarray:
        """float32 [n] cosine of (queries[i], docs[i]); each distinct text is embedded once (and cached)."""
        if not len(queries):
            return np.zeros(0, np.float32)
        uq, qi = np.unique(np.asarray(queries, dtype=object), return_inverse=True)
        ud, di = np.unique(np.asarray(docs, dtype=object), return_inverse=True)
        if not self._checked:  # fp32 check of a reduced precision, on this call's texts (scores feed rules)
            from hardneg.models.check import checked_encoder

            self.model, self.precision = checked_encoder(self.model, self._load, list(ud), list(uq), self.batch_size)
            self._checked = True
        q = self._embed(list(uq), self._q_prompt, "teacher: queries")
        d = self._embed(list(ud), self._d_prompt, "teacher: documents")
        return np.einsum("ij,ij->i", q[qi.reshape(-1)], d[di.reshape(-1)]).astype(np.float32)
