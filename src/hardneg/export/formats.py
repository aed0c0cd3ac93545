"""Tables for each trainer format. Each builder returns (loss-ready table, full table with ids and scores).

The loss-ready tables have exactly the columns `sentence_transformers.util.mine_hard_negatives` produces for a
(query, positive) dataset, because sentence-transformers trains on every non-label column: ids would be read as text.
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa

from hardneg.types import Mined

log = logging.getLogger(__name__)
MARGIN_HELP = "marginmse labels come from a judge: pass --margin-judge teacher:mpnet or cross-encoder:PATH"


def _num(x: np.ndarray) -> pa.Array:
    """float32 scores with NaN/inf written as null: no export holds a non-finite number."""
    x = np.asarray(x, dtype=np.float32)
    return pa.array(x, type=pa.float32(), mask=~np.isfinite(x))


def _list(offsets: np.ndarray, values: list, typ) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), pa.array(values, type=typ))


def _pairs(m: Mined) -> tuple[np.ndarray, np.ndarray]:
    """(query index, positive column) of every real positive, query-major."""
    return np.nonzero(m.pos_rows >= 0)


def triplet(m: Mined) -> tuple[pa.Table, pa.Table]:
    """One row per (query, positive, negative): query, positive, negative."""
    ok = (m.pos_rows >= 0)[:, :, None] & (m.neg_rows >= 0)[:, None, :]
    qi, pj, nj = np.nonzero(ok)
    pr, nr = m.pos_rows[qi, pj], m.neg_rows[qi, nj]
    base = {"query": m.queries(qi), "positive": m.texts(pr), "negative": m.texts(nr)}
    full = {"query_id": m.qids(qi), "pos_id": m.dids(pr), "neg_id": m.dids(nr), **base,
            "pos_score": _num(m.pos_scores[qi, pj]), "neg_score": _num(m.neg_scores[qi, nj])}
    return pa.table(base), pa.table(full)


def margin_mse(m: Mined) -> tuple[pa.Table, pa.Table]:
    """Triplets with label = judge(pos) - judge(neg) (MarginMSELoss, in the judge's units); the full table names
    the judge. Pairs whose margin is not finite (a score missing) are left out and counted in the log."""
    if m.judge_pos is None or m.judge_neg is None:
        raise ValueError(MARGIN_HELP)
    ok = (m.pos_rows >= 0)[:, :, None] & (m.neg_rows >= 0)[:, None, :]
    margin_all = m.judge_pos[:, :, None].astype(np.float64) - m.judge_neg[:, None, :]
    fin = np.isfinite(margin_all)
    if (ok & ~fin).any():
        log.warning("marginmse: %d pairs without a finite %s margin left out", int((ok & ~fin).sum()), m.judge)
    qi, pj, nj = np.nonzero(ok & fin)
    pr, nr = m.pos_rows[qi, pj], m.neg_rows[qi, nj]
    margin = margin_all[qi, pj, nj].astype(np.float32)
    base = pa.table({"query": m.queries(qi), "positive": m.texts(pr), "negative": m.texts(nr), "label": margin})
    full = pa.table({"query_id": m.qids(qi), "pos_id": m.dids(pr), "neg_id": m.dids(nr), "query": base["query"],
                     "positive": base["positive"], "negative": base["negative"],
                     "pos_score": _num(m.judge_pos[qi, pj]), "neg_score": _num(m.judge_neg[qi, nj]),
                     "margin": margin, "scorer": pa.array([m.judge] * len(qi), pa.string())})
    return base, full


def n_tuple(m: Mined) -> tuple[pa.Table, pa.Table]:
    """One row per (query, positive) holding all N negatives: query, positive, negative_1..negative_N.

    Queries with fewer than N negatives have no row here (as in sentence-transformers).
    """
    full_q = (m.neg_rows >= 0).all(axis=1)
    ok = (m.pos_rows >= 0) & full_q[:, None]
    qi, pj = np.nonzero(ok)
    pr = m.pos_rows[qi, pj]
    negs = m.neg_rows[qi]
    base = {"query": m.queries(qi), "positive": m.texts(pr)}
    for j in range(m.neg_rows.shape[1]):
        base[f"negative_{j + 1}"] = m.texts(negs[:, j])
    n = m.neg_rows.shape[1]
    offs = np.arange(len(qi) + 1) * n
    full = {"query_id": m.qids(qi), "pos_id": m.dids(pr),
            "neg_ids": _list(offs, m.dids(negs.ravel()), pa.string()), **base,
            "pos_score": _num(m.pos_scores[qi, pj]),
            "neg_scores": pa.ListArray.from_arrays(pa.array(offs, type=pa.int32()), _num(m.neg_scores[qi].ravel()))}
    return pa.table(base), pa.table(full)


def labeled_pair(m: Mined) -> tuple[pa.Table, pa.Table]:
    """Per query its positives (label 1) then its negatives (label 0): query, positive, label."""
    rows = np.concatenate([m.pos_rows, m.neg_rows], axis=1)
    scores = np.concatenate([m.pos_scores, m.neg_scores], axis=1)
    labels = np.concatenate([np.ones_like(m.pos_rows), np.zeros_like(m.neg_rows)], axis=1)
    qi, cj = np.nonzero(rows >= 0)
    r = rows[qi, cj]
    base = {"query": m.queries(qi), "positive": m.texts(r), "label": labels[qi, cj].astype(np.int64)}
    full = {"query_id": m.qids(qi), "doc_id": m.dids(r), **base, "score": _num(scores[qi, cj])}
    return pa.table(base), pa.table(full)


def labeled_list(m: Mined) -> tuple[pa.Table, pa.Table]:
    """One row per (query, positive): query, positive = [positive, negatives...], labels = [1, 0, ...]."""
    qi, pj = _pairs(m)
    has = (m.neg_rows[qi] >= 0).any(axis=1)
    qi, pj = qi[has], pj[has]
    rows = np.concatenate([m.pos_rows[qi, pj][:, None], m.neg_rows[qi]], axis=1)
    scores = np.concatenate([m.pos_scores[qi, pj][:, None], m.neg_scores[qi]], axis=1)
    lab = np.zeros(rows.shape, dtype=np.int64)
    lab[:, 0] = 1
    ok = rows >= 0
    offs = np.concatenate([[0], np.cumsum(ok.sum(axis=1))])
    flat = rows[ok]
    base = {"query": m.queries(qi), "positive": _list(offs, m.texts(flat), pa.string()),
            "labels": _list(offs, lab[ok], pa.int64())}
    full = {"query_id": m.qids(qi), "doc_ids": _list(offs, m.dids(flat), pa.string()), **base,
            "scores": pa.ListArray.from_arrays(pa.array(offs, type=pa.int32()), _num(scores[ok]))}
    return pa.table(base), pa.table(full)


ST_FORMATS = {"triplet": triplet, "n-tuple": n_tuple, "labeled-pair": labeled_pair, "labeled-list": labeled_list,
              "marginmse": margin_mse}


def _floats(x: np.ndarray) -> list:
    return [round(float(v), 6) if np.isfinite(v) else None for v in x]


def flag_rows(m: Mined):
    """FlagEmbedding JSONL rows (query, pos, neg, pos_scores, neg_scores, prompt) plus ids; queries without negatives skipped."""
    for i in range(len(m.query_ids)):
        p = m.pos_rows[i][m.pos_rows[i] >= 0]
        nmask = m.neg_rows[i] >= 0
        if not nmask.any() or not len(p):
            continue
        n = m.neg_rows[i][nmask]
        yield {"query": m.query_texts[i], "pos": m.texts(p), "neg": m.texts(n),
               "pos_scores": _floats(m.pos_scores[i][m.pos_rows[i] >= 0]), "neg_scores": _floats(m.neg_scores[i][nmask]),
               "prompt": m.prompt, "query_id": m.query_ids[i], "pos_ids": m.dids(p), "neg_ids": m.dids(n)}
