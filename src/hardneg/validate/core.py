"""validate(): judge mined candidates in rank order, act on suspected false negatives (drop or relabel as a
positive), drop queries whose top candidates are mostly relevant, refill to N per query. Judges can run as a
cascade (each later judge sees only what the earlier ones left uncertain) and be calibrated to a target
false-negative rate."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from hardneg.data.errors import DataError
from hardneg.types import Corpus, Dataset
from hardneg.validate.reviewed import review_codes
from hardneg.types import Candidates
from hardneg.validate import rules as R
from hardneg.validate.judges import Judge, make_judge
from hardneg.validate.spec import (COMBINE, JudgeSpec, RuleSpec, default_rule, parse_judge, parse_policy,
                                   parse_rule)

KEEP, DROP, RELABEL = 0, 1, 2
ACTION_NAMES = {DROP: "drop", RELABEL: "relabel"}
COST = {"dup": 0, "teacher": 1, "cross-encoder": 2, "llm": 3}  # cascade order, cheap to expensive

log = logging.getLogger(__name__)


@dataclass
class ValidationResult:
    """Kept negatives and everything needed to audit the drops.

    negatives: int64 [Q, N] corpus rows (-1 = query left short); neg_cols: their candidate columns (miner
    rank - 1). judge_scores: judge -> float32 [Q, K] (NaN = not judged); pos_scores: judge -> [Q, P].
    judged / dropped: bool [Q, K] (dropped = acted on: dropped or relabelled); votes: judge -> bool [Q, K]
    (that judge's rules flagged it). action: int8 [Q, K] 0 keep, 1 drop, 2 relabel; stage: int8 [Q, K] index
    into `order` of the judge that decided alone (cascade, or a single judge), -1 = several agreed.
    queries_dropped: bool [Q] removed by drop-query. scored: judge -> pairs it scored.
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
    action: np.ndarray | None = None
    stage: np.ndarray | None = None
    order: list[str] = field(default_factory=list)
    policy: tuple = (("drop", "any"),)
    queries_dropped: np.ndarray | None = None
    scored: dict[str, int] = field(default_factory=dict)
    cascade: float | None = None
    calibration: dict[str, dict] = field(default_factory=dict)
    compares: dict[str, str] = field(default_factory=dict)
    review: np.ndarray | None = None  # int8 [Q, K] a person's decision: -1 none, 0 keep, 1 drop, 2 relabel

    def __post_init__(self) -> None:
        if self.action is None:
            self.action = np.where(self.dropped, DROP, KEEP).astype(np.int8)
        if self.stage is None:
            self.stage = np.full(self.dropped.shape, -1, np.int8)
        if self.queries_dropped is None:
            self.queries_dropped = np.zeros(len(self.query_ids), bool)

    @property
    def relabelled(self) -> np.ndarray:
        """bool [Q, K]: candidates that became positives of their query."""
        return self.action == RELABEL

    def relabelled_cols(self) -> np.ndarray:
        """int64 [Q, R] candidate columns of each query's relabelled candidates in miner order, -1 pad."""
        return R.first_n(self.relabelled, int(self.relabelled.sum(axis=1).max(initial=0)))[0]

    def decided_by(self, q: int, c: int) -> str:
        """The judge (cascade stage) that decided cell (q, c) alone, else the judges that voted for its action."""
        st = int(self.stage[q, c])
        if st >= 0:
            return self.order[st]
        return "+".join(n for n in self.order if self.votes.get(n) is not None and self.votes[n][q, c])

    @property
    def kept(self) -> np.ndarray:
        """bool [Q, K]: judged and not dropped (the selected negatives are the first N of these)."""
        return self.judged & ~self.dropped

    @property
    def short(self) -> np.ndarray:
        """bool [Q]: queries holding fewer than N negatives (dropped queries excluded)."""
        return (self.negatives < 0).any(axis=1) & ~self.queries_dropped

    def neg_scores(self, judge: str) -> np.ndarray:
        """float32 [Q, N] a judge's scores of the kept negatives (NaN where short)."""
        s = np.take_along_axis(self.judge_scores[judge], np.maximum(self.neg_cols, 0), axis=1)
        return np.where(self.neg_cols >= 0, s, np.nan).astype(np.float32)


def doc_texts(corpus: Corpus, rows: np.ndarray) -> list[str]:
    """Title and text of corpus rows joined as the retrievers encode them (title, space, text)."""
    return [f"{corpus.titles[r]} {corpus.texts[r]}" if corpus.titles[r] else corpus.texts[r] for r in rows]


def judge_specs(judges: Sequence) -> list[JudgeSpec | None]:
    """Each judge's parsed spec: strings parsed here (once, at the API edge), JudgeSpecs as given, a ready
    judge object's `spec` attribute if it has one (e.g. a Ray actor proxy), else None."""
    return [parse_judge(s) if isinstance(s, str) else s if isinstance(s, JudgeSpec) else getattr(s, "spec", None)
            for s in judges]


def judge_names(judges: Sequence) -> list[str]:
    """Column names of judges (specs or objects): the kind, with a suffix when a kind repeats (teacher_2)."""
    seen: dict[str, int] = {}
    out = []
    for s in judges:
        base = parse_judge(s).name if isinstance(s, str) else s.name
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}_{seen[base]}")
    return out


