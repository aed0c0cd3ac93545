"""Filters over generated queries; each returns a boolean keep-mask over the queries it is given."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np

from hardneg.types import Corpus, Queries

log = logging.getLogger(__name__)
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def length_mask(queries: list[str], min_words: int = 3, max_words: int = 32) -> np.ndarray:
    """Keep queries with min_words <= word count <= max_words."""
    n = np.array([len(words(q)) for q in queries], dtype=np.int64)
    return (n >= min_words) & (n <= max_words)


def dedupe_mask(queries: list[str]) -> np.ndarray:
    """Keep the first of queries whose lower-cased words are equal (across all documents)."""
    seen: set[tuple[str, ...]] = set()
    keep = np.zeros(len(queries), dtype=bool)
    for i, q in enumerate(queries):
        key = tuple(words(q))
        if key not in seen:
            seen.add(key)
            keep[i] = True
    return keep


_SENT = re.compile(r"[^.?!\n]+")


def repeat_mask(queries: list[str], max_count: int = 3, n: int = 3) -> np.ndarray:
    """Drop degenerate replies: a sentence said twice, or a word n-gram said max_count or more times.

    Catches a model repeating one sentence until the token limit ("what is X? what is X? what is X?").
    """
    keep = np.ones(len(queries), dtype=bool)
    for i, q in enumerate(queries):
        sents = [tuple(words(s)) for s in _SENT.findall(q)]
        sents = [s for s in sents if s]
        ws = words(q)
        counts: dict[tuple[str, ...], int] = {}
        for j in range(len(ws) - n + 1):
            g = tuple(ws[j:j + n])
            counts[g] = counts.get(g, 0) + 1
        keep[i] = len(set(sents)) == len(sents) and max(counts.values(), default=0) < max_count
    return keep


def ngrams(ws: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)}


def copy_mask(queries: list[str], docs: list[str], max_run: int = 6) -> np.ndarray:
    """Drop queries that copy the document: a verbatim run of >= max_run words, or all of a 4+ word query."""
    keep = np.ones(len(queries), dtype=bool)
    for i, (q, d) in enumerate(zip(queries, docs)):
        qw, dw = words(q), words(d)
        n = min(max_run, len(qw))
        if n >= 4 or n == max_run:
            keep[i] = not (ngrams(qw, n) & ngrams(dw, n))
    return keep


def top_fraction_mask(scores: np.ndarray, keep: float) -> np.ndarray:
    """Keep the top `keep` fraction (0..1] by score, ties broken by earlier position (InPars filter)."""
    scores = np.asarray(scores, dtype=np.float64)
    n_keep = int(np.ceil(keep * len(scores))) if len(scores) else 0
    return top_n_mask(scores, n_keep)


def top_n_mask(scores: np.ndarray, n: int) -> np.ndarray:
    """Keep the n highest scores (NaN ranks last), ties broken by earlier position."""
    scores = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    order = np.argsort(-scores, kind="stable")
    keep = np.zeros(len(scores), dtype=bool)
    keep[order[:max(0, n)]] = True
    return keep


def roundtrip_mask(retriever, corpus: Corpus, queries: list[str], src_rows: np.ndarray, k: int) -> np.ndarray:
    """Keep a query when its source document (corpus row) is in the retriever's top-k for it."""
    if not queries:
        return np.zeros(0, dtype=bool)
    retriever.index(corpus)
    run = retriever.search(Queries([f"g{i}" for i in range(len(queries))], list(queries)), k)
    return (run.indices == np.asarray(src_rows, dtype=np.int64)[:, None]).any(axis=1)


def cross_encoder_scores(model: str, queries: list[str], docs: list[str], batch_size: int = 32) -> np.ndarray:
    """Cross-encoder scores of (query, document) pairs in the model's own units (its activation_fn: sigmoid
    for a one-label sentence-transformers model, raw logits for ms-marco rerankers); higher = more relevant."""
    from hardneg.models.load import load_cross_encoder
    from hardneg.models.score import cross_scores

    if not queries:
        return np.zeros(0, dtype=np.float32)
    ce = load_cross_encoder(model, precision="fp32")
    return cross_scores(ce, list(queries), list(docs), batch_size=batch_size, activation="model")


@dataclass(frozen=True)
class FilterSpec:
    """One filter from the CLI: `length:MIN:MAX`, `dedupe`, `copy:RUN`, `repeat:COUNT`, `score:FRAC`,
    `roundtrip:K:RETRIEVER`, `rerank:N:MODEL` (N < 1 means a fraction)."""

    kind: str
    args: tuple = ()

    @property
    def label(self) -> str:
        return ":".join([self.kind, *map(str, self.args)])


FORMS = "length:MIN:MAX, dedupe, copy:RUN, repeat:COUNT, score:FRAC, roundtrip:K:RETRIEVER, rerank:N:MODEL, none"
# what `hardneg generate` applies unless --filter is given (`--filter none` turns filtering off)
DEFAULT_FILTERS = ("length:3:32", "dedupe", "copy:6", "repeat:3")


def parse_filters(specs: list[str]) -> list[FilterSpec]:
    """The CLI's --filter list: DEFAULT_FILTERS when empty, nothing for `none`."""
    if [x.strip() for x in specs] == ["none"]:
        return []
    return [parse_filter(f) for f in (specs or DEFAULT_FILTERS)]


def parse_filter(spec: str) -> FilterSpec:
    """Parse a filter spec string; raises ValueError listing the forms."""
    kind, _, rest = spec.strip().partition(":")
    try:
        if kind == "length":
            lo, _, hi = rest.partition(":")
            return FilterSpec("length", (int(lo or 3), int(hi or 32)))
        if kind == "dedupe" and not rest:
            return FilterSpec("dedupe")
        if kind == "copy":
            return FilterSpec("copy", (int(rest or 6),))
        if kind == "repeat" and int(rest or 3) >= 2:
            return FilterSpec("repeat", (int(rest or 3),))
        if kind == "score":
            frac = float(rest or 0.5)
            if 0 < frac <= 1:
                return FilterSpec("score", (frac,))
        if kind == "roundtrip":
            k, _, retr = rest.partition(":")
            return FilterSpec("roundtrip", (int(k or 3), retr or "bm25"))
        if kind == "rerank":
            n, _, model = rest.partition(":")
            if model:
                return FilterSpec("rerank", (float(n) if float(n) < 1 else int(n), model))
    except ValueError:
        pass
    raise ValueError(f"bad filter '{spec}' (forms: {FORMS})")
