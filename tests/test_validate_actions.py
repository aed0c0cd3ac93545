"""Actions on suspected false negatives: relabel (exported as a positive, qrels delta), drop-query, the policy,
the audit's action and deciding judge, and cascades."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from hardneg.data.beir import load_beir
from hardneg.validate import validate
from hardneg.validate.audit import summary
from hardneg.validate.spec import parse_policy
from hardneg.validate.step import validate_selection

from _pipeline_helpers import mine
from _validate_helpers import TableJudge, tiny_candidates
from test_validate_cli import _top_selection
from test_validate_core import _judge_dropping


class WordJudge:
    """Scores 0.99 for documents containing one of `words`, 0.1 otherwise (positives included)."""

    compares = "query"
    units = "test score"

    def __init__(self, words, name="words"):
        self.words, self.name = words, name

    def score_pairs(self, queries, docs):
        return np.array([0.99 if any(w in d for w in self.words) else 0.1 for d in docs], np.float32)


def test_parse_policy():
    assert parse_policy(None, "all") == (("drop", "all"),)
    assert parse_policy("relabel=all,drop=any") == (("relabel", "all"), ("drop", "any"))
    with pytest.raises(ValueError, match="ACTION=AGREEMENT"):
        parse_policy("keep=all")
    with pytest.raises(ValueError, match="twice"):
        parse_policy("drop=all,drop=any")


def test_relabelled_doc_is_a_positive_never_a_negative(tiny_beir, tmp_path):
    ds = load_beir(tiny_beir, "train")
    out = tmp_path / "run"
    judge = WordJudge(["Dogs", "Berlin"])
    res = mine(ds, [judge], rules=["abs:0.5"], policy="relabel=any", retrievers=["bm25"], num_negatives=3,
               depth=12, out=str(out), formats=["triplet", "labeled-pair", "flag"])
    delta = (out / "qrels" / "train.relabelled.tsv").read_text().splitlines()
    assert delta[0] == "query-id\tcorpus-id\tscore"
    pairs = {tuple(x.split("\t")[:2]) for x in delta[1:]}
    assert pairs and {d for _, d in pairs} <= {"d2", "d8"}
    trip = pq.read_table(out / "triplet.parquet").to_pylist()
    negs = {(r["query_id"], r["neg_id"]) for r in trip}
    assert negs and not pairs & negs  # never exported as a negative of that query
    assert {(r["query_id"], r["pos_id"]) for r in trip} & pairs
    lp = pq.read_table(out / "labeled-pair.parquet").to_pylist()
    assert {(r["query_id"], r["doc_id"]) for r in lp if r["label"] == 1} >= pairs  # exported as positives
    assert not {(r["query_id"], r["doc_id"]) for r in lp if r["label"] == 0} & pairs
    flag = [json.loads(x) for x in open(out / "flag.jsonl")]
    assert all(not {"d2", "d8"} & set(r["neg_ids"]) for r in flag)
    audit = [json.loads(x) for x in open(out / "validation" / "audit.jsonl")]
    assert {(a["query_id"], a["doc_id"]) for a in audit if a["action"] == "relabel"} == pairs
    assert all(a["decided_by"] == "words" for a in audit)
    summ = json.loads((out / "validation" / "summary.json").read_text())
    assert summ["relabelled"] == len(pairs) and summ["policy"] == "relabel=any"
    assert res.selection.positives is not None


def test_policy_relabels_on_agreement_and_drops_on_any(tiny_beir):
    ds, cand = tiny_candidates(tiny_beir, k=10)
    a = _judge_dropping(ds, cand, {0, 1}, name="a")
    b = _judge_dropping(ds, cand, {1, 3}, name="b")
    res = validate(cand, ds, [a, b], ["abs:0.5"], num_negatives=3, policy="relabel=all,drop=any")
    assert res.relabelled[:, 1].all() and not res.relabelled[:, [0, 3]].any()
    assert (res.action[:, [0, 3]] == 1).all()
    assert res.neg_cols.tolist() == [[2, 4, 5]] * len(cand.query_ids)
    assert res.decided_by(0, 0) == "a" and res.decided_by(0, 1) == "a+b"


def test_drop_query_is_counted(tiny_beir, tmp_path):
    ds, cand = tiny_candidates(tiny_beir, k=10)
    flag = {}
    for q in range(len(cand.query_ids)):  # q1 (row 0): its top 2 of 3 are flagged; the others only 1 of 3
        for c in range(10):
            key = (ds.queries.text(cand.query_ids[q]), ds.corpus.full_texts()[cand.rows[q, c]])
            flag[key] = 0.99 if c == 0 or (q == 0 and c == 1) else 0.1
    judge = TableJudge(flag, name="t")
    res = validate(cand, ds, [judge], ["abs:0.5"], num_negatives=3, refill_margin=0, drop_query=0.6)
    assert res.queries_dropped.tolist() == [True] + [False] * (len(cand.query_ids) - 1)
    assert (res.negatives[0] == -1).all() and not res.short.any()
    summ = summary(res, None, cand)
    assert summ["queries_dropped"] == 1 and summ["dropped_query_ids"] == ["q1"] and summ["queries_short"] == 0
    new, _ = validate_selection(ds, cand, _top_selection(cand, 3), [judge], ["abs:0.5"], drop_query=0.6,
                                refill_margin=0)
    assert new.keep.tolist() == [False] + [True] * 5 and new.dropped == 1 and new.still_short == 0


def test_cascade_with_an_all_covering_band_matches_judging_all(tiny_beir):
    ds, cand = tiny_candidates(tiny_beir, k=10)
    for combine in ("any", "all", "majority"):
        js = [_judge_dropping(ds, cand, {0, 1}, name="a"), _judge_dropping(ds, cand, {1, 3, 4}, name="b")]
        full = validate(cand, ds, js, ["abs:0.5"], num_negatives=4, combine=combine)
        casc = validate(cand, ds, js, ["abs:0.5"], num_negatives=4, combine=combine, cascade=1e9)
        assert (casc.action == full.action).all() and (casc.negatives == full.negatives).all(), combine
        assert casc.scored == full.scored


def test_cascade_band_spares_the_expensive_judge(tiny_beir):
    ds, cand = tiny_candidates(tiny_beir, k=10)
    cheap = _judge_dropping(ds, cand, {0}, name="cheap")
    dear = _judge_dropping(ds, cand, {0, 2}, name="dear")
    res = validate(cand, ds, [cheap, dear], ["abs:0.5"], num_negatives=3, cascade=0.1)
    # the cheap judge's scores (0.99, 0.1) are all 0.4 from its cut: certain, so the second judge scores nothing
    assert res.scored["dear"] == 0 and res.scored["cheap"] == res.judged.sum()
    assert res.neg_cols.tolist() == [[1, 2, 3]] * len(cand.query_ids)
    assert res.decided_by(0, 0) == "cheap"
    res = validate(cand, ds, [cheap, dear], ["abs:0.5"], num_negatives=3, cascade=0.45)
    # 0.1 is now within the band (0.4 <= 0.45), 0.99 still certain (0.49): the second judge sees all but column 0
    assert res.scored["dear"] == res.judged.sum() - len(cand.query_ids)
    assert res.neg_cols.tolist() == [[1, 3, 4]] * len(cand.query_ids)  # and drops column 2
    assert res.decided_by(0, 2) == "dear" and res.decided_by(0, 0) == "cheap"
    summ = summary(res, None, cand)
    assert summ["cascade"]["pairs_scored"] == {"cheap": 30, "dear": 24}
    assert summ["cascade"]["pairs_if_judging_all"] == 30


def test_cli_checks_validation_options_before_loading(tmp_path):
    from typer.testing import CliRunner

    from hardneg.cli import app

    missing = str(tmp_path / "no-such-data")  # never read: the options fail first
    for extra, msg in [(["-f", "marginmse"], "--margin-judge"),
                       (["--policy", "relabel=all"], "needs at least one --judge"),
                       (["--judge", "teacher:mpnet", "--policy", "keep=all"], "ACTION=AGREEMENT"),
                       (["--judge", "teacher:mpnet", "--target-fn-rate", "2"], "--target-fn-rate"),
                       (["--judge", "teacher:mpnet", "--drop-query", "0"], "--drop-query"),
                       (["-f", "marginmse", "--margin-judge", "dup:exact"], "cross-encoder or teacher")]:
        r = CliRunner().invoke(app, ["mine", "--data", missing, "-o", str(tmp_path / "o")] + extra)
        assert r.exit_code == 2 and msg in r.output, (extra, r.output)
        assert "Traceback" not in r.output


def test_report_shows_calibration_cascade_and_actions(tmp_path):
    from test_validate_calibrate import _planted

    from hardneg.validate.audit import write_audit
    from hardneg.validate.report import write_report

    ds, cand, judge = _planted()
    res = validate(cand, ds, [judge], [], num_negatives=5, target_fn_rate=0.01, cascade=0.05,
                   policy="relabel=any")
    summ = write_audit(tmp_path, res, cand, ds)
    assert summ["calibration"]["teacher"]["curve"]["fn_rate"] and summ["cascade"]["band"] == 0.05
    md = write_report(tmp_path).read_text()
    assert (tmp_path / "calibration.png").exists() and "## Calibration" in md and "## Cascade" in md
    assert "false-negative rate by miner rank" in md and "relabelled" in md


def test_validation_budget_deepens_the_search(tiny_beir, tiny_bert):
    ds = load_beir(tiny_beir, "train")
    base = mine(ds, retrievers=[f"dense:{tiny_bert}"], num_negatives=2)
    more = mine(ds, retrievers=[f"dense:{tiny_bert}"], num_negatives=2, validate_budget=3)
    assert more.candidates.rows.shape[1] == base.candidates.rows.shape[1] + 3


def test_cli_validate_relabels_into_a_qrels_delta(tiny_beir, tmp_path):
    from typer.testing import CliRunner

    from hardneg.cli import app

    out = tmp_path / "mine"
    r = CliRunner().invoke(app, ["mine", "--data", str(tiny_beir), "-r", "bm25", "-n", "3", "--depth", "12",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["validate", str(out), "--judge", "dup:jaccard:0.05:1", "--policy", "relabel=any",
                                 "-f", "labeled-pair"])
    assert r.exit_code == 0, r.output
    delta = (out / "qrels" / "train.relabelled.tsv").read_text().splitlines()[1:]
    pairs = {tuple(x.split("\t")[:2]) for x in delta}
    lp = pq.read_table(out / "validation" / "labeled-pair.parquet").to_pylist()
    assert pairs and pairs <= {(x["query_id"], x["doc_id"]) for x in lp if x["label"] == 1}
    assert not pairs & {(x["query_id"], x["doc_id"]) for x in lp if x["label"] == 0}
    assert "relabelled" in r.output
