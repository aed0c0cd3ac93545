"""Calibration on hand-made score arrays, and in validate() (held-out positives, review labels, fallback)."""

import numpy as np
import pytest

from hardneg.types import Candidates
from hardneg.validate import validate
from hardneg.validate.calibrate import calibrate, candidate_cuts, choose, curve, merge_hidden
from hardneg.validate.tune import review_labels

from _validate_helpers import tiny_candidates


def _two_kinds(reps: int = 5):
    """Queries of kind A: relevant candidate at rank 1 (x 0.9); kind B: relevant at rank 2 (x 0.6) below a
    0.7 negative. N = 2 negatives per query."""
    a_x, a_l = [0.9, 0.5, 0.3, 0.1], [1, 0, 0, 0]
    b_x, b_l = [0.7, 0.6, 0.2, 0.1], [0, 1, 0, 0]
    x = np.array([a_x] * reps + [b_x] * reps, np.float32)
    lab = np.array([a_l] * reps + [b_l] * reps, np.int8)
    return x, lab, np.ones(x.shape, bool)


def test_curve_on_hand_made_arrays():
    x, lab, valid = _two_kinds()
    c = curve(x, lab, valid, 2, np.array([0.55, 0.65, 0.8, np.inf]))
    assert c.fn_rate.tolist() == [0.0, 0.25, 0.25, 0.5]
    assert c.coverage.tolist() == [1.0, 1.0, 1.0, 1.0]
    assert c.mean_rank.tolist() == [3.0, 2.5, 2.0, 1.5]  # looser cut, harder negatives


@pytest.mark.parametrize("target, expected", [(0.01, 0.6), (0.3, 0.9), (0.6, np.inf)])
def test_calibration_picks_the_expected_threshold(target, expected):
    x, lab, valid = _two_kinds()
    cal = calibrate("t", "abs", x, lab, valid, n=2, target=target, min_positives=5, min_queries=5)
    # the loosest cut that meets the target: just below the relevant candidate it must drop
    want = np.inf if expected == np.inf else float(np.nextafter(np.float32(expected), np.float32(-np.inf)))
    assert cal.cut == pytest.approx(want) and cal.index >= 0, cal.reason
    assert cal.curve.fn_rate[cal.index] <= target


def test_choose_prefers_coverage_then_hardness():
    x = np.array([[0.9, 0.8, 0.1]] * 4, np.float32)  # relevant at rank 1; with N = 2 a tight cut leaves queries short
    lab = np.array([[1, 0, 0]] * 4, np.int8)
    c = curve(x, lab, np.ones(x.shape, bool), 2, candidate_cuts(x, lab, np.ones(x.shape, bool)))
    i = choose(c, 0.0)
    assert c.coverage[i] == 1.0 and c.cuts[i] == pytest.approx(np.nextafter(np.float32(0.9), np.float32(-1)))
    assert choose(c, -1.0) == -1
    assert choose(c, 0.0, min_coverage=1.01) == -1  # no cut keeps that many queries full


def test_target_out_of_reach_takes_the_closest_cut_that_keeps_queries_full():
    # relevant at rank 1 everywhere, with negatives scoring above it: a cut that drops it leaves every query short
    x = np.array([[0.9, 0.95, 0.97, 0.1]] * 6 + [[0.9, 0.95, 0.4, 0.1]] * 6, np.float32)
    lab = np.array([[1, 0, 0, 0]] * 12, np.int8)
    valid = np.ones(x.shape, bool)
    cal = calibrate("t", "abs", x, lab, valid, n=3, target=0.0, min_positives=5, min_queries=5)
    c = cal.curve
    assert np.nanmin(c.fn_rate[c.coverage >= 0.5]) > 0  # 0% is only reached with under half the queries full
    assert cal.cut is not None and "out of reach" in cal.reason and cal.to_dict()["target_met"] is False
    assert c.coverage[cal.index] >= 0.5 and c.fn_rate[cal.index] == np.nanmin(c.fn_rate[c.coverage >= 0.5])
    ok = calibrate("t", "abs", x, lab, valid, n=3, target=0.5, min_positives=5, min_queries=5)
    assert ok.to_dict()["target_met"] is True