def build_judges(specs: Sequence[str | JudgeSpec | Judge], **options) -> list[Judge]:
    """Judges from specs (or ready objects, kept as they are); a kind that repeats gets a suffix: teacher,
    teacher_2. `options`: kind -> keyword arguments of that kind's judge."""
    parsed = judge_specs(specs)
    names = judge_names([p if isinstance(s, (str, JudgeSpec)) else s for s, p in zip(specs, parsed)])
    return [make_judge(p, name=name, **options.get(p.kind, {})) if isinstance(s, (str, JudgeSpec)) else s
            for s, p, name in zip(specs, parsed, names)]


def assign_rules(judges: Sequence[Judge], rules: Sequence[str | RuleSpec],
                 specs: Sequence[JudgeSpec | None] = ()) -> dict[str, list[RuleSpec]]:
    """Rules per judge: those naming it (by name or spec), else the unnamed ones (not for dup), else its default."""
    parsed = [parse_rule(r) if isinstance(r, str) else r for r in rules]
    names = {j.name for j in judges} | {s.text for s in specs if s}
    for r in parsed:
        if r.judge and r.judge not in names:
            raise ValueError(f"rule '{r.text}' names judge '{r.judge}', but the judges are {sorted(j.name for j in judges)}")
    out = {}
    for i, j in enumerate(judges):
        spec = specs[i] if i < len(specs) else None
        mine = [r for r in parsed if r.judge and r.judge in (j.name, spec.text if spec else j.name)]
        if not mine and j.compares != "positives":
            mine = [r for r in parsed if not r.judge]
        if not mine:
            if spec:
                mine = [default_rule(spec)]
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


def cascade_order(js: Sequence[Judge], specs: Sequence[JudgeSpec | None]) -> list[int]:
    """Judge indices from cheap to expensive (dup, teacher, cross-encoder, llm); ready-made judges: dup-like
    (compares positives) first, the others in the order given."""
    def cost(i: int) -> int:
        if i < len(specs) and specs[i]:
            return COST[specs[i].kind]
        return 0 if js[i].compares == "positives" else 1
    return sorted(range(len(js)), key=lambda i: (cost(i), i))


def relabel_rule(rule: RuleSpec) -> RuleSpec:
    """The default relabel rule of a judge whose first drop rule is `rule`: the candidate must score at the level
    of the query's known positive (perc:1 / margin:0), or above 0.9 for absolute scores (an LLM's P(yes));
    near-duplicate thresholds stay as they are."""
    if rule.kind == "perc":
        return RuleSpec("perc", 1.0, rule.pos_agg, rule.judge, "perc:1")
    if rule.kind == "margin":
        return RuleSpec("margin", 0.0, rule.pos_agg, rule.judge, "margin:0")
    v = max(rule.value, 0.9)
    return RuleSpec("abs", v, None, rule.judge, f"abs:{v:g}")


