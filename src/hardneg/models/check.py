"""Check before trust: a reduced precision is used only if it ranks a fixed sample like fp32 does.

The first time a model runs at a precision, a sample is scored at fp32 and at that precision:
bi-encoders compare embeddings (min cosine between the two embeddings of one text) and the top-10
documents each query retrieves; cross-encoders compare scores (max absolute difference) and the top-10
pairs by score. Both runs are timed too (`speedup`: fp32 seconds / reduced seconds, wall clock, after a
warm-up). The numbers are kept in cache_dir("precision") so later runs reuse them; below `min_overlap`
(default 0.95 top-10 overlap) the caller falls back to fp32 with a one-line warning. A precision that `auto`
chose must also be faster: below `min_speedup` (default 1.1) it falls back to fp32 with one info line.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Callable

import numpy as np

from hardneg.paths import cache_dir

log = logging.getLogger(__name__)
MIN_OVERLAP = 0.95
MIN_SPEEDUP = 1.1
SAMPLE_DOCS, SAMPLE_QUERIES, K = 256, 64, 10


def min_overlap_default() -> float:
    """HARDNEG_PRECISION_MIN_OVERLAP if set, else 0.95."""
    return float(os.environ.get("HARDNEG_PRECISION_MIN_OVERLAP") or MIN_OVERLAP)


def min_speedup_default() -> float:
    """HARDNEG_PRECISION_MIN_SPEEDUP if set, else 1.1 (the speed-up `auto` asks of a reduced precision)."""
    return float(os.environ.get("HARDNEG_PRECISION_MIN_SPEEDUP") or MIN_SPEEDUP)


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    """(fn(), wall seconds)."""
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def sample(texts: list[str], n: int, offset: int = 0) -> list[str]:
    """Up to n texts at evenly spaced rows (deterministic), starting `offset` rows in."""
    if not texts:
        return []
    idx = np.unique((np.linspace(0, len(texts) - 1, min(n, len(texts))).astype(np.int64) + offset) % len(texts))
    return [texts[i] for i in idx]


def pseudo_queries(texts: list[str], n: int, words: int = 12) -> list[str]:
    """Queries made of the first `words` words of sampled texts (when no real queries are at hand)."""
    return [" ".join(t.split()[:words]) for t in sample(texts, n, offset=1)]


def top_overlap(ref: np.ndarray, cand: np.ndarray, k: int = K) -> float:
    """Mean share of each row's top-k columns (by ref scores) that are also top-k by cand scores."""
    k = min(k, ref.shape[1])
    a = np.argsort(-ref, axis=1, kind="stable")[:, :k]
    b = np.argsort(-cand, axis=1, kind="stable")[:, :k]
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b)]))


def encoder_agreement(ref, cand, docs: list[str], queries: list[str], batch_size: int = 32) -> dict:
    """min_cosine (same text, fp32 vs reduced embedding), top10_overlap of retrieved docs per query and
    speedup (fp32 seconds / reduced seconds to encode the sample)."""
    def enc(m, texts):
        return np.asarray(m.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                                   show_progress_bar=False), dtype=np.float32)

    enc(ref, docs[:4]), enc(cand, docs[:4])  # warm-up
    (rd, rq), tr = timed(lambda: (enc(ref, docs), enc(ref, queries)))
    (cd, cq), tc = timed(lambda: (enc(cand, docs), enc(cand, queries)))
    cos = np.concatenate([np.sum(rd * cd, 1), np.sum(rq * cq, 1)])
    return {"min_cosine": float(cos.min()), "top10_overlap": top_overlap(rq @ rd.T, cq @ cd.T),
            "speedup": tr / max(tc, 1e-9), "docs": len(docs), "queries": len(queries)}


def score_agreement(ref: np.ndarray, cand: np.ndarray) -> dict:
    """max_abs_diff of pair scores and the overlap of the top-10 pairs by score."""
    ref, cand = np.asarray(ref, np.float64).reshape(1, -1), np.asarray(cand, np.float64).reshape(1, -1)
    return {"max_abs_diff": float(np.max(np.abs(ref - cand))) if ref.size else 0.0,
            "top10_overlap": top_overlap(ref, cand) if ref.size else 1.0, "pairs": int(ref.size)}


