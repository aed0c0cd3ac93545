"""The figures reported while a bi-encoder trains: exact cosine retrieval with the model in memory, scored by
the one evaluation path (hardneg.evaluate.retrieval, ranx), as a sentence-transformers evaluator."""

from __future__ import annotations

import numpy as np
from sentence_transformers.sentence_transformer.evaluation import SentenceEvaluator

from hardneg.evaluate.retrieval import score_retriever
from hardneg.retrieve.topk import exact_topk
from hardneg.types import Corpus, Dataset, Queries, Run

TRAIN_METRICS = ("ndcg@10", "mrr@10", "recall@1", "recall@3", "recall@10", "recall@100", "map@100")


class ModelRetriever:
    """A retriever over an in-memory SentenceTransformer (the model being trained): unit-normalised embeddings,
    exact top-k by cosine in [-1, 1], ties by lower corpus row. No embedding cache: the weights keep changing."""

    def __init__(self, model, batch_size: int = 64, name: str = "model"):
        self.model, self.batch_size, self.name = model, batch_size, name
        self.corpus: Corpus | None = None
        self.doc_emb: np.ndarray | None = None

    def _encode(self, texts: list[str]) -> np.ndarray:
        emb = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(emb, dtype=np.float32)

    def index(self, corpus: Corpus) -> None:
        self.corpus, self.doc_emb = corpus, self._encode(corpus.full_texts())

    def search(self, queries: Queries, k: int) -> Run:
        if self.corpus is None or self.doc_emb is None:
            raise RuntimeError(f"{self.name}: call index(corpus) before search")
        rows, scores = exact_topk(self._encode(queries.texts), self.doc_emb, k)
        return Run(list(queries.ids), rows, scores, self.corpus.ids, self.name)


class RetrievalEvaluator(SentenceEvaluator):
    """Scores the model on a split's judged queries; metrics in [0, 1] keyed `{name}_{metric}` (e.g.
    `eval_ndcg@10`, the primary one), as hardneg.evaluate scores any retriever (graded nDCG, ranx)."""

    def __init__(self, ds: Dataset, name: str = "eval", batch_size: int = 64, metrics=TRAIN_METRICS):
        super().__init__()
        self.ds, self.name, self.batch_size, self.metrics = ds, name, batch_size, list(metrics)
        self.primary_metric = self.metrics[0]

    def __call__(self, model, output_path: str | None = None, epoch: int = -1, steps: int = -1) -> dict:
        scores, _ = score_retriever(ModelRetriever(model, self.batch_size), self.ds, self.metrics)
        metrics = self.prefix_name_to_metrics(scores, self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics
