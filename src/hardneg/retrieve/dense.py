"""Dense retrieval with a sentence-transformers bi-encoder, the embedding cache and exact or FAISS search.

Prompts: models with instructions need them, e.g. e5 `query: ` / `passage: `, bge-en-v1.5 queries
`Represent this sentence for searching relevant passages: `; a name from the model's own `prompts`
(config_sentence_transformers.json, e.g. `query`) works too. MiniLM and mpnet use none.
"""

from __future__ import annotations

import logging

import numpy as np

from hardneg.types import Corpus, Queries
from hardneg.retrieve.base import pair_index
from hardneg.types import Run
from hardneg.retrieve.cache import CacheStats, encode_cached
from hardneg.retrieve.faiss_index import FaissOptions, build_index, search_index
from hardneg.models.load import default_precision, load_sentence_transformer
from hardneg.models.runtime import check_precision
from hardneg.retrieve.topk import exact_topk

log = logging.getLogger(__name__)
SEARCHES = ("exact", "faiss-flat", "faiss-ivf", "faiss-hnsw")


def default_backend() -> str:
    """The fastest installed encoding runtime (see hardneg.models.runtime)."""
    from hardneg.models.runtime import best_backend

    return best_backend()


class DenseRetriever:
    """Bi-encoder retriever. Scores are cosine similarities in [-1, 1] (dot products if normalize=False)."""

    def __init__(self, model: str, *, query_prompt: str | None = None, doc_prompt: str | None = None,
                 batch_size: int = 32, backend: str | None = None, search: str = "exact",
                 normalize: bool = True, name: str | None = None, faiss: FaissOptions | None = None,
                 show_progress: bool = True, device: str | None = None, precision: str | None = None,
                 min_overlap: float | None = None):
        if search not in SEARCHES:
            raise ValueError(f"unknown search '{search}' (valid: {', '.join(SEARCHES)})")
        self.model_name = model
        self.query_prompt, self.doc_prompt = query_prompt, doc_prompt
        self.batch_size, self.search_kind, self.normalize = batch_size, search, normalize
        self.backend = backend or default_backend()
        self.precision = check_precision(precision or default_precision())  # resolved to a real one at load
        self.device, self.min_overlap = device, min_overlap
        self.name = name or f"dense:{model}"
        self.faiss_opts = faiss or FaissOptions()
        self.show_progress = show_progress
        self.cache_stats = CacheStats()
        self.doc_emb: np.ndarray | None = None
        self.corpus: Corpus | None = None
        self._model = None
        self._checked = False
        self._index = None

    def _load(self, precision: str):
        return load_sentence_transformer(self.model_name, backend=self.backend, device=self.device,
                                         precision=precision)

    @property
    def model(self):
        """The loaded SentenceTransformer (loaded on first use, shared per process)."""
        if self._model is None:
            self._model = self._load(self.precision)
            self.precision = self._model._hardneg_precision
        return self._model

    def check_precision(self, docs: list[str], queries: list[str] | None = None) -> str:
        """Run (or read) the fp32 check of this precision on a sample of `docs` (+ queries; pseudo-queries
        from the docs when None); on failure switch to fp32. Returns the precision in use."""
        from hardneg.models.check import checked_encoder

        if not self._checked:
            self._model, self.precision = checked_encoder(self.model, self._load, docs, queries, self.batch_size,
                                                          self.min_overlap)
            self._checked = True
        return self.precision

    def _encode(self, texts: list[str], prompt: str | None, desc: str) -> np.ndarray:
        self.check_precision(texts)
        emb, stats = encode_cached(self.model, texts, prompt=prompt, batch_size=self.batch_size,
                                   normalize=self.normalize, show_progress=self.show_progress, desc=desc)
        self.cache_stats += stats
        return emb

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Query embeddings (float32 [N, dim]) with the query prompt, through the cache."""
        return self._encode(list(texts), self.query_prompt, "encoding queries")

    def encode_docs(self, texts: list[str]) -> np.ndarray:
        """Document embeddings (float32 [N, dim]) with the document prompt, through the cache."""
        return self._encode(list(texts), self.doc_prompt, "encoding documents")

    def index(self, corpus: Corpus) -> None:
        """Encode title + text of every document (cached) and build the FAISS index if chosen."""
        self.corpus = corpus
        self.doc_emb = self.encode_docs(corpus.full_texts())
        self._index = None
        if self.search_kind != "exact" and len(corpus):
            self._index = build_index(self.doc_emb, self.search_kind.split("-", 1)[1], self.faiss_opts)

    def _need_index(self) -> None:
        if self.doc_emb is None or self.corpus is None:
            raise RuntimeError(f"{self.name}: call index(corpus) before search")

    def search_embeddings(self, q_emb: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows [Q,k], scores [Q,k]) for already-encoded queries."""
        self._need_index()
        if self._index is not None:
            return search_index(self._index, q_emb, k)
        return exact_topk(q_emb, self.doc_emb, k)

    def search(self, queries: Queries, k: int) -> Run:
        """Top-k corpus rows per query by cosine (or dot) score."""
        self._need_index()
        rows, scores = self.search_embeddings(self.encode_queries(queries.texts), k)
        return Run(list(queries.ids), rows, scores, self.corpus.ids, self.name)

    def score_pairs(self, queries: Queries, q_rows: np.ndarray, d_rows: np.ndarray) -> np.ndarray:
        """Cosine (or dot) scores, float32, of (queries[q_rows[i]], corpus[d_rows[i]]) pairs."""
        self._need_index()
        q_rows, d_rows, used, inv = pair_index(q_rows, d_rows)
        q_emb = self.encode_queries([queries.texts[i] for i in used])
        out = np.empty(q_rows.shape, dtype=np.float32)
        flat_q, flat_d, flat_o = inv.reshape(-1), d_rows.reshape(-1), out.reshape(-1)
        for c0 in range(0, len(flat_q), 1 << 16):  # bounded memory for millions of pairs
            sl = slice(c0, c0 + (1 << 16))
            flat_o[sl] = np.einsum("ij,ij->i", q_emb[flat_q[sl]], self.doc_emb[flat_d[sl]])
        return out
