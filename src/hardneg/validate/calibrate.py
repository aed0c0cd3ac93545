"""Calibration: choose a judge's rule value from labelled candidates so that a target false-negative rate holds.

Pure numpy. Inputs are a rule statistic x [Q, K] per candidate (see rules.statistic: a rule drops where x > cut),
labels [Q, K] (1 = relevant, i.e. a false negative if kept; 0 = not relevant; -1 = unknown) and the candidates'
validity, in miner order. For each cut the first N kept candidates of each query are what would be exported;
the curve gives their false-negative rate (relevant share among the labelled ones), the share of queries that
keep N negatives (coverage) and their mean miner position (1 = hardest). Optional row weights [Q] let a query
that appears in several rows (one per held-out positive) count once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MIN_POSITIVES = 10  # labelled relevant candidates needed to calibrate
MIN_QUERIES = 10
MIN_COVERAGE = 0.5  # a cut leaving fewer queries full is no answer: the target counts as out of reach


@dataclass
class Curve:
    """One row per cut (ascending): fn_rate, coverage (share of queries full), mean_rank, labelled (count)."""

    cuts: np.ndarray
    fn_rate: np.ndarray
    coverage: np.ndarray
    mean_rank: np.ndarray
    labelled: np.ndarray


@dataclass
class Calibration:
    """The outcome for one judge: `cut` (None = fell back to the default rule) and why."""

    judge: str
    kind: str
    cut: float | None
    reason: str
    queries: int = 0
    positives: int = 0
    curve: Curve | None = None
    index: int = -1
    extra: dict = field(default_factory=dict)

    def to_dict(self, value_of=None) -> dict:
        """JSON-ready; `value_of(kind, cut)` converts cuts to rule values (rules.rule_value)."""
        conv = (lambda c: value_of(self.kind, c)) if value_of else (lambda c: c)
        out = {"judge": self.judge, "kind": self.kind, "reason": self.reason, "queries": self.queries,
               "positives": self.positives, "value": None if self.cut is None else round(float(conv(self.cut)), 6)}
        if self.curve is not None:
            c = self.curve
            fin = np.isfinite(c.cuts)
            out["curve"] = {"value": [round(float(conv(x)), 6) if f else None for x, f in zip(c.cuts, fin)],
                            "fn_rate": [round(float(x), 6) for x in c.fn_rate],
                            "coverage": [round(float(x), 6) for x in c.coverage],
                            "mean_rank": [round(float(x), 4) for x in c.mean_rank],
                            "labelled": [int(x) for x in c.labelled]}
        return out | self.extra


def candidate_cuts(x: np.ndarray, labels: np.ndarray, valid: np.ndarray, grid: int = 64) -> np.ndarray:
    """Ascending cuts: just below each relevant candidate's x (the cut that first drops it), quantiles of all
    x, and +inf (drop nothing)."""
    ok = valid & ~np.isnan(x)
    rel = np.unique(x[ok & (labels == 1)])
    below = np.nextafter(rel.astype(np.float32), np.float32(-np.inf))
    qs = np.quantile(x[ok], np.linspace(0, 1, grid)) if ok.any() else np.zeros(0)
    return np.unique(np.concatenate([below, rel, qs.astype(np.float32), [np.inf]]).astype(np.float64))


def curve(x: np.ndarray, labels: np.ndarray, valid: np.ndarray, n: int, cuts: np.ndarray,
          weights: np.ndarray | None = None) -> Curve:
    """The calibration curve over `cuts`; NaN x never drops (as an unanswered judge). `weights` [Q]: each
    row's weight in the rates (default 1); `labelled` stays a count."""
    x = np.asarray(x, dtype=np.float64)
    labels, valid = np.asarray(labels), np.asarray(valid, dtype=bool)
    q, k = x.shape
    w = np.ones(q) if weights is None else np.asarray(weights, np.float64)
    pos = np.arange(1, k + 1)[None, :]
    out = np.zeros((4, len(cuts)))
    for t, cut in enumerate(cuts):
        with np.errstate(invalid="ignore"):
            keep = valid & ~(x > cut)
        sel = keep & (np.cumsum(keep, axis=1) <= n)
        lab = sel & (labels >= 0)
        nl = w @ lab.sum(axis=1)
        out[0, t] = w @ (sel & (labels == 1)).sum(axis=1) / nl if nl else np.nan
        out[1, t] = w @ (sel.sum(axis=1) >= n) / w.sum() if q else np.nan
        out[2, t] = w @ (pos * sel).sum(axis=1) / max(w @ sel.sum(axis=1), 1e-12)
        out[3, t] = lab.sum()
    return Curve(np.asarray(cuts, dtype=np.float64), out[0], out[1], out[2], out[3].astype(np.int64))