def trusted(key: str, precision: str, measure: Callable[[], dict], min_overlap: float | None = None,
            min_speedup: float | None = None) -> bool:
    """Whether `precision` passes the check for the model `key` (and, with min_speedup, is that much faster
    than fp32); measures once, then reads the record."""
    if precision == "fp32":
        return True
    path = cache_dir("precision") / f"{key}-{precision}.json"
    if path.exists():
        rec = json.loads(path.read_text())
    else:
        from hardneg.data.jsonl import atomic_write

        rec = {"key": key, "precision": precision, **measure()}
        with atomic_write(path) as f:
            f.write(json.dumps(rec, indent=1))
    limit = min_overlap_default() if min_overlap is None else min_overlap
    extra = ", ".join(f"{k.replace('_', ' ')} {rec[k]:.4f}" for k in ("min_cosine", "max_abs_diff") if k in rec)
    speed = rec.get("speedup", float("nan"))
    if rec["top10_overlap"] >= limit and min_speedup is not None and not speed >= min_speedup:
        log.info("precision %s (auto) measured %.2fx fp32 speed on this CPU (< %.2fx): using fp32", precision,
                 speed, min_speedup)
        return False
    if rec["top10_overlap"] >= limit:
        log.info("precision %s checked against fp32: top-10 overlap %.4f, %s, %.2fx speed", precision,
                 rec["top10_overlap"], extra, speed)
        return True
    log.warning("precision %s failed the fp32 check (top-10 overlap %.4f < %.2f, %s): using fp32",
                precision, rec["top10_overlap"], limit, extra)
    return False


def _speed(model) -> float | None:
    """The speed-up asked of the model's precision: min_speedup_default() if `auto` chose it, else None."""
    return min_speedup_default() if getattr(model, "_hardneg_auto", False) else None


def checked_encoder(model, load: Callable[[str], object], docs: list[str], queries: list[str] | None = None,
                    batch_size: int = 32, min_overlap: float | None = None):
    """(model, precision): `model` if its precision passes the check on a sample of docs and queries
    (pseudo-queries from docs when None), else load("fp32")."""
    from hardneg.models.load import model_fingerprint

    precision = getattr(model, "_hardneg_precision", "fp32")
    if precision == "fp32":
        return model, precision
    qs = sample(queries, SAMPLE_QUERIES) if queries else pseudo_queries(docs, SAMPLE_QUERIES)
    key = f"bi-{model_fingerprint(model)}-{model.max_seq_length}"
    if trusted(key, precision, lambda: encoder_agreement(load("fp32"), model, sample(docs, SAMPLE_DOCS), qs,
                                                         batch_size), min_overlap, _speed(model)):
        return model, precision
    return load("fp32"), "fp32"


def checked_scorer(model, load: Callable[[str], object], queries: list[str], docs: list[str],
                   predict: Callable[[object, list[str], list[str]], np.ndarray], tag: str = "",
                   min_overlap: float | None = None):
    """(model, precision) for a pair scorer (cross-encoder): the check scores a sample of the pairs."""
    from hardneg.models.load import model_fingerprint

    precision = getattr(model, "_hardneg_precision", "fp32")
    if precision == "fp32":
        return model, precision
    idx = np.unique(np.linspace(0, len(queries) - 1, min(SAMPLE_DOCS, len(queries))).astype(np.int64))
    qs, ds = [queries[i] for i in idx], [docs[i] for i in idx]
    key = f"ce-{model_fingerprint(model)}-{tag}"

    def measure() -> dict:
        ref = load("fp32")
        predict(ref, qs[:4], ds[:4]), predict(model, qs[:4], ds[:4])  # warm-up
        (a, tr), (b, tc) = timed(lambda: predict(ref, qs, ds)), timed(lambda: predict(model, qs, ds))
        return {**score_agreement(a, b), "speedup": tr / max(tc, 1e-9)}

    if trusted(key, precision, measure, min_overlap, _speed(model)):
        return model, precision
    return load("fp32"), "fp32"
