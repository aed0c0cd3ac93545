"""The audit of a validation: one row per dropped candidate, a summary with counts and score histograms."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hardneg.data.jsonl import atomic_write, write_jsonl
from hardneg.types import Dataset
from hardneg.types import Candidates
from hardneg.validate import rules as R
from hardneg.validate.core import ACTION_NAMES, ValidationResult, doc_texts

BINS = 20
REVIEWED = ("keep", "drop", "relabel")  # by review code (hardneg.validate.reviewed.CODE)


def _f(x) -> float | None:
    x = float(x)
    return None if np.isnan(x) else round(x, 6)


def drop_reasons(res: ValidationResult, qi: np.ndarray, ci: np.ndarray) -> list[str]:
    """'judge=rule;...' for each cell (qi[i], ci[i]): every judge rule that voted to drop it."""
    hits = []
    for name, rules in res.rules.items():
        for r in rules:
            m = R.drop_mask(res.judge_scores[name], res.pos_scores[name], r, res.pos_agg)[qi, ci]
            hits.append((f"{name}={r.label()}", m))
    return [";".join(label for label, m in hits if m[i]) for i in range(len(qi))]


def audit_rows(res: ValidationResult, cand: Candidates, ds: Dataset) -> list[dict]:
    """One dict per dropped candidate, in (query, miner rank) order: texts, every judge's score and positive
    reference, the rules that dropped it and its rank (1-based, 0 = absent) in each retriever."""
    reviewed = res.judged & (res.review >= 0) if res.review is not None else False
    qi, ci = np.nonzero(res.dropped | reviewed)  # and the cells a person decided, kept ones too
    if not len(qi):
        return []
    q_texts = ds.queries
    rows = cand.rows[qi, ci]
    docs = doc_texts(ds.corpus, rows)
    reasons = drop_reasons(res, qi, ci)
    refs = {n: R.positive_reference(p, (res.rules[n][0].pos_agg or res.pos_agg)) for n, p in res.pos_scores.items()}
    out = []
    for i, (q, c, r) in enumerate(zip(qi, ci, rows)):
        qid = res.query_ids[q]
        p = int(cand.pos_rows[q, 0])
        row = {"query_id": qid, "query": q_texts.text(qid), "doc_id": ds.corpus.ids[r], "doc": docs[i],
               "miner_rank": int(c) + 1, "miner_score": _f(cand.scores[q, c]), "rule": reasons[i],
               "action": ACTION_NAMES.get(int(res.action[q, c]), "keep"), "decided_by": res.decided_by(q, c),
               "positive_id": ds.corpus.ids[p] if p >= 0 else None,
               "positive": doc_texts(ds.corpus, [p])[0] if p >= 0 else None}
        for name in res.judge_scores:
            row[f"score_{name}"] = _f(res.judge_scores[name][q, c])
            row[f"pos_{name}"] = _f(refs[name][q])
        for name, ranks in cand.retriever_ranks.items():
            row[f"rank_{name}"] = int(ranks[q, c])
        if res.review is not None and res.review[q, c] >= 0:
            row.update(action=REVIEWED[int(res.review[q, c])], decided_by="review")
        out.append(row)
    return out


def _hist(values: dict[str, np.ndarray]) -> dict:
    finite = [v[np.isfinite(v)] for v in values.values()]
    allv = np.concatenate(finite) if finite else np.zeros(0)
    if not len(allv):
        return {"edges": [], **{k: [] for k in values}}
    lo, hi = float(allv.min()), float(allv.max())
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, BINS + 1)
    out = {"edges": [round(float(e), 6) for e in edges]}
    for k, v in values.items():
        out[k] = np.histogram(v[np.isfinite(v)], bins=edges)[0].tolist()
    return out


def short_reasons(res: ValidationResult, cand: Candidates | None) -> dict[str, int]:
    """Why queries stayed short: `depth` (every one of the K candidates was judged: a deeper search would
    refill them) or `pool` (fewer than K candidates: small corpus, or exclusions)."""
    if cand is None:
        return {}
    full_list = cand.valid.all(axis=1)
    return {"depth": int((res.short & full_list).sum()), "pool": int((res.short & ~full_list).sum())}


def summary(res: ValidationResult, audit: list[dict] | None = None, cand: Candidates | None = None) -> dict:
    """Counts per rule, action and judge, queries left short (and why) or dropped, pairs each judge scored,
    calibration curves, and per-judge histograms of positive / kept / dropped / relabelled scores."""
    per_rule: dict[str, int] = {}
    for row in audit or []:
        if row.get("action") == "keep":  # a person kept it: not a drop
            continue
        for r in row["rule"].split(";"):
            if r:
                per_rule[r] = per_rule.get(r, 0) + 1
    sel = np.zeros_like(res.judged)
    np.put_along_axis(sel, np.maximum(res.neg_cols, 0), res.neg_cols >= 0, axis=1)
    short = [q for q, s in zip(res.query_ids, res.short) if s]
    hists = {}
    for name, s in res.judge_scores.items():
        parts = {"kept": s[sel], "dropped": s[res.action == 1], "relabelled": s[res.relabelled]}
        if res.compares.get(name) != "positives":  # a near-duplicate judge would compare positives to themselves
            parts = {"positive": res.pos_scores[name].reshape(-1)} | parts
        hists[name] = _hist(parts)
    return {
        "queries": len(res.query_ids), "num_negatives": int(res.negatives.shape[1]),
        "combine": res.combine, "pos_agg": res.pos_agg,
        "rules": {n: [r.label() for r in rs] for n, rs in res.rules.items()},
        "units": res.units, "judged": int(res.judged.sum()), "dropped": int((res.action == 1).sum()),
        "kept": int((res.negatives >= 0).sum()), "spare": int((res.kept & ~sel).sum()),
        "drops_per_rule": dict(sorted(per_rule.items())),
        "votes_per_judge": {n: int((v & res.judged).sum()) for n, v in res.votes.items()},
        "relabelled": int(res.relabelled.sum()), "policy": ",".join(f"{a}={g}" for a, g in res.policy),
        "queries_dropped": int(res.queries_dropped.sum()),
        "dropped_query_ids": [q for q, d in zip(res.query_ids, res.queries_dropped) if d][:100],
        "queries_short": len(short), "short_query_ids": short[:100], "short_reasons": short_reasons(res, cand),
        "cascade": None if res.cascade is None else {
            "band": res.cascade, "order": res.order, "pairs_scored": dict(res.scored),
            "pairs_if_judging_all": int(res.judged.sum())},
        "calibration": res.calibration,
        "malformed": res.malformed, "histograms": hists,
    }


def write_parquet(path: str | Path, rows: list[dict]) -> None:
    """Rows as a parquet table, written to a temp file and renamed into place."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows) if rows else pa.table({"query_id": pa.array([], pa.string())})
    with atomic_write(path, "wb") as f:
        pq.write_table(table, f)


def write_audit(out_dir: str | Path, res: ValidationResult, cand: Candidates, ds: Dataset,
                parquet: bool = True) -> dict:
    """Write audit.jsonl (+ audit.parquet) and summary.json into out_dir; return the summary."""
    out_dir = Path(out_dir)
    rows = audit_rows(res, cand, ds)
    write_jsonl(out_dir / "audit.jsonl", rows)
    if parquet:
        write_parquet(out_dir / "audit.parquet", rows)
    summ = summary(res, rows, cand)
    with atomic_write(out_dir / "summary.json") as f:
        f.write(json.dumps(summ, indent=1, ensure_ascii=False) + "\n")
    return summ
