"""Calibrate each judge's rule to a target false-negative rate on the run's own data.

Labels come from queries with two or more positives (each keeps one positive in turn, the others are put
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
from hardneg.validate.calibrate import calibrate, calibrate_relabel, merge_hidden
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


def fn_by_rank(labels: np.ndarray, valid: np.ndarray, weights: np.ndarray | None = None) -> list[float]:
    """Share of labelled candidates at each miner position that are relevant (the estimated false-negative
    rate by rank), over the calibration queries (rows weighed by `weights`)."""
    lab = valid & (labels >= 0)
    w = np.ones(len(labels)) if weights is None else weights
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (w @ ((labels == 1) & lab)) / (w @ lab)
    return [round(float(x), 4) if np.isfinite(x) else 0.0 for x in r]


def rotations(pos_rows: np.ndarray, cal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep one positive, hide the rest, over the calibration queries: (query index [R], hidden bool [R, P]), one
    row per (query, kept positive). A query with one known positive is the case where unlabelled relevant
    documents hide among the negatives; with two positives this is leave-one-out."""
    valid = pos_rows[cal] >= 0
    ri, pj = np.nonzero(valid)
    hid = valid[ri].copy()
    hid[np.arange(len(ri)), pj] = False
    return cal[ri], hid


def labelled(kind: str, agg: str, s: np.ndarray, pos: np.ndarray, cand: Candidates, cal: np.ndarray, d: int,
             lab: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, labels, valid, weights) for calibration: the rule statistic of the judge scores `s` [Q, K] against
    the positive reference validation would use (`agg` over the positives the query keeps).

    With review labels `lab`, every positive is kept; otherwise each calibration query keeps one positive in turn
    (rotations()) and its other positives go back among the candidates at their miner rank as known false
    negatives. Each row weighs 1 / (the query's rows), so that every query counts once, as it does when mined:
    without it a query with P positives would count P times, with P - 1 hidden positives each time.
    """
    if lab is not None:
        x = R.statistic(kind, s[cal, :d], R.positive_reference(pos[cal], agg))
        return x, lab[cal], cand.valid[cal, :d], np.ones(len(cal))
    rq, hid = rotations(cand.pos_rows, cal)
    with np.errstate(all="ignore"):
        ref = R.positive_reference(np.where(hid, np.nan, pos[rq]), agg)  # the positives the query keeps
    x, lb, valid = merge_hidden(cand.scores[rq, :d], R.statistic(kind, s[rq, :d], ref),
                                np.where(hid & (cand.pos_rows[rq] >= 0), cand.pos_scores[rq], np.nan),
                                R.statistic(kind, np.where(hid, pos[rq], np.nan), ref))
    _, inv, cnt = np.unique(rq, return_inverse=True, return_counts=True)
    return x, lb, valid, 1.0 / cnt[inv]


def _setup(cand: Candidates, ds: Dataset, n: int, labels: dict | None, depth: int | None):
    # every candidate by default: the refill draws from all of them, so the curve's coverage must too
    d = min(cand.rows.shape[1], depth or cand.rows.shape[1])
    if labels is not None:
        lab = review_labels(labels, cand, ds.corpus.ids, d)
        return d, lab, np.nonzero((lab >= 0).any(axis=1))[0], "review labels"
    return d, None, np.nonzero((cand.pos_rows >= 0).sum(axis=1) >= 2)[0], "held-out extra positives"


def tune_rules(js: list, rule_map: dict[str, list[RuleSpec]], cand: Candidates, ds: Dataset,
               pos: dict[str, np.ndarray], score: Callable, scores: dict[str, np.ndarray], n: int,
               target: float, pos_agg: str = "min", labels: dict | None = None, depth: int | None = None
               ) -> tuple[dict[str, list[RuleSpec]], dict[str, dict]]:
    """New rule map with each judge's first rule value calibrated (others unchanged when calibration cannot
    decide), and {judge: calibration summary with its curve}. `score(judge, qi, ci)` fills scores[judge]."""
    if not 0.0 < target < 1.0:
        raise ValueError(f"target false-negative rate must be in (0, 1), not {target}")
    d, lab, cal, source = _setup(cand, ds, n, labels, depth)
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
        x, lb, valid, w = labelled(first.kind, first.pos_agg or pos_agg, scores[j.name], pos[j.name], cand, cal, d,
                                   lab)
        c = calibrate(j.name, first.kind, x, lb, valid, n, target, queries=len(cal), weights=w)
        out[j.name] = c.to_dict(R.rule_value) | {"source": source, "target_fn_rate": target,
                                                   "default": first.label(), "fn_by_rank": fn_by_rank(lb, valid, w)}
        (log.info if c.cut is not None else log.warning)("calibration of %s (%s): %s", j.name, source, c.reason)
        if c.cut is not None:
            v = R.rule_value(first.kind, c.cut)
            new = RuleSpec(first.kind, float(v), first.pos_agg, first.judge, f"{first.kind}:{v:.4g}")
            out_map[j.name] = [new] + list(rule_map[j.name][1:])
    return out_map, out


def tune_relabel(js: list, rule_map: dict[str, list[RuleSpec]], relabels: dict[str, RuleSpec], cand: Candidates,
                 ds: Dataset, pos: dict[str, np.ndarray], scores: dict[str, np.ndarray], n: int, target: float,
                 pos_agg: str = "min", labels: dict | None = None, depth: int | None = None
                 ) -> tuple[dict[str, RuleSpec], dict[str, dict]]:
    """Each judge's relabel rule calibrated to a relabel precision `target` on the labels tune_rules used (its
    scores already filled): the loosest cut at or above the default relabel rule's (the known positive's level)
    whose relabelled labelled candidates are relevant at that precision; none precise enough -> relabel nothing.
    """
    if not 0.0 < target <= 1.0:
        raise ValueError(f"relabel precision must be in (0, 1], not {target}")
    d, lab, cal, source = _setup(cand, ds, n, labels, depth)
    out, summ = dict(relabels), {}
    for j in js:
        rule = relabels[j.name]
        if j.compares == "positives" or not len(cal):
            continue
        x, lb, valid, w = labelled(rule.kind, rule.pos_agg or pos_agg, scores[j.name], pos[j.name], cand, cal, d,
                                   lab)
        floor = R.theta(rule.kind, rule.value)
        if rule.kind == "abs":
            floor = max(floor, R.theta("abs", rule_map[j.name][0].value))
        c = calibrate_relabel(j.name, rule.kind, x, lb, valid, target, floor, weights=w)
        v = R.rule_value(rule.kind, c.cut)
        out[j.name] = RuleSpec(rule.kind, float(v), rule.pos_agg, rule.judge, f"{rule.kind}:{v:.4g}")
        summ[j.name] = {"value": None if not np.isfinite(v) else round(float(v), 6), "reason": c.reason,
                        "source": source, "default": rule.label()} | c.extra
        log.info("relabel calibration of %s: %s", j.name, c.reason)
    return out, summ
