"""Score rules over [Q, K] candidate arrays: NV-Retriever's TopK-Abs/MarginPos/PercPos and plain bounds."""

from __future__ import annotations

import numpy as np

from hardneg.select.spec import POS_SCORE, Strategy


def positive_score(pos_scores: np.ndarray, how: str = "min") -> np.ndarray:
    """float32 [Q]: one positive score per query from [Q, P] (NaN = padding); NaN where a query has none.

    `min` (default) is the safest for positive-aware rules: a negative must stay below the hardest positive.
    """
    if how not in POS_SCORE:
        raise ValueError(f"pos_score must be one of {', '.join(POS_SCORE)}, got '{how}'")
    p = np.asarray(pos_scores, dtype=np.float32)
    if p.shape[1] == 0:
        return np.full(p.shape[0], np.nan, dtype=np.float32)
    has = ~np.isnan(p).all(axis=1)
    out = np.full(p.shape[0], np.nan, dtype=np.float32)
    if has.any():
        fn = {"min": np.nanmin, "mean": np.nanmean, "max": np.nanmax}[how]
        out[has] = fn(p[has], axis=1)
    return out


def rule_masks(scores: np.ndarray, pos: np.ndarray, st: Strategy) -> list[tuple[str, np.ndarray]]:
    """(rule name, bool [Q, K] True = drop) for each active rule, in the order they apply.

    topk-abs:T drops s > T; topk-marginpos:M drops s > pos - M; topk-percpos:P drops s > pos - |pos| (1 - P)
    (= P x pos for positive scores, and still below the positive when the positive scores negative).
    A query whose positive score is NaN (no positive scored) is not cut by the positive-aware rules.
    """
    s = np.asarray(scores, dtype=np.float32)
    p = np.asarray(pos, dtype=np.float32)[:, None]
    out = []
    with np.errstate(invalid="ignore"):
        if st.abs_max is not None:
            out.append(("topk-abs", s > st.abs_max))
        if st.margin is not None:
            out.append(("topk-marginpos", s > p - np.float32(st.margin)))
        if st.perc is not None:
            out.append(("topk-percpos", s > p - np.abs(p) * np.float32(1.0 - st.perc)))
        if st.max_score is not None:
            out.append(("max-score", s > st.max_score))
        if st.min_score is not None:
            out.append(("min-score", s < st.min_score))
    return out


def apply_rules(keep: np.ndarray, scores: np.ndarray, pos: np.ndarray, st: Strategy) -> dict[str, int]:
    """Clear `keep` (bool [Q, K], in place) where a rule drops a candidate; count per rule what it newly dropped."""
    skipped = {}
    for name, drop in rule_masks(scores, pos, st):
        hit = keep & drop
        skipped[name] = int(hit.sum())
        keep &= ~hit
    return skipped


def later_duplicates(groups: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """bool [Q, K]: True for kept candidates whose text group already appeared earlier (better rank) in the row."""
    q, k = groups.shape
    if k < 2:
        return np.zeros_like(keep)
    g = np.where(keep, groups, -1 - np.arange(k, dtype=np.int64)[None, :])  # dropped ones never collide
    order = np.argsort(g, axis=1, kind="stable")  # equal groups stay in rank order
    sg = np.take_along_axis(g, order, axis=1)
    later = np.zeros((q, k), dtype=bool)
    later[:, 1:] = sg[:, 1:] == sg[:, :-1]
    dup = np.zeros((q, k), dtype=bool)
    np.put_along_axis(dup, order, later, axis=1)
    return dup & keep
