"""Retriever spec strings: `bm25`, `dense:minilm`, `dense:mpnet`, `dense:PATH`, `dense:HUB_ID`, parsed once
into a RetrieverSpec; str() gives the spec string back."""

from __future__ import annotations

from dataclasses import dataclass

from hardneg.retrieve.base import Retriever

KINDS = ("bm25", "dense")
FORMS = "bm25, dense:minilm, dense:mpnet, dense:PATH, dense:HUB_ID"
BM25_OPTS = {"k1", "b", "method", "stemmer", "stopwords", "name", "show_progress"}
DENSE_OPTS = {"query_prompt", "doc_prompt", "batch_size", "backend", "search", "normalize", "name", "faiss",
              "show_progress", "device", "precision", "min_overlap"}


@dataclass(frozen=True)
class RetrieverSpec:
    """kind: bm25 or dense; model: the dense model (minilm, mpnet, a path or a hub id; "" for bm25); options:
    (name, value) pairs for the retriever's constructor, set from Python only (the string form has none)."""

    kind: str
    model: str = ""
    options: tuple = ()

    @classmethod
    def parse(cls, spec: "str | RetrieverSpec") -> "RetrieverSpec":
        """`dense:minilm` -> RetrieverSpec('dense', 'minilm'); ValueError naming the valid forms."""
        if isinstance(spec, RetrieverSpec):
            return spec
        text = (spec or "").strip()
        kind, _, arg = text.partition(":")
        if (kind == "bm25" and not arg) or (kind == "dense" and arg.strip()):
            return cls(kind, arg.strip())
        raise ValueError(f"bad retriever spec '{text}' (valid forms: {FORMS})")

    def __str__(self) -> str:
        return self.kind if self.kind == "bm25" else f"{self.kind}:{self.model}"


def parse_retriever(spec: "str | RetrieverSpec") -> RetrieverSpec:
    """The RetrieverSpec of a spec string (a RetrieverSpec is returned as is); ValueError naming the forms."""
    return RetrieverSpec.parse(spec)


def make_retriever(spec: "str | RetrieverSpec", **opts) -> Retriever:
    """Build a retriever from its spec; options that do not apply to its kind are ignored (None too).

    The spec's own options come first; keyword options override them.
    """
    spec = parse_retriever(spec)
    opts = {k: v for k, v in {**dict(spec.options), **opts}.items() if v is not None}
    if spec.kind == "bm25":
        from hardneg.retrieve.bm25 import BM25Retriever

        return BM25Retriever(**{k: v for k, v in opts.items() if k in BM25_OPTS})
    from hardneg.retrieve.dense import DenseRetriever

    return DenseRetriever(spec.model, **{k: v for k, v in opts.items() if k in DENSE_OPTS})