def decide(votes: np.ndarray, answered: np.ndarray, judged: np.ndarray, policy,
           relabel_votes: np.ndarray | None = None) -> np.ndarray:
    """int8 [Q, K] action per cell: the first (action, agreement) of the policy whose agreement holds.
    `relabel_votes` [J, Q, K] (stricter rules) replace `votes` for the relabel action when given."""
    act = np.zeros(judged.shape, np.int8)
    for name, agree in policy:
        v = relabel_votes if name == "relabel" and relabel_votes is not None else votes
        hit = R.combine(v, answered, agree) & judged & (act == KEEP)
        act[hit] = RELABEL if name == "relabel" else DROP
    return act


def validate(candidates: Candidates, dataset: Dataset, judges: Sequence[str | JudgeSpec | Judge],
             rules: Sequence[str | RuleSpec] = (), num_negatives: int = 10, combine: str = "any",
             pos_agg: str = "min", refill_margin: int | None = None,
             progress: Callable[[int, int], None] | None = None, judge_options: dict | None = None,
             policy: str | Sequence | None = None, drop_query: float | None = None, cascade: float | None = None,
             target_fn_rate: float | None = None, labels: dict | None = None,
             review: dict | None = None, relabel_precision: float = 0.9) -> ValidationResult:
    """Judge candidates in miner order (top N + margin first, more only where actions left a query short),
    act by the policy over the judges' votes, and keep the first N survivors per query.

    policy: `relabel=all,drop=any` (default `drop=<combine>`). drop_query: a query whose first N judged
    candidates hold at least this share of flagged ones is removed. cascade: band (rule units) around each
    judge's cut; judges then run cheap to expensive and a later judge scores only cells inside the band of
    the earlier ones. target_fn_rate: calibrate each judge's rule value (see hardneg.validate.tune); `labels`
    {(query_id, doc_id): relevant} replaces held-out positives as the calibration labels. review:
    {(query_id, doc_id): label} from hardneg.review.read_review; a reviewed label overrides the judges.
    Relabelling needs stronger evidence than a drop: a candidate flagged by the drop rules is relabelled only
    when it also passes the judge's relabel rule (relabel_rule(): at the level of the known positive; with
    target_fn_rate, calibrated to `relabel_precision` on the same labels).
    """
    if combine not in COMBINE:
        raise ValueError(f"combine must be any, all or majority, not '{combine}'")
    pol = parse_policy(policy, combine) if policy is None or isinstance(policy, str) else tuple(policy)
    if drop_query is not None and not 0.0 < drop_query <= 1.0:
        raise ValueError(f"drop-query must be a share in (0, 1], not {drop_query}")
    specs = judge_specs(judges)  # None = a ready-made judge object without a spec
    js = build_judges([p if isinstance(s, str) else s for s, p in zip(judges, specs)], **(judge_options or {}))
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
    order = cascade_order(js, specs) if cascade is not None else list(range(len(js)))
    js = [js[i] for i in order]
    forced = review_codes(review or {}, cand.query_ids, cand.rows, dataset.corpus.ids)
    pos = {j.name: _positive_scores(j, dataset, cand, q_texts) for j in js}
    scores = {j.name: np.full((nq, k), np.nan, dtype=np.float32) for j in js}
    have = {j.name: np.zeros((nq, k), dtype=bool) for j in js}
    scored = {j.name: 0 for j in js}

    def score(j: Judge, qi: np.ndarray, ci: np.ndarray) -> None:
        new = ~have[j.name][qi, ci]
        a, b = qi[new], ci[new]
        if len(a):
            scores[j.name][a, b] = _score_cells(j, dataset, cand, q_texts, a, cand.rows[a, b])
            have[j.name][a, b] = True
            scored[j.name] += len(a)

    calib: dict[str, dict] = {}
    if target_fn_rate is not None:
        from hardneg.validate.tune import tune_rules

        rule_map, calib = tune_rules(js, rule_map, cand, dataset, pos, score, scores, n, target_fn_rate,
                                     pos_agg, labels)
    relabels = None
    if any(a == "relabel" for a, _ in pol):
        relabels = {j.name: rule_map[j.name][0] if j.compares == "positives" else relabel_rule(rule_map[j.name][0])
                    for j in js}
        if target_fn_rate is None:
            log.warning("relabelling at the known positive's level without a calibrated precision (on SciFact "
                        "that relabelled hidden positives at a precision of 0.08); pass a target false-negative "
                        "rate to calibrate the relabel rule")
        else:
            from hardneg.validate.tune import tune_relabel

            relabels, rcal = tune_relabel(js, rule_map, relabels, cand, dataset, pos, scores, n, relabel_precision,
                                          pos_agg, labels)
            for name, c in rcal.items():
                calib.setdefault(name, {})["relabel"] = c
    judged = np.zeros((nq, k), dtype=bool)
    start = np.zeros(nq, dtype=np.int64)
    width = np.full(nq, n + margin, dtype=np.int64)
    need = valid.any(axis=1)
    cols = np.arange(k)[None, :]
    votes: dict[str, np.ndarray] = {}
    action = np.zeros((nq, k), dtype=np.int8)
    rounds = 0
    while need.any():
        take = valid & ~judged & need[:, None] & (cols >= start[:, None]) & (cols < (start + width)[:, None])
        qi, ci = np.nonzero(take)
        if not len(qi):
            break
        rounds += 1
        for j in js:
            score(j, qi, ci)
            if cascade is not None:  # pass on only the cells this judge is unsure about
                unsure = R.uncertain(scores[j.name], pos[j.name], rule_map[j.name], cascade, pos_agg)[qi, ci]
                qi, ci = qi[unsure], ci[unsure]
        judged |= take
        start = np.where(need, start + width, start)
        votes = {j.name: np.logical_or.reduce([R.drop_mask(scores[j.name], pos[j.name], r, pos_agg)
                                               for r in rule_map[j.name]]) & have[j.name] for j in js}
        answered = np.stack([have[j.name] & ~np.isnan(scores[j.name]) for j in js])  # NaN = malformed: no vote
        rvotes = None if relabels is None else np.stack(
            [R.drop_mask(scores[j.name], pos[j.name], relabels[j.name], pos_agg) & votes[j.name] for j in js])
        action = decide(np.stack([votes[j.name] for j in js]), answered, judged, pol, rvotes)
        action = np.where(judged & (forced >= 0), forced, action).astype(np.int8)  # a person's label wins
        n_kept = (judged & (action == KEEP)).sum(axis=1)
        left = (valid & ~judged & (cols >= start[:, None])).any(axis=1)
        need = (n_kept < n) & left
        width = n - n_kept + margin
        if progress is not None:
            progress(int(judged.sum()), int(valid.sum()))
    answered = np.stack([have[j.name] & ~np.isnan(scores[j.name]) for j in js])
    last = len(js) - 1 - answered[::-1].argmax(0)  # cascade: the last judge that scored a cell decided it
    stage = np.where(answered.any(0) & ((answered.sum(0) == 1) | (cascade is not None)),
                     np.where(answered.sum(0) == 1, answered.argmax(0), last), -1).astype(np.int8)
    qdrop = np.zeros(nq, dtype=bool)
    if drop_query is not None:  # the first N judged candidates: what the query would have exported
        top = judged & (np.cumsum(judged, axis=1) <= n)
        flagged = (top & (action != KEEP)).sum(axis=1)
        qdrop = (top.sum(axis=1) > 0) & (flagged >= drop_query * np.minimum(top.sum(axis=1), n))
    neg_cols, _ = R.first_n(judged & (action == KEEP) & ~qdrop[:, None], n)
    negatives = np.where(neg_cols >= 0, np.take_along_axis(cand.rows, np.maximum(neg_cols, 0), axis=1), -1)
    log.info("validated %d queries in %d rounds: %d judged, %d dropped, %d relabelled, %d queries dropped, "
             "%d short", nq, rounds, int(judged.sum()), int((action == DROP).sum()), int((action == RELABEL).sum()),
             int(qdrop.sum()), int(((neg_cols < 0).any(axis=1) & ~qdrop).sum()))
    return ValidationResult(list(cand.query_ids), negatives.astype(np.int64), neg_cols, scores, pos, judged,
                            action != KEEP, votes, rule_map, {j.name: j.units for j in js}, combine, pos_agg,
                            {j.name: int(getattr(j, "malformed", 0)) for j in js}, action, stage,
                            [j.name for j in js], pol, qdrop, scored, cascade, calib,
                            {j.name: j.compares for j in js}, forced)
