"""The review queue: a validation audit's suspected false negatives, most uncertain first."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hardneg.data.errors import DataError
from hardneg.data.jsonl import read_jsonl
from hardneg.validate import rules as R
from hardneg.validate.spec import parse_rule

AUDIT = Path("validation") / "audit.jsonl"
REVIEW = "review.jsonl"


@dataclass
class Item:
    """One suspected false negative. scores: judge -> (score, positive reference, excess over the cut in rule
    units: > 0 means that judge's rule drops it; None when unknown)."""

    query_id: str
    query: str
    doc_id: str
    doc: str
    positive_id: str | None
    positive: str | None
    action: str
    decided_by: str
    rule: str
    miner_rank: int
    miner_score: float | None
    scores: dict[str, tuple] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)
    n_positives: int = 0  # the query's known positives (0 = unknown); the audit shows the first

    @property
    def key(self) -> str:
        """A stable id for the page: query id and doc id, JSON-encoded (ids may hold any character)."""
        return json.dumps([self.query_id, self.doc_id], ensure_ascii=True)

    @property
    def judges(self) -> list[str]:
        """Judges whose rules voted to drop it (from the audit's `rule` field)."""
        return [r.split("=", 1)[0] for r in self.rule.split(";") if "=" in r]

    @property
    def uncertainty(self) -> float:
        """Smallest |excess| over the judges (rule units: a share of the positive's score for perc rules, judge
        units otherwise): 0 = on the cut. inf when no judge's cut is known."""
        vals = [abs(e) for _, _, e in self.scores.values() if e is not None]
        return min(vals) if vals else math.inf


def excess(score: float | None, pos: float | None, rule_text: str) -> float | None:
    """How far a score lies above a rule's cut (perc: as a share of the positive's score; margin/abs: judge
    units); None if a score or the positive reference is missing."""
    if score is None or not rule_text:
        return None
    rule = parse_rule(rule_text)
    if rule.kind != "abs" and pos is None:
        return None
    ref = np.asarray([np.nan if pos is None else pos], np.float32)
    cut = float(R.threshold(rule, ref)[0])
    scale = abs(pos) if rule.kind == "perc" and pos else 1.0
    return round((score - cut) / scale, 6)


def judge_rules(summary: dict) -> dict[str, str]:
    """judge -> its first rule as written, from validation/summary.json."""
    return {j: rs[0] for j, rs in summary.get("rules", {}).items() if rs}


def to_item(row: dict, rules: dict[str, str]) -> Item:
    """An Item from one audit row (older audits without `action`/`decided_by` propose a drop)."""
    judges = sorted(k[len("score_"):] for k in row if k.startswith("score_"))
    scores = {j: (row[f"score_{j}"], row.get(f"pos_{j}"), excess(row[f"score_{j}"], row.get(f"pos_{j}"),
                                                                   rules.get(j, ""))) for j in judges}
    ranks = {k[len("rank_"):]: int(v) for k, v in row.items() if k.startswith("rank_")}
    return Item(str(row["query_id"]), str(row.get("query", "")), str(row["doc_id"]), str(row.get("doc", "")),
                row.get("positive_id"), row.get("positive"), row.get("action") or "drop",
                row.get("decided_by") or "", row.get("rule", ""), int(row.get("miner_rank", 0)),
                row.get("miner_score"), scores, ranks)


def load_items(run_dir: str | Path) -> list[Item]:
    """The suspected false negatives of a validated run folder, most uncertain first (ties: query, rank)."""
    run_dir = Path(run_dir)
    path = run_dir / AUDIT
    if not path.exists():
        raise DataError("no validation audit (run `hardneg validate RUN_DIR --judge ...` or `hardneg mine "
                        "--judge ...` first)", path)
    summ_path = run_dir / "validation" / "summary.json"
    rules = judge_rules(json.loads(summ_path.read_text("utf-8"))) if summ_path.exists() else {}
    items = []
    for n, row in read_jsonl(path):
        for k in ("query_id", "doc_id"):
            if k not in row:
                raise DataError("missing", path, n, field=k)
        items.append(to_item(row, rules))
    counts = positive_counts(run_dir)
    for it in items:
        it.n_positives = counts.get(it.query_id, 0)
    items.sort(key=lambda it: (it.uncertainty, it.query_id, it.miner_rank))
    return items


def positive_counts(run_dir: Path) -> dict[str, int]:
    """query id -> number of known positives, from the run's candidates.npz ({} when it is absent)."""
    from hardneg.validate.step import CANDIDATES, load_candidates

    if not (run_dir / CANDIDATES).exists():
        return {}
    cand, _, _ = load_candidates(run_dir / CANDIDATES)
    return dict(zip(cand.query_ids, (cand.pos_rows >= 0).sum(axis=1).tolist()))
