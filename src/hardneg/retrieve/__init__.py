"""Retrievers behind one contract (base.Retriever): BM25, dense bi-encoders, fusion, exact top-k."""

from hardneg.retrieve.base import Retriever
from hardneg.types import Run
from hardneg.retrieve.bm25 import BM25Retriever
from hardneg.retrieve.cache import CacheStats, encode_cached
from hardneg.retrieve.dense import DenseRetriever
from hardneg.retrieve.fusion import FusedRun, fuse
from hardneg.retrieve.spec import make_retriever
from hardneg.retrieve.topk import exact_topk, merge_topk

__all__ = ["BM25Retriever", "CacheStats", "DenseRetriever", "FusedRun", "Retriever", "Run", "encode_cached",
           "exact_topk", "fuse", "make_retriever", "merge_topk"]
