"""Keep/drop rules over judge scores: pure numpy over [Q, K] arrays, no I/O.

A NaN score means "not judged" (or a malformed LLM reply): it never votes to drop.
"""

from __future__ import annotations

import numpy as np

from hardneg.select.rules import positive_score
from hardneg.validate.spec import RuleSpec


def positive_reference(pos_scores: np.ndarray, agg: str = "min") -> np.ndarray:
    """float32 [Q]: one positive score per query from [Q, P] (NaN = padding), by min, mean or max."""
    pos = np.asarray(pos_scores, dtype=np.float32)
    return pos if pos.ndim == 1 else positive_score(pos, agg)


def threshold(rule: RuleSpec, pos_ref: np.ndarray) -> np.ndarray:
    """float32 [Q]: the score above which a negative is dropped.

    perc:p   -> s_pos - |s_pos| * (1 - p)  (= p * s_pos for positive scores, sign-safe as in ST #3819)
    margin:m -> s_pos - m (NV-Retriever TopK-MarginPos);  abs:t -> t.
    """
    pos_ref = np.asarray(pos_ref, dtype=np.float32)
    if rule.kind == "abs":
        return np.full(pos_ref.shape, rule.value, dtype=np.float32)
    if rule.kind == "perc":
        return (pos_ref - np.abs(pos_ref) * np.float32(1.0 - rule.value)).astype(np.float32)
    if rule.kind == "margin":
        return (pos_ref - np.float32(rule.value)).astype(np.float32)
    raise ValueError(f"unknown rule kind '{rule.kind}'")


def drop_mask(neg_scores: np.ndarray, pos_scores: np.ndarray, rule: RuleSpec, pos_agg: str = "min"
              ) -> np.ndarray:
    """bool [Q, K]: True where `rule` drops the negative. A query without positive score drops nothing
    under relative rules; NaN negative scores never drop. `pos_agg` applies when the rule names none."""
    neg = np.asarray(neg_scores, dtype=np.float32)
    thr = threshold(rule, positive_reference(pos_scores, rule.pos_agg or pos_agg))
    with np.errstate(invalid="ignore"):
        return np.asarray(neg > thr[:, None]) & ~np.isnan(neg) & ~np.isnan(thr)[:, None]


def statistic(kind: str, neg_scores: np.ndarray, pos_ref: np.ndarray) -> np.ndarray:
    """float32 [Q, K] x such that a rule of this kind drops where x > theta(value): abs -> s; margin -> s - s_pos;
    perc -> (s - s_pos) / |s_pos| (a fraction of the positive's score). NaN where either score is NaN."""
    neg = np.asarray(neg_scores, dtype=np.float32)
    if kind == "abs":
        return neg
    ref = np.asarray(pos_ref, dtype=np.float32)[:, None]
    with np.errstate(all="ignore"):
        x = neg - ref if kind == "margin" else (neg - ref) / np.abs(ref)
    return x.astype(np.float32)


def theta(kind: str, value: float) -> float:
    """The cut on statistic() that a rule value means: abs t -> t; margin m -> -m; perc p -> p - 1."""
    return {"abs": value, "margin": -value, "perc": value - 1.0}[kind]


def rule_value(kind: str, cut: float) -> float:
    """Inverse of theta(): the rule value whose cut on statistic() is `cut`."""
    return {"abs": cut, "margin": -cut, "perc": cut + 1.0}[kind]


def excess(neg_scores: np.ndarray, pos_scores: np.ndarray, rule: RuleSpec, pos_agg: str = "min") -> np.ndarray:
    """float32 [Q, K]: how far each score lies above the rule's cut, in the rule's units (perc: a fraction of the
    positive's score; margin/abs: judge score units). > 0 drops; NaN = no score or no positive reference."""
    ref = positive_reference(pos_scores, rule.pos_agg or pos_agg)
    return statistic(rule.kind, neg_scores, ref) - np.float32(theta(rule.kind, rule.value))


def uncertain(neg_scores: np.ndarray, pos_scores: np.ndarray, rules: list[RuleSpec], band: float,
              pos_agg: str = "min") -> np.ndarray:
    """bool [Q, K]: cells within `band` (rule units) of any rule's cut, or without a score: a cascade passes
    these on to the next judge."""
    out = np.zeros(np.shape(neg_scores), dtype=bool)
    for r in rules:
        e = excess(neg_scores, pos_scores, r, pos_agg)
        with np.errstate(invalid="ignore"):
            out |= np.isnan(e) | (np.abs(e) <= band)
    return out


def combine(votes: np.ndarray, judged: np.ndarray, how: str = "any") -> np.ndarray:
    """bool [Q, K] from per-judge drop votes [J, Q, K] and judged masks [J, Q, K].

    any: some judge drops; all: every judge that judged drops; majority: more than half of those that judged.
    """
    votes = np.asarray(votes, dtype=bool) & np.asarray(judged, dtype=bool)
    n_judged = np.asarray(judged, dtype=bool).sum(axis=0)
    n_drop = votes.sum(axis=0)
    if how == "any":
        return n_drop > 0
    if how == "all":
        return (n_drop == n_judged) & (n_judged > 0)
    if how == "majority":
        return 2 * n_drop > n_judged
    raise ValueError(f"combine must be any, all or majority, not '{how}'")


def first_n(keep: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first n True columns of each row of keep [Q, K], in column order.

    Returns (cols int64 [Q, n], -1 = short) and (selected bool [Q, K]).
    """
    keep = np.asarray(keep, dtype=bool)
    q, k = keep.shape
    selected = keep & (np.cumsum(keep, axis=1) <= n)
    order = np.argsort(~selected, axis=1, kind="stable")[:, :n]  # selected columns first, in rank order
    cols = np.where(np.take_along_axis(selected, order, axis=1), order, -1).astype(np.int64)
    if cols.shape[1] < n:
        cols = np.concatenate([cols, np.full((q, n - cols.shape[1]), -1, np.int64)], axis=1)
    return cols, selected