def choose(c: Curve, target: float, min_coverage: float = MIN_COVERAGE) -> int:
    """Index of the cut meeting fn_rate <= target with the most queries full (at least `min_coverage`), then
    the hardest negatives (lowest mean rank), then the loosest cut; -1 when no cut meets both."""
    ok = np.nonzero((c.fn_rate <= target) & (c.coverage >= min_coverage))[0]  # NaN rates never qualify
    if not len(ok):
        return -1
    order = np.lexsort((-c.cuts[ok], c.mean_rank[ok], -np.round(c.coverage[ok], 9)))
    return int(ok[order[0]])


def closest(c: Curve, min_coverage: float = MIN_COVERAGE) -> int:
    """Index of the lowest fn_rate among cuts keeping at least `min_coverage` of queries full (then the most
    full, the hardest, the loosest); -1 when none does."""
    ok = np.nonzero(~np.isnan(c.fn_rate) & (c.coverage >= min_coverage))[0]
    if not len(ok):
        return -1
    order = np.lexsort((-c.cuts[ok], c.mean_rank[ok], -np.round(c.coverage[ok], 9), np.round(c.fn_rate[ok], 9)))
    return int(ok[order[0]])


def calibrate(judge: str, kind: str, x: np.ndarray, labels: np.ndarray, valid: np.ndarray, n: int,
              target: float, min_positives: int = MIN_POSITIVES, min_queries: int = MIN_QUERIES,
              queries: int | None = None, weights: np.ndarray | None = None) -> Calibration:
    """Pick the cut on x for one judge. Too few labelled queries or relevant candidates, or no cut meeting the
    target: cut None with the reason (the caller keeps its default rule). `queries`: how many distinct queries
    the rows of x come from (rows can repeat a query, one per held-out positive); default: the labelled rows.
    `weights` [rows]: see curve()."""
    labels, valid = np.asarray(labels), np.asarray(valid, dtype=bool)
    has = ((labels >= 0) & valid).any(axis=1)
    npos = int(((labels == 1) & valid & ~np.isnan(x)).sum())
    nq = int(has.sum()) if queries is None else int(queries)
    if nq < min_queries or npos < min_positives:
        return Calibration(judge, kind, None, f"too little labelled signal: {nq} labelled queries and {npos} "
                           f"relevant candidates (need {min_queries} and {min_positives}); default rule kept",
                           nq, npos)
    w = None if weights is None else np.asarray(weights, np.float64)[has]
    c = curve(x[has], labels[has], valid[has], n, candidate_cuts(x[has], labels[has], valid[has]), w)
    i = choose(c, target)
    if i >= 0:
        return Calibration(judge, kind, float(c.cuts[i]), f"fn_rate {c.fn_rate[i]:.4f} <= {target:g} with "
                           f"{c.coverage[i]:.3f} of queries full, mean rank {c.mean_rank[i]:.2f}", nq, npos, c, i,
                           {"target_met": True})
    j = closest(c)
    if j < 0:
        return Calibration(judge, kind, None, f"no threshold keeps {MIN_COVERAGE:g} of queries full; default rule "
                           "kept", nq, npos, c, extra={"target_met": False})
    return Calibration(judge, kind, float(c.cuts[j]), f"target {target:g} out of reach with at least "
                       f"{MIN_COVERAGE:g} of queries full: the closest, fn_rate {c.fn_rate[j]:.4f} with "
                       f"{c.coverage[j]:.3f} full, mean rank {c.mean_rank[j]:.2f}, was taken", nq, npos, c, j,
                       {"target_met": False})


@dataclass
class Precision:
    """Relabel curve, one row per cut (ascending): precision and recall of relabelling every labelled candidate
    with x > cut, and how many labelled candidates that is."""

    cuts: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    count: np.ndarray


