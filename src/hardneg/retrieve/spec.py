"""Retriever spec strings: `bm25`, `dense:minilm`, `dense:mpnet`, `dense:PATH`, `dense:HUB_ID`."""

from __future__ import annotations

from hardneg.retrieve.base import Retriever

FORMS = "bm25, dense:minilm, dense:mpnet, dense:PATH, dense:HUB_ID"
BM25_OPTS = {"k1", "b", "method", "stemmer", "stopwords", "name", "show_progress"}
DENSE_OPTS = {"query_prompt", "doc_prompt", "batch_size", "backend", "search", "normalize", "name", "faiss",
              "show_progress", "device", "precision", "min_overlap"}


def parse_retriever(spec: str) -> tuple[str, str]:
    """(kind, argument) of a retriever spec, e.g. ("dense", "minilm"); ValueError naming the valid forms."""
    spec = (spec or "").strip()
    kind, _, arg = spec.partition(":")
    if (kind == "bm25" and not arg) or (kind == "dense" and arg.strip()):
        return kind, arg.strip()
    raise ValueError(f"bad retriever spec '{spec}' (valid forms: {FORMS})")


def make_retriever(spec: str, **opts) -> Retriever:
    """Build a retriever from its spec; options that do not apply to its kind are ignored (None too)."""
    kind, arg = parse_retriever(spec)
    opts = {k: v for k, v in opts.items() if v is not None}
    if kind == "bm25":
        from hardneg.retrieve.bm25 import BM25Retriever

        return BM25Retriever(**{k: v for k, v in opts.items() if k in BM25_OPTS})
    from hardneg.retrieve.dense import DenseRetriever

    return DenseRetriever(arg, **{k: v for k, v in opts.items() if k in DENSE_OPTS})
