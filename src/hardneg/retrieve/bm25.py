"""BM25 via bm25s (PyStemmer English stemming, English stopwords), scored with sparse matrix products.

bm25s builds the eager score matrix (token x doc); we score query blocks as sparse products so that
search and score_pairs give the same exact scores, and ties are broken by lower corpus row.
Documents sharing no term with the query (score 0) are not returned: those slots are -1 / -inf.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from hardneg.types import Corpus, Queries
from hardneg.retrieve.base import pair_index
from hardneg.types import Run
from hardneg.retrieve.topk import topk_from_scores

log = logging.getLogger(__name__)
BLOCK = 1 << 25  # dense score cells per query block (128 MB of float32)


def topk_bm25(qm: sp.csr_matrix, m: sp.csr_matrix, extra: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (rows int64, scores float32 BM25 units) of query token counts `qm` [Q, vocab] against the score
    matrix `m` [vocab, docs]; docs with score 0 are left out (-1 / -inf). Each query row is independent."""
    nd = m.shape[1]
    rows = np.full((qm.shape[0], k), -1, dtype=np.int64)
    scores = np.full((qm.shape[0], k), -np.inf, dtype=np.float32)
    step = max(1, BLOCK // max(nd, 1))
    for q0 in range(0, qm.shape[0], step):
        hit = (qm[q0:q0 + step] @ m).toarray().astype(np.float32)
        dense = np.where(hit > 0, hit, -np.inf).astype(np.float32)
        if extra is not None:
            dense += extra[q0:q0 + step, None]
        r, s = topk_from_scores(dense, k)
        r[np.isneginf(s)] = -1
        rows[q0:q0 + len(r)], scores[q0:q0 + len(r)] = r, s
    return rows, scores


class BM25Retriever:
    """Okapi BM25 (Lucene variant by default). Scores are BM25 sums (>= 0, unbounded)."""

    def __init__(self, k1: float = 0.9, b: float = 0.4, method: str = "lucene", stemmer: str | None = "english",
                 stopwords: str | None = "en", name: str = "bm25", show_progress: bool = False):
        self.k1, self.b, self.method = k1, b, method
        self.stemmer_lang, self.stopwords = stemmer, stopwords
        self.name = name
        self.show_progress = show_progress
        self.corpus: Corpus | None = None
        self._tok = None
        self._m: sp.csr_matrix | None = None  # token x doc BM25 weights
        self._mt: sp.csr_matrix | None = None  # doc x token
        self._nonocc: np.ndarray | None = None

    def _tokenizer(self):
        from bm25s.tokenization import Tokenizer

        stemmer = None
        if self.stemmer_lang:
            import Stemmer

            stemmer = Stemmer.Stemmer(self.stemmer_lang)
        return Tokenizer(stopwords=self.stopwords or [], stemmer=stemmer)

    def index(self, corpus: Corpus) -> None:
        """Tokenize title + text of every document and build the BM25 score matrix."""
        import bm25s

        self.corpus = corpus
        self._tok = self._tokenizer()
        toks = self._tok.tokenize(corpus.full_texts(), return_as="tuple", show_progress=self.show_progress)
        model = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
        model.index(toks, show_progress=self.show_progress)
        s = model.scores
        n_vocab = len(s["indptr"]) - 1
        self._m = sp.csr_matrix((s["data"].astype(np.float32), s["indices"], s["indptr"]),
                                shape=(n_vocab, s["num_docs"]))
        self._mt = self._m.T.tocsr()
        self._nonocc = model.nonoccurrence_array
        log.debug("bm25 index: %d docs, %d tokens", s["num_docs"], n_vocab)

    def _need_index(self) -> None:
        if self._m is None or self.corpus is None:
            raise RuntimeError(f"{self.name}: call index(corpus) before search")

    def query_matrix(self, texts: list[str]) -> sp.csr_matrix:
        """Query token counts [n, vocab] (unknown tokens dropped)."""
        self._need_index()
        ids = self._tok.tokenize(list(texts), update_vocab=False, return_as="ids", show_progress=False)
        n_vocab = self._m.shape[0]
        lens = [len(x) for x in ids]
        cols = np.fromiter((t for x in ids for t in x), dtype=np.int64, count=sum(lens))
        rows = np.repeat(np.arange(len(ids)), lens)
        keep = cols < n_vocab
        data = np.ones(int(keep.sum()), dtype=np.float32)
        return sp.csr_matrix((data, (rows[keep], cols[keep])), shape=(len(ids), n_vocab))

    def _extra(self, qm: sp.csr_matrix) -> np.ndarray | None:
        """Per-query constant for BM25 variants with non-occurrence scores (BM25L, BM25+)."""
        if self._nonocc is None:
            return None
        return np.asarray(qm @ self._nonocc.astype(np.float32)).reshape(-1)

    def search(self, queries: Queries, k: int) -> Run:
        """Top-k corpus rows per query by BM25 score; docs with score 0 are left out."""
        self._need_index()
        qm = self.query_matrix(queries.texts)
        rows, scores = topk_bm25(qm, self._m, self._extra(qm), k)
        return Run(list(queries.ids), rows, scores, self.corpus.ids, self.name)

    def score_pairs(self, queries: Queries, q_rows: np.ndarray, d_rows: np.ndarray) -> np.ndarray:
        """Exact BM25 scores (float32) of (queries[q_rows[i]], corpus[d_rows[i]]) pairs."""
        self._need_index()
        q_rows, d_rows, used, inv = pair_index(q_rows, d_rows)
        qm = self.query_matrix([queries.texts[i] for i in used])
        extra = self._extra(qm)
        flat_q, flat_d = inv.reshape(-1), d_rows.reshape(-1)
        out = np.empty(len(flat_q), dtype=np.float32)
        for c0 in range(0, len(flat_q), 1 << 18):
            sl = slice(c0, c0 + (1 << 18))
            prod = qm[flat_q[sl]].multiply(self._mt[flat_d[sl]])
            out[sl] = np.asarray(prod.sum(1)).reshape(-1)
            if extra is not None:
                out[sl] += extra[flat_q[sl]]
        return out.reshape(q_rows.shape)
