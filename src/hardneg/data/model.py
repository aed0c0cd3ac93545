"""Corpus, queries and qrels: the one shape every stage reads and writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

# query id -> doc id -> graded relevance (int; <= 0 means not relevant)
Qrels = dict[str, dict[str, int]]


@dataclass
class Corpus:
    """Documents in a fixed order; row i of any embedding matrix is document ids[i]."""

    ids: list[str]
    titles: list[str]
    texts: list[str]
    _index: dict[str, int] = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if not (len(self.ids) == len(self.titles) == len(self.texts)):
            raise ValueError("Corpus ids, titles and texts must have the same length")
        self._index = {d: i for i, d in enumerate(self.ids)}
        if len(self._index) != len(self.ids):
            dup = next(d for i, d in enumerate(self.ids) if self._index[d] != i)
            raise ValueError(f"duplicate corpus id '{dup}'")

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, doc_id: str) -> bool:
        return doc_id in self._index

    def index(self, doc_id: str) -> int:
        return self._index[doc_id]

    def indices(self, doc_ids: Iterable[str]) -> list[int]:
        return [self._index[d] for d in doc_ids]

    def full_texts(self, sep: str = " ") -> list[str]:
        """Title and text joined, as BEIR and sentence-transformers' examples encode documents."""
        return [f"{t}{sep}{x}" if t else x for t, x in zip(self.titles, self.texts)]

    def subset(self, rows: Iterable[int]) -> "Corpus":
        rows = list(rows)
        return Corpus([self.ids[i] for i in rows], [self.titles[i] for i in rows],
                      [self.texts[i] for i in rows])


@dataclass
class Queries:
    ids: list[str]
    texts: list[str]
    _index: dict[str, int] = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.texts):
            raise ValueError("Queries ids and texts must have the same length")
        self._index = {q: i for i, q in enumerate(self.ids)}
        if len(self._index) != len(self.ids):
            dup = next(q for i, q in enumerate(self.ids) if self._index[q] != i)
            raise ValueError(f"duplicate query id '{dup}'")

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, qid: str) -> bool:
        return qid in self._index

    def index(self, qid: str) -> int:
        return self._index[qid]

    def text(self, qid: str) -> str:
        return self.texts[self._index[qid]]

    def subset(self, qids: Iterable[str]) -> "Queries":
        qids = list(qids)
        return Queries(qids, [self.text(q) for q in qids])


@dataclass
class Dataset:
    """A corpus with queries and their judgments for one split."""

    corpus: Corpus
    queries: Queries
    qrels: Qrels
    name: str = ""

    def positives(self, min_score: int = 1) -> dict[str, list[str]]:
        """Query id -> relevant doc ids (score >= min_score), in qrels order."""
        return {q: [d for d, s in docs.items() if s >= min_score] for q, docs in self.qrels.items()}

    def judged_queries(self) -> "Queries":
        """The queries that have at least one positive, in query-file order."""
        pos = self.positives()
        return self.queries.subset([q for q in self.queries.ids if pos.get(q)])