def test_too_little_signal_falls_back():
    x, lab, valid = _two_kinds(reps=2)
    cal = calibrate("t", "perc", x, lab, valid, n=2, target=0.01)
    assert cal.cut is None and "too little labelled signal" in cal.reason
    d = cal.to_dict()
    assert d["value"] is None and "curve" not in d


def test_merge_hidden_puts_positives_at_their_miner_rank():
    miner = np.array([[0.9, 0.5, -np.inf]], np.float32)
    x = np.array([[1.0, 2.0, np.nan]], np.float32)
    xs, lab, valid = merge_hidden(miner, x, np.array([[0.7, np.nan]], np.float32), np.array([[5.0, 6.0]], np.float32))
    assert xs[0, :3].tolist() == [1.0, 5.0, 2.0] and lab[0, :2].tolist() == [0, 1]
    # a search of depth 2 would have returned the held-out positive and pushed the 0.5 candidate out
    assert valid[0].tolist() == [True, True, False, False, False] and lab[0, 2] == -1
    _, lab, valid = merge_hidden(miner, x, np.array([[0.1, np.nan]], np.float32), np.array([[5.0, 6.0]], np.float32))
    assert valid[0].tolist() == [True, True, False, False, False] and lab[0, :2].tolist() == [0, 0]  # below depth


def _planted(n_q: int = 40, k: int = 12):
    """Candidates over a synthetic corpus: each query has 2 positives; judge scores put the held-out one at
    0.95 of the kept one's score, true negatives at 0.5-0.8. Miner ranks the hidden positive 3rd."""
    from hardneg.types import Corpus, Dataset, Queries

    docs = [f"doc {i}" for i in range(n_q * (k + 2))]
    ds = Dataset(Corpus([f"d{i}" for i in range(len(docs))], [""] * len(docs), docs),
                 Queries([f"q{i}" for i in range(n_q)], [f"query {i}" for i in range(n_q)]), {})
    base = np.arange(n_q)[:, None] * (k + 2)
    pos_rows = np.concatenate([base, base + 1], 1).astype(np.int64)
    rows = (base + 2 + np.arange(k)[None, :]).astype(np.int64)
    scores = np.tile(np.linspace(0.9, 0.3, k, dtype=np.float32), (n_q, 1))
    pos_scores = np.tile(np.array([[0.95, 0.85]], np.float32), (n_q, 1))  # hidden one between ranks 1 and 2
    rng = np.random.default_rng(0)
    judge_s = {docs[r]: float(s) for r, s in zip(rows.ravel(), rng.uniform(0.5, 0.8, rows.size))}
    for q in range(n_q):
        judge_s[docs[pos_rows[q, 0]]] = 1.0
        judge_s[docs[pos_rows[q, 1]]] = 0.95
    cand = Candidates([f"q{i}" for i in range(n_q)], rows, scores, pos_rows, pos_scores)

    class J:
        compares, units, name = "query", "test", "teacher"

        def score_pairs(self, queries, texts):
            return np.array([judge_s[t] for t in texts], np.float32)
    return ds, cand, J()


def test_validate_calibrates_from_held_out_positives():
    ds, cand, judge = _planted()
    res = validate(cand, ds, [judge], ["perc:0.5"], num_negatives=5, target_fn_rate=0.01)
    cal = res.calibration["teacher"]
    # hidden positives sit at 0.95 x the kept positive; negatives at most 0.8: any perc in (0.8, 0.95) works,
    # and the loosest such cut (hardest negatives) is just below 0.95
    assert 0.8 < cal["value"] <= 0.95 and cal["value"] == pytest.approx(0.95, abs=1e-3), cal["reason"]
    assert cal["source"] == "held-out extra positives" and cal["queries"] == 40 and cal["positives"] == 80
    assert res.rules["teacher"][0].kind == "perc" and res.rules["teacher"][0].value == pytest.approx(cal["value"])
    assert len(cal["curve"]["fn_rate"]) == len(cal["curve"]["coverage"]) == len(cal["curve"]["value"])
    # each positive is held out in turn: the first (miner 0.95) lands at rank 1, the second (0.85) at rank 2
    assert cal["fn_by_rank"][:3] == [0.5, 0.5, 0.0]
    assert not res.dropped.any()  # the real candidates are all below the cut


