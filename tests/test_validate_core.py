"""validate(): refill after drops, judging only what is needed, audit completeness, determinism."""

import json

import numpy as np
import pyarrow.parquet as pq

from hardneg.validate import validate
from hardneg.validate.audit import write_audit
from hardneg.validate.core import doc_texts

from _validate_helpers import TableJudge, tiny_candidates


def _judge_dropping(ds, cand, cols, name="table"):
    """A judge scoring 0.99 on the given candidate columns of every query (0.1 elsewhere), positives 1.0."""
    table = {}
    for q in range(len(cand.query_ids)):
        for c in range(cand.rows.shape[1]):
            if cand.rows[q, c] >= 0:
                key = (ds.queries.text(cand.query_ids[q]), doc_texts(ds.corpus, [cand.rows[q, c]])[0])
                table[key] = 0.99 if c in cols else 0.1
    j = TableJudge(table, name=name)
    qi, pj = np.nonzero(cand.pos_rows >= 0)
    j.positive_pairs = {(ds.queries.text(cand.query_ids[q]), doc_texts(ds.corpus, [cand.pos_rows[q, p]])[0])
                        for q, p in zip(qi, pj)}
    return j


def test_refill_after_drops_keeps_rank_order(tiny_beir):
    ds, cand = tiny_candidates(tiny_beir, k=10)
    judge = _judge_dropping(ds, cand, {0, 2})
    res = validate(cand, ds, [judge], ["perc:0.95"], num_negatives=3, refill_margin=0)
    # columns 0 and 2 dropped: the three kept are columns 1, 3, 4 of every query
    assert res.neg_cols.tolist() == [[1, 3, 4]] * len(cand.query_ids)
    assert (res.negatives == np.take_along_axis(cand.rows, res.neg_cols, 1)).all()
    assert res.dropped[:, [0, 2]].all() and res.dropped.sum() == 2 * len(cand.query_ids)
    # judged lazily: 3 in round one, 2 refills, never the tail of the list
    assert res.judged.sum(axis=1).tolist() == [5] * len(cand.query_ids)
    assert not res.judged[:, 5:].any()


def test_queries_left_short_when_candidates_run_out(tiny_beir):
    ds, cand = tiny_candidates(tiny_beir, k=10)
    judge = _judge_dropping(ds, cand, set(range(8)))
    res = validate(cand, ds, [judge], ["abs:0.5"], num_negatives=3)
    assert res.short.all()
    assert (res.negatives >= 0).sum(axis=1).tolist() == [2] * len(cand.query_ids)  # only columns 8, 9 survive
    assert res.judged[cand.valid].all()


def test_audit_is_complete_and_written_atomically(tiny_beir, tmp_path):
    ds, cand = tiny_candidates(tiny_beir, k=10)
    a = _judge_dropping(ds, cand, {0, 1}, name="a")
    b = _judge_dropping(ds, cand, {1, 3}, name="b")
    res = validate(cand, ds, [a, b], ["a=margin:0.05", "b=abs:0.9"], num_negatives=4, combine="any")
    summ = write_audit(tmp_path, res, cand, ds)
    rows = [json.loads(line) for line in open(tmp_path / "audit.jsonl")]
    # every judged candidate is either kept or in the audit, never both
    audited = {(r["query_id"], r["doc_id"]) for r in rows}
    kept = {(cand.query_ids[q], ds.corpus.ids[cand.rows[q, c]]) for q, c in zip(*np.nonzero(res.kept))}
    judged = {(cand.query_ids[q], ds.corpus.ids[cand.rows[q, c]]) for q, c in zip(*np.nonzero(res.judged))}
    assert audited | kept == judged and not audited & kept
    assert len(rows) == res.dropped.sum() == 3 * len(cand.query_ids)
    by_rank = {r["miner_rank"]: r["rule"] for r in rows if r["query_id"] == "q1"}
    assert by_rank == {1: "a=margin:0.05", 2: "a=margin:0.05;b=abs:0.9", 4: "b=abs:0.9"}
    r0 = rows[0]
    assert {"query", "doc", "score_a", "score_b", "pos_a", "rank_bm25", "miner_score"} <= set(r0)
    assert r0["rank_bm25"] == r0["miner_rank"]
    assert pq.read_table(tmp_path / "audit.parquet").num_rows == len(rows)
    assert summ["drops_per_rule"] == {"a=margin:0.05": 12, "b=abs:0.9": 12}
    assert summ["queries_short"] == 0 and summ["kept"] == 4 * len(cand.query_ids)
    assert sum(summ["histograms"]["a"]["dropped"]) == res.dropped.sum()
    assert not list(tmp_path.glob(".*tmp"))


def test_combine_all_needs_every_judge(tiny_beir):
    ds, cand = tiny_candidates(tiny_beir, k=10)
    a = _judge_dropping(ds, cand, {0, 1}, name="a")
    b = _judge_dropping(ds, cand, {1, 3}, name="b")
    res = validate(cand, ds, [a, b], ["abs:0.9"], num_negatives=4, combine="all")
    assert res.dropped.sum(axis=1).tolist() == [1] * len(cand.query_ids) and res.dropped[:, 1].all()
    res = validate(cand, ds, [a, b], ["abs:0.9"], num_negatives=4, combine="majority")
    assert res.dropped[:, 1].all() and res.dropped.sum() == len(cand.query_ids)


def test_same_inputs_same_outputs(tiny_beir, tmp_path):
    ds, cand = tiny_candidates(tiny_beir, k=10)
    outs = []
    for i in range(2):
        res = validate(cand, ds, ["dup:jaccard:0.3:1", _judge_dropping(ds, cand, {0, 5})], num_negatives=5)
        write_audit(tmp_path / str(i), res, cand, ds)
        outs.append((tmp_path / str(i) / "audit.jsonl").read_bytes() + (tmp_path / str(i) / "summary.json").read_bytes())
    assert outs[0] == outs[1]
