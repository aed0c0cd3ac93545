"""validate(): judge mined candidates in rank order, drop suspected false negatives, refill to N per query."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from hardneg.data.errors import DataError
from hardneg.data.model import Corpus, Dataset
from hardneg.review.labels import review_codes
from hardneg.select.candidates import Candidates
from hardneg.validate import rules as R
from hardneg.validate.judges import Judge, make_judge
from hardneg.validate.spec import COMBINE, RuleSpec, default_rule, parse_judge, parse_rule

log = logging.getLogger(__name__)


@dataclass
class ValidationResult:
    """Kept negatives and everything needed to audit the drops.

    negatives: int64 [Q, N] corpus rows (-1 = query left short); neg_cols: their candidate columns (miner
    rank - 1). judge_scores: judge -> float32 [Q, K] (NaN = not judged); pos_scores: judge -> [Q, P].
    judged / dropped: bool [Q, K]; votes: judge -> bool [Q, K] (that judge's rules said drop).
    """

    query_ids: list[str]
    negatives: np.ndarray
    neg_cols: np.ndarray
    judge_scores: dict[str, np.ndarray]
    pos_scores: dict[str, np.ndarray]
    judged: np.ndarray
    dropped: np.ndarray
    votes: dict[str, np.ndarray]
    rules: dict[str, list[RuleSpec]]
    units: dict[str, str]
    combine: str = "any"
    pos_agg: str = "min"
    malformed: dict[str, int] = field(default_factory=dict)
    review: np.ndarray | None = None  # int8 [Q, K] a person's decision: -1 none, 0 keep, 1 drop, 2 relabel

    @property
    def kept(self) -> np.ndarray:
        """bool [Q, K]: judged and not dropped (the selected negatives are the first N of these)."""
        return self.judged & ~self.dropped

    @property
    def short(self) -> np.ndarray:
        """bool [Q]: queries holding fewer than N negatives."""
        return (self.negatives < 0).any(axis=1)

    def neg_scores(self, judge: str) -> np.ndarray:
        """float32 [Q, N] a judge's scores of the kept negatives (NaN where short)."""
        s = np.take_along_axis(self.judge_scores[judge], np.maximum(self.neg_cols, 0), axis=1)
        return np.where(self.neg_cols >= 0, s, np.nan).astype(np.float32)


def doc_texts(corpus: Corpus, rows: np.ndarray) -> list[str]:
    """Title and text of corpus rows joined as the retrievers encode them (title, space, text)."""
    return [f"{corpus.titles[r]} {corpus.texts[r]}" if corpus.titles[r] else corpus.texts[r] for r in rows]


def build_judges(specs: Sequence[str | Judge], **options) -> list[Judge]:
    """Judges from specs (or ready objects); a kind that repeats gets a suffix: teacher, teacher_2."""
    out: list[Judge] = []
    seen: dict[str, int] = {}
    for s in specs:
        base = parse_judge(s).name if isinstance(s, str) else s.name
        seen[base] = seen.get(base, 0) + 1
        name = base if seen[base] == 1 else f"{base}_{seen[base]}"
        if isinstance(s, str):
            out.append(make_judge(s, name=name, **options.get(parse_judge(s).kind, {})))
        else:
            out.append(s)
    return out


def assign_rules(judges: Sequence[Judge], rules: Sequence[str | RuleSpec],
                 specs: Sequence[str] = ()) -> dict[str, list[RuleSpec]]:
    """Rules per judge: those naming it (by name or spec), else the unnamed ones (not for dup), else its default."""
    parsed = [parse_rule(r) if isinstance(r, str) else r for r in rules]
    names = {j.name for j in judges} | {s for s in specs if s}
    for r in parsed:
        if r.judge and r.judge not in names:
            raise ValueError(f"rule '{r.text}' names judge '{r.judge}', but the judges are {sorted(j.name for j in judges)}")
    out = {}
    for i, j in enumerate(judges):
        spec = specs[i] if i < len(specs) else ""
        mine = [r for r in parsed if r.judge and r.judge in (j.name, spec or j.name)]
        if not mine and j.compares != "positives":
            mine = [r for r in parsed if not r.judge]
        if not mine:
            if spec:
                mine = [default_rule(parse_judge(spec))]
            elif j.compares == "positives":  # a ready-made near-duplicate judge: its own threshold
                thr = float(getattr(j, "threshold", 1.0))
                mine = [RuleSpec("abs", thr - 1e-6, text=f"abs:{thr:g}")]
            else:
                mine = [RuleSpec("perc", 0.95, text="perc:0.95")]
        out[j.name] = mine
    return out


def _score_cells(judge: Judge, ds: Dataset, cand: Candidates, q_texts: list[str], qi: np.ndarray,
                 rows: np.ndarray) -> np.ndarray:
    """float32 [n] one judge's scores of cells (query qi[i], corpus row rows[i]), batched across queries."""
    docs = doc_texts(ds.corpus, rows)
    if judge.compares != "positives":
        return np.asarray(judge.score_pairs([q_texts[i] for i in qi], docs), dtype=np.float32)
    pos = cand.pos_rows[qi]  # [n, P]: compare each candidate with each of its query's positives
    ci, pj = np.nonzero(pos >= 0)
    sim = np.full(pos.shape, np.nan, dtype=np.float32)
    if len(ci):
        sim[ci, pj] = judge.score_pairs(doc_texts(ds.corpus, pos[ci, pj]), [docs[c] for c in ci])
    with np.errstate(all="ignore"):
        has = ~np.isnan(sim).all(axis=1)
        out = np.full(len(rows), np.nan, dtype=np.float32)
        out[has] = np.nanmax(sim[has], axis=1)
    return out


def _positive_scores(judge: Judge, ds: Dataset, cand: Candidates, q_texts: list[str]) -> np.ndarray:
    """float32 [Q, P] the judge's score of each (query, positive); 1.0 for near-duplicate judges."""
    valid = cand.pos_rows >= 0
    out = np.full(cand.pos_rows.shape, np.nan, dtype=np.float32)
    if judge.compares == "positives":
        out[valid] = 1.0
        return out
    qi, pj = np.nonzero(valid)
    if len(qi):
        out[qi, pj] = judge.score_pairs([q_texts[i] for i in qi], doc_texts(ds.corpus, cand.pos_rows[qi, pj]))
    return out


def validate(candidates: Candidates, dataset: Dataset, judges: Sequence[str | Judge],
             rules: Sequence[str | RuleSpec] = (), num_negatives: int = 10, combine: str = "any",
             pos_agg: str = "min", refill_margin: int | None = None,
             progress: Callable[[int, int], None] | None = None, judge_options: dict | None = None,
             review: dict | None = None) -> ValidationResult:
    """Judge candidates in miner order (top N + margin first, more only where drops left a query short),
    drop by the rules combined across judges, and keep the first N survivors per query.

    review: {(query_id, doc_id): label} from hardneg.review.read_review; a reviewed label overrides the
    judges (negative keeps, false_negative and relevant drop)."""
    if combine not in COMBINE:
        raise ValueError(f"combine must be any, all or majority, not '{combine}'")
    specs = [s if isinstance(s, str) else "" for s in judges]  # "" = a ready-made judge object
    js = build_judges(judges, **(judge_options or {}))
    if not js:
        raise ValueError("validation needs at least one judge")
    rule_map = assign_rules(js, rules, specs)
    cand, n = candidates, int(num_negatives)
    missing = [q for q in cand.query_ids if q not in dataset.queries]
    if missing:
        raise DataError(f"{len(missing)} candidate queries are not in the dataset (first: '{missing[0]}')")
    q_texts = [dataset.queries.text(q) for q in cand.query_ids]
    nq, k = cand.rows.shape
    margin = max(2, n // 2) if refill_margin is None else int(refill_margin)
    valid = cand.valid
    forced = review_codes(review or {}, cand.query_ids, cand.rows, dataset.corpus.ids)
    pos = {j.name: _positive_scores(j, dataset, cand, q_texts) for j in js}
    scores = {j.name: np.full((nq, k), np.nan, dtype=np.float32) for j in js}
    judged = np.zeros((nq, k), dtype=bool)
    start = np.zeros(nq, dtype=np.int64)
    width = np.full(nq, n + margin, dtype=np.int64)
    need = valid.any(axis=1)
    cols = np.arange(k)[None, :]
    votes: dict[str, np.ndarray] = {}
    dropped = np.zeros((nq, k), dtype=bool)
    rounds = 0
    while need.any():
        take = valid & ~judged & need[:, None] & (cols >= start[:, None]) & (cols < (start + width)[:, None])
        qi, ci = np.nonzero(take)
        if not len(qi):
            break
        rounds += 1
        for j in js:
            scores[j.name][qi, ci] = _score_cells(j, dataset, cand, q_texts, qi, cand.rows[qi, ci])
        judged |= take
        start = np.where(need, start + width, start)
        votes = {j.name: np.logical_or.reduce([R.drop_mask(scores[j.name], pos[j.name], r, pos_agg)
                                               for r in rule_map[j.name]]) for j in js}
        answered = np.stack([~np.isnan(scores[j.name]) for j in js])  # NaN = malformed reply: no vote
        dropped = R.combine(np.stack([votes[j.name] for j in js]), answered, combine) & judged
        dropped = np.where(forced >= 0, forced > 0, dropped) & judged  # a person's label wins
        n_kept = (judged & ~dropped).sum(axis=1)
        left = (valid & ~judged & (cols >= start[:, None])).any(axis=1)
        need = (n_kept < n) & left
        width = n - n_kept + margin
        if progress is not None:
            progress(int(judged.sum()), int(valid.sum()))
    neg_cols, _ = R.first_n(judged & ~dropped, n)
    negatives = np.where(neg_cols >= 0, np.take_along_axis(cand.rows, np.maximum(neg_cols, 0), axis=1), -1)
    log.info("validated %d queries in %d rounds: %d judged, %d dropped, %d short", nq, rounds,
             int(judged.sum()), int(dropped.sum()), int((neg_cols < 0).any(axis=1).sum()))
    return ValidationResult(list(cand.query_ids), negatives.astype(np.int64), neg_cols, scores, pos, judged,
                            dropped, votes, rule_map, {j.name: j.units for j in js}, combine, pos_agg,
                            {j.name: int(getattr(j, "malformed", 0)) for j in js}, forced)