def precision_curve(x: np.ndarray, labels: np.ndarray, valid: np.ndarray, cuts: np.ndarray,
                    weights: np.ndarray | None = None) -> Precision:
    """Precision / recall over the labelled candidates of relabelling x > cut (NaN x never relabels); `weights`
    [Q] weigh each row's candidates in the rates (`count` stays a count)."""
    x = np.asarray(x, dtype=np.float64)
    lab = np.asarray(valid, bool) & (np.asarray(labels) >= 0) & ~np.isnan(x)
    w = np.ones(x.shape[0]) if weights is None else np.asarray(weights, np.float64)
    xs, rel, ws = x[lab], np.asarray(labels)[lab] == 1, np.broadcast_to(w[:, None], x.shape)[lab]
    order = np.argsort(xs, kind="stable")
    xs, rel, ws = xs[order], rel[order], ws[order]
    above = len(xs) - np.searchsorted(xs, cuts, side="right")  # candidates with x > cut
    start = len(xs) - above
    w_above = ws.sum() - np.concatenate([[0], np.cumsum(ws)])[start]
    rel_above = (ws * rel).sum() - np.concatenate([[0], np.cumsum(ws * rel)])[start]
    with np.errstate(invalid="ignore", divide="ignore"):
        prec = np.where(above > 0, rel_above / np.where(above > 0, w_above, 1), np.nan)
        tot = (ws * rel).sum()
        rec = rel_above / tot if tot else np.full(len(cuts), np.nan)
    return Precision(np.asarray(cuts, np.float64), prec, rec, above.astype(np.int64))


def calibrate_relabel(judge: str, kind: str, x: np.ndarray, labels: np.ndarray, valid: np.ndarray,
                      target: float, floor: float, min_count: int = 5, weights: np.ndarray | None = None
                      ) -> Calibration:
    """The relabel cut on x: the loosest cut, never below `floor` (the judge's score at the level of the known
    positive), whose relabelled labelled candidates (at least `min_count`) are relevant with precision >= target.
    No cut precise enough: cut +inf (nothing is relabelled; the drop rules still apply)."""
    ok = np.asarray(valid, bool) & (np.asarray(labels) >= 0) & ~np.isnan(x)
    cuts = np.unique(np.concatenate([np.asarray(x, np.float64)[ok], [floor, np.inf]]))  # every labelled x
    cuts = cuts[cuts >= floor]
    p = precision_curve(x, labels, valid, cuts, weights)
    ok = np.nonzero((p.precision >= target) & (p.count >= min_count))[0]
    extra = {"target_precision": target, "floor": round(float(floor), 6),
             "precision_curve": {"cut": [round(float(c), 6) if np.isfinite(c) else None for c in p.cuts],
                                 "precision": [None if np.isnan(v) else round(float(v), 4) for v in p.precision],
                                 "recall": [None if np.isnan(v) else round(float(v), 4) for v in p.recall],
                                 "count": [int(v) for v in p.count]}}
    if not len(ok):
        best = np.nanmax(p.precision) if np.isfinite(p.precision).any() else float("nan")
        return Calibration(judge, kind, float("inf"), f"no relabel cut reaches precision {target:g} on at least "
                           f"{min_count} labelled candidates (best {best:.3f}); nothing is relabelled",
                           extra=extra)
    i = int(ok[0])
    return Calibration(judge, kind, float(p.cuts[i]), f"relabel precision {p.precision[i]:.3f} >= {target:g}, "
                       f"recall {p.recall[i]:.3f} ({int(p.count[i])} labelled candidates)", index=i, extra=extra)


def merge_hidden(miner: np.ndarray, x: np.ndarray, hid_miner: np.ndarray, hid_x: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Put held-out positives back among the candidates at their miner rank.

    miner, x: [Q, K] candidates' miner scores (-inf = pad) and statistic; hid_miner, hid_x: [Q, H] the
    held-out positives' (NaN = none, or unscored by the miner). Returns (x, labels, valid) [Q, K + H] in miner
    order (candidates first on ties); labels 1 for held-out positives, 0 for candidates. Each row keeps as many
    entries as it had candidates, as a search of that depth would return: a held-out positive the miner ranks
    below them is one the search would not have found.
    """
    q = miner.shape[0]
    hv = ~np.isnan(hid_miner)
    m = np.concatenate([np.where(np.isfinite(miner), miner, -np.inf), np.where(hv, hid_miner, -np.inf)], 1)
    valid = np.concatenate([np.isfinite(miner), hv], 1)
    lab = np.concatenate([np.zeros(miner.shape, np.int8), np.ones(hid_miner.shape, np.int8)], 1)
    xs = np.concatenate([x, hid_x], 1)
    if not q:
        return xs, lab, valid
    order = np.argsort(-m, axis=1, kind="stable")
    take = lambda a: np.take_along_axis(a, order, 1)  # noqa: E731
    tv = take(valid)
    tv &= np.cumsum(tv, axis=1) <= np.isfinite(miner).sum(axis=1, keepdims=True)
    return take(xs), np.where(tv, take(lab), -1).astype(np.int8), tv
