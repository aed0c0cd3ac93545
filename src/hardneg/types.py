"""The values passed between stages: corpus, queries, qrels, runs, candidates, selections, mined sets, groups.

Every stage reads and writes these; they hold arrays and ids only, no behaviour beyond small accessors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np


# query id -> doc id -> graded relevance (int; <= 0 means not relevant)
Qrels = dict[str, dict[str, int]]


class _Ids:
    """Lookup by id for Corpus and Queries (row order = `ids`)."""

    ids: list[str]
    _index: dict[str, int]

    def _build_index(self, what: str) -> None:
        self._index = {x: i for i, x in enumerate(self.ids)}
        if len(self._index) != len(self.ids):
            dup = next(x for i, x in enumerate(self.ids) if self._index[x] != i)
            raise ValueError(f"duplicate {what} id '{dup}'")

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, key: str) -> bool:
        return key in self._index

    def index(self, key: str) -> int:
        return self._index[key]


@dataclass
class Corpus(_Ids):
    """Documents in a fixed order; row i of any embedding matrix is document ids[i]."""

    ids: list[str]
    titles: list[str]
    texts: list[str]
    _index: dict[str, int] = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if not (len(self.ids) == len(self.titles) == len(self.texts)):
            raise ValueError("Corpus ids, titles and texts must have the same length")
        self._build_index("corpus")

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
class Queries(_Ids):
    ids: list[str]
    texts: list[str]
    _index: dict[str, int] = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.texts):
            raise ValueError("Queries ids and texts must have the same length")
        self._build_index("query")

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


@dataclass
class Run:
    """Top-k results for a block of queries.

    Row i belongs to query_ids[i]. `indices` are corpus rows (int64, -1 = padding) and `scores`
    the retriever's scores (float32, higher is better, -inf = padding), sorted descending with ties
    broken by lower corpus row, so that runs are deterministic.
    """

    query_ids: list[str]
    indices: np.ndarray
    scores: np.ndarray
    doc_ids: list[str]
    name: str = ""

    def __post_init__(self) -> None:
        if self.indices.shape != self.scores.shape or self.indices.ndim != 2:
            raise ValueError("Run indices and scores must be 2-d arrays of one shape")
        if self.indices.shape[0] != len(self.query_ids):
            raise ValueError("Run has one row per query id")

    @property
    def k(self) -> int:
        return self.indices.shape[1]

    def to_dict(self) -> dict[str, dict[str, float]]:
        """{query id: {doc id: score}}, the shape ranx and pytrec_eval take."""
        out: dict[str, dict[str, float]] = {}
        for qid, rows, scores in zip(self.query_ids, self.indices, self.scores):
            out[qid] = {self.doc_ids[r]: float(s) for r, s in zip(rows, scores) if r >= 0}
        return out


@dataclass
class Candidates:
    """Ranked candidate documents for Q queries, K per query, positives already removed.

    rows:       int64 [Q, K] corpus rows in miner order (best first), -1 = padding.
    scores:     float32 [Q, K] the miner's score (fused if several retrievers), higher = more relevant,
                -inf = padding. Positive-aware rules compare these with `pos_scores`.
    pos_rows:   int64 [Q, P] corpus rows of each query's known positives, -1 = padding.
    pos_scores: float32 [Q, P] the miner's score of each positive, NaN = padding.
    retriever_scores / retriever_ranks: per retriever name, float32 [Q, K] raw score (NaN if that
                retriever did not return the candidate) and int32 [Q, K] 1-based rank (0 = absent).
    """

    query_ids: list[str]
    rows: np.ndarray
    scores: np.ndarray
    pos_rows: np.ndarray
    pos_scores: np.ndarray
    retriever_scores: dict[str, np.ndarray] = field(default_factory=dict)
    retriever_ranks: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        q = len(self.query_ids)
        if self.rows.shape != self.scores.shape or self.rows.shape[0] != q:
            raise ValueError("Candidates rows/scores must be [Q, K] with Q = len(query_ids)")
        if self.pos_rows.shape != self.pos_scores.shape or self.pos_rows.shape[0] != q:
            raise ValueError("Candidates pos_rows/pos_scores must be [Q, P]")

    @property
    def valid(self) -> np.ndarray:
        """bool [Q, K]: True where a real candidate sits."""
        return self.rows >= 0

    def take(self, q_rows: np.ndarray) -> "Candidates":
        """The candidates of a subset of queries (e.g. one query block)."""
        q_rows = np.asarray(q_rows)
        return Candidates([self.query_ids[i] for i in q_rows], self.rows[q_rows], self.scores[q_rows],
                          self.pos_rows[q_rows], self.pos_scores[q_rows],
                          {k: v[q_rows] for k, v in self.retriever_scores.items()},
                          {k: v[q_rows] for k, v in self.retriever_ranks.items()})


@dataclass
class Selection:
    """Chosen negatives for Q queries, best (highest miner score) first.

    rows:   int64 [Q, N] corpus rows, -1 = none found.
    scores: float32 [Q, N] miner scores (same units as Candidates.scores), NaN = none.
    ranks:  int32 [Q, N] 1-based position in the candidate list (0 = none, or drawn from the whole corpus).
    keep:   bool [Q]: False where the query was dropped for being short (`--short drop`) or by validation.
    positives / positive_scores: int64 / float32 [Q, R] extra positives found by validation (relabelled
            candidates, miner scores), -1 / NaN pad; None = none.
    """

    query_ids: list[str]
    rows: np.ndarray
    scores: np.ndarray
    ranks: np.ndarray
    keep: np.ndarray
    skipped: dict[str, int] = field(default_factory=dict)
    short: int = 0
    padded: int = 0
    still_short: int = 0
    dropped: int = 0
    positives: np.ndarray | None = None
    positive_scores: np.ndarray | None = None

    @property
    def counts(self) -> np.ndarray:
        """int [Q]: negatives found per query."""
        return (self.rows >= 0).sum(axis=1)

    def stats(self) -> dict:
        return {"skipped": dict(self.skipped), "short": self.short, "padded": self.padded,
                "still_short": self.still_short, "dropped": self.dropped}


@dataclass
class Mined:
    """Q queries with positives [Q, P] and negatives [Q, N] as corpus rows (-1 = pad), best first.

    Scores are the miner's (float32, NaN = pad); `scorer` names where they come from (e.g. `dense:minilm`).
    judge_pos / judge_neg: a judge's scores of the same pairs ([Q, P] / [Q, N], NaN = pad), named by `judge`;
    MarginMSE labels come from these, never from the miner.
    """

    query_ids: list[str]
    query_texts: list[str]
    pos_rows: np.ndarray
    pos_scores: np.ndarray
    neg_rows: np.ndarray
    neg_scores: np.ndarray
    doc_ids: list[str]
    doc_texts: list[str]
    scorer: str = ""
    prompt: str = ""
    judge_pos: np.ndarray | None = None
    judge_neg: np.ndarray | None = None
    judge: str = ""

    def __post_init__(self) -> None:
        q = len(self.query_ids)
        if len(self.query_texts) != q or self.pos_rows.shape[0] != q or self.neg_rows.shape[0] != q:
            raise ValueError("Mined needs one row per query in every array")
        self._qid = np.asarray(self.query_ids, dtype=object)
        self._qtext = np.asarray(self.query_texts, dtype=object)
        self._did = np.asarray(self.doc_ids, dtype=object)
        self._dtext = np.asarray(self.doc_texts, dtype=object)

    def qids(self, i: np.ndarray) -> list:
        return self._qid[i].tolist()

    def queries(self, i: np.ndarray) -> list:
        return self._qtext[i].tolist()

    def dids(self, rows: np.ndarray) -> list:
        return self._did[rows].tolist()

    def texts(self, rows: np.ndarray) -> list:
        return self._dtext[rows].tolist()


@dataclass
class Groups:
    """One row per (anchor, positive): its negatives and, when known, the miner's scores (cosine or logits)."""

    anchors: list[str] = field(default_factory=list)
    positives: list[str] = field(default_factory=list)
    negatives: list[list[str]] = field(default_factory=list)
    pos_scores: list[float | None] = field(default_factory=list)
    neg_scores: list[list[float] | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.anchors)

    def add(self, anchor: str, positive: str, negs: list[str], pos_score=None, neg_scores=None) -> None:
        self.anchors.append(anchor)
        self.positives.append(positive)
        self.negatives.append(list(negs))
        self.pos_scores.append(pos_score)
        self.neg_scores.append(None if neg_scores is None else list(neg_scores))

    def n_negatives(self) -> int:
        return sum(len(n) for n in self.negatives)
