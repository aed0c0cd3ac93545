"""Calibrate each judge's rule to a target false-negative rate on the run's own data.

Labels come from queries with two or more positives (the first is kept as the positive, the others are put
back among the candidates at their miner rank as known false negatives), or from reviewed labels
{(query_id, doc_id): relevant}. The numbers are computed by hardneg.validate.calibrate (pure numpy).
"""

from __future__ import annotations

import logging
from typing import Callable

import numpy as np

from hardneg.types import Dataset
from hardneg.types import Candidates
from hardneg.validate import rules as R
from hardneg.validate.calibrate import calibrate, merge_hidden
from hardneg.validate.spec import RuleSpec

log = logging.getLogger(__name__)


def review_labels(labels: dict, cand: Candidates, doc_ids: list[str], depth: int) -> np.ndarray:
    """int8 [Q, depth]: 1 relevant, 0 not relevant, -1 unreviewed, for the first `depth` candidate columns."""
    qpos = {q: i for i, q in enumerate(cand.query_ids)}
    rows = cand.rows[:, :depth]
    out = np.full(rows.shape, -1, np.int8)
    did = np.asarray(doc_ids, dtype=object)
    for (q, d), rel in labels.items():
        i = qpos.get(q)
        if i is None:
            continue
        hit = (rows[i] >= 0) & (did[np.maximum(rows[i], 0)] == d)
        out[i, hit] = 1 if rel else 0
    return out


def fn_by_rank(labels: np.ndarray, valid: np.ndarray) -> list[float]:
    """Share of labelled candidates at each miner position that are relevant (the estimated false-negative
    rate by rank), over the calibration queries."""
    lab = valid & (labels >= 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = ((labels == 1) & lab).sum(0) / lab.sum(0)
    return [round(float(x), 4) if np.isfinite(x) else 0.0 for x in r]


def tune_rules(js: list, rule_map: dict[str, list[RuleSpec]], cand: Candidates, ds: Dataset,
               pos: dict[str, np.ndarray], score: Callable, scores: dict[str, np.ndarray], n: int,
               target: float, pos_agg: str = "min", labels: dict | None = None, depth: int | None = None
               ) -> tuple[dict[str, list[RuleSpec]], dict[str, dict]]:
    """New rule map with each judge's first rule value calibrated (others unchanged when calibration cannot
    decide), and {judge: calibration summary with its curve}. `score(judge, qi, ci)` fills scores[judge]."""
    if not 0.0 < target < 1.0:
        raise ValueError(f"target false-negative rate must be in (0, 1), not {target}")
    k = cand.rows.shape[1]
    d = min(k, depth or 3 * n)
    if labels is not None:
        lab = review_labels(labels, cand, ds.corpus.ids, d)
        cal = np.nonzero((lab >= 0).any(axis=1))[0]
        source = "review labels"
    else:
        cal = np.nonzero((cand.pos_rows >= 0).sum(axis=1) >= 2)[0]
        source = "held-out extra positives"
    out_map, out = dict(rule_map), {}
    qi, ci = np.nonzero(cand.valid[cal, :d])
    qi = cal[qi]
    for j in js:
        first = rule_map[j.name][0]
        if j.compares == "positives":
            out[j.name] = {"judge": j.name, "kind": first.kind, "value": None, "source": source,
                           "reason": "near-duplicate judges keep their similarity threshold"}
            continue
        if len(cal):
            score(j, qi, ci)
        s = scores[j.name][cal, :d]
        if labels is not None:
            ref = R.positive_reference(pos[j.name][cal], first.pos_agg or pos_agg)
            x, lb, valid = R.statistic(first.kind, s, ref), lab[cal], cand.valid[cal, :d]
        else:
            ref = R.positive_reference(pos[j.name][cal, :1], "min")  # the kept positive only
            hid = cand.pos_rows[cal, 1:] >= 0
            x, lb, valid = merge_hidden(cand.scores[cal, :d], R.statistic(first.kind, s, ref),
                                        np.where(hid, cand.pos_scores[cal, 1:], np.nan),
                                        R.statistic(first.kind, pos[j.name][cal, 1:], ref))
        c = calibrate(j.name, first.kind, x, lb, valid, n, target)
        out[j.name] = c.to_dict(R.rule_value) | {"source": source, "target_fn_rate": target,
                                                   "default": first.label(), "fn_by_rank": fn_by_rank(lb, valid)}
        (log.info if c.cut is not None else log.warning)("calibration of %s (%s): %s", j.name, source, c.reason)
        if c.cut is not None:
            v = R.rule_value(first.kind, c.cut)
            new = RuleSpec(first.kind, float(v), first.pos_agg, first.judge, f"{first.kind}:{v:.4g}")
            out_map[j.name] = [new] + list(rule_map[j.name][1:])
    return out_map, out