def test_validate_calibrates_from_review_labels():
    ds, cand, judge = _planted()
    labels = {(q, ds.corpus.ids[cand.rows[i, 0]]): True for i, q in enumerate(cand.query_ids)}  # rank 1 relevant
    labels |= {(q, ds.corpus.ids[cand.rows[i, 1]]): False for i, q in enumerate(cand.query_ids)}
    lab = review_labels(labels, cand, ds.corpus.ids, 4)
    assert (lab[:, 0] == 1).all() and (lab[:, 1] == 0).all() and (lab[:, 2:] == -1).all()
    top = {ds.corpus.texts[r] for r in cand.rows[:, 0]}

    class Sharp:  # the judge scores the reviewed-relevant candidates above every other one
        compares, units, name = "query", "test", "teacher"

        def score_pairs(self, queries, texts):
            return np.where([x in top for x in texts], 0.9, judge.score_pairs(queries, texts)).astype(np.float32)

    res = validate(cand, ds, [Sharp()], ["abs:0.99"], num_negatives=3, target_fn_rate=0.01, labels=labels)
    cal = res.calibration["teacher"]
    assert cal["source"] == "review labels" and cal["value"] is not None and cal["target_met"], cal["reason"]
    assert res.dropped[:, 0].all()  # the reviewed-relevant candidates fall above the calibrated cut


def test_tiny_fixture_falls_back_to_the_default_rule(tiny_beir):
    ds, cand = tiny_candidates(tiny_beir, k=10)
    from _validate_helpers import TableJudge

    res = validate(cand, ds, [TableJudge({}, name="t")], [], num_negatives=3, target_fn_rate=0.01)
    assert "too little labelled signal" in res.calibration["t"]["reason"]
    assert res.rules["t"][0].label() == "perc:0.95"
    with pytest.raises(ValueError, match="target"):
        validate(cand, ds, [TableJudge({}, name="t")], [], num_negatives=3, target_fn_rate=1.5)


def test_rotations_keep_one_positive_and_hide_the_others():
    from hardneg.validate.tune import rotations

    pos_rows = np.array([[4, 5, 6], [7, -1, -1], [8, 9, -1]], np.int64)
    q, hid = rotations(pos_rows, np.array([0, 2]))
    assert q.tolist() == [0, 0, 0, 2, 2]
    assert hid.tolist() == [[False, True, True], [True, False, True], [True, True, False],
                            [False, True, False], [True, False, False]]


def test_weights_count_a_repeated_query_once():
    """Three identical rows of query A weighed 1/3 give the curve of A and B once each."""
    x, lab, valid = _two_kinds(reps=1)
    cuts = np.array([0.55, 0.65, 0.8, np.inf])
    once = curve(x, lab, valid, 2, cuts)
    rep = [0, 0, 0, 1]
    weighed = curve(x[rep], lab[rep], valid[rep], 2, cuts, weights=np.array([1 / 3] * 3 + [1.0]))
    plain = curve(x[rep], lab[rep], valid[rep], 2, cuts)
    for f in ("fn_rate", "coverage", "mean_rank"):
        np.testing.assert_allclose(getattr(weighed, f), getattr(once, f))
    assert plain.fn_rate[-1] == pytest.approx(4 / 8) and plain.mean_rank[0] != pytest.approx(once.mean_rank[0])


def test_rotation_rows_weigh_one_per_query():
    from hardneg.validate.tune import labelled

    pos_rows = np.array([[0, 1, 2], [3, -1, -1], [4, 5, -1]])
    rows = np.arange(6, 18).reshape(3, 4)
    scores = np.tile(np.linspace(1.0, 0.4, 4, dtype=np.float32), (3, 1))
    cand = Candidates(["a", "b", "c"], rows, scores, pos_rows, np.where(pos_rows >= 0, 1.5, np.nan), {}, {})
    cal = np.array([0, 2])  # the queries with two or more positives
    s = np.random.default_rng(0).random(rows.shape).astype(np.float32)
    pos = np.random.default_rng(1).random(pos_rows.shape).astype(np.float32)
    x, lb, valid, w = labelled("perc", "min", s, pos, cand, cal, 4)
    assert len(w) == len(x) == 5  # 3 rotations of a, 2 of c
    np.testing.assert_allclose(w, [1 / 3] * 3 + [1 / 2] * 2)
    assert (lb == 1).sum() == 2 * 3 + 1 * 2  # each rotation hides the query's other positives
