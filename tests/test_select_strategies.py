"""Selection strategies on hand-made score arrays with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from hardneg.select import parse_strategy, select_negatives
from hardneg.types import Candidates
from hardneg.select.rules import later_duplicates, positive_score
from hardneg.select.sample import pick, query_keys, random_rows, uniforms

NEG = -np.inf


def cands(pos=((0.85, np.nan), (0.9, 0.5))) -> Candidates:
    rows = np.array([[5, 6, 7, 8, 9, -1], [1, 2, 3, 4, -1, -1]])
    scores = np.array([[.9, .8, .7, .6, .5, NEG], [.95, .6, .4, .3, NEG, NEG]], np.float32)
    pos_rows = np.array([[0, -1], [10, 11]])
    return Candidates(["a", "b"], rows, scores, pos_rows, np.array(pos, np.float32))


def sel(spec, n=2, **kw):
    return select_negatives(cands(), parse_strategy(spec), n, **kw)


def test_parse_specs():
    assert parse_strategy("top") == parse_strategy(" top ")
    s = parse_strategy("range:10-50:random")
    assert (s.window, s.sampling) == ((10, 50), "random")
    s = parse_strategy("topk-percpos:0.95:range=0-30,max=0.9")
    assert (s.perc, s.window, s.max_score) == (0.95, (0, 30), 0.9)
    s = parse_strategy("simans:a=2,b=0.1")
    assert (s.sampling, s.a, s.b) == ("simans", 2.0, 0.1)
    assert parse_strategy("random").from_corpus
    assert parse_strategy("top", min_score=0.1).min_score == 0.1
    for bad in ("nope", "range", "range:5-2", "range:a-b", "topk-abs", "topk-abs:x", "top:foo=1", "random:range=1-2",
                "top:what"):
        with pytest.raises(ValueError):
            parse_strategy(bad)


def test_top_and_window():
    assert sel("top").rows.tolist() == [[5, 6], [1, 2]]
    r = sel("range:1-3")
    assert r.rows.tolist() == [[6, 7], [2, 3]]
    assert r.ranks.tolist() == [[2, 3], [2, 3]]
    assert np.allclose(r.scores, [[.8, .7], [.6, .4]])


def test_random_window_stays_in_window_and_is_sorted():
    for seed in range(20):
        r = sel("range:1-4:random", seed=seed)
        assert set(r.rows[0]) <= {6, 7, 8} and set(r.rows[1]) <= {2, 3, 4}
        assert (np.diff(r.scores, axis=1) <= 0).all()  # best first
    draws = {tuple(sel("range:1-4:random", seed=s).rows[0]) for s in range(30)}
    assert len(draws) == 3  # all three 2-subsets of {6, 7, 8} show up


def test_nv_retriever_rules():
    r = sel("topk-abs:0.75")
    assert r.rows.tolist() == [[7, 8], [2, 3]] and r.skipped == {"topk-abs": 3}
    # min positive: a 0.85 -> drop > 0.75; b 0.5 -> drop > 0.4
    r = sel("topk-marginpos:0.1")
    assert r.rows.tolist() == [[7, 8], [3, 4]] and r.skipped == {"topk-marginpos": 4}
    # 0.95 x pos: a 0.8075, b 0.475
    r = sel("topk-percpos:0.95")
    assert r.rows.tolist() == [[6, 7], [3, 4]] and r.skipped == {"topk-percpos": 3}


def test_pos_score_choice():
    p = np.array([[0.9, 0.5, np.nan], [np.nan, np.nan, np.nan]], np.float32)
    assert positive_score(p, "min")[0] == pytest.approx(0.5)
    assert positive_score(p, "mean")[0] == pytest.approx(0.7)
    assert positive_score(p, "max")[0] == pytest.approx(0.9)
    assert np.isnan(positive_score(p, "min")[1])
    # with max, query b's threshold is 0.9 - 0.1: only 0.95 goes
    assert sel("topk-marginpos:0.1", pos_score="max").rows[1].tolist() == [2, 3]
    with pytest.raises(ValueError):
        positive_score(p, "median")


def test_percpos_negative_positive_score_still_below():
    c = Candidates(["q"], np.array([[1, 2, 3]]), np.array([[-0.1, -0.2, -0.5]], np.float32), np.array([[0]]),
                   np.array([[-0.2]], np.float32))
    r = select_negatives(c, parse_strategy("topk-percpos:0.9"), 3)
    assert r.rows.tolist() == [[3, -1, -1]]  # threshold -0.2 - 0.02 = -0.22


def test_bounds_and_short_policies():
    r = sel("top:min=0.65")
    assert r.rows.tolist() == [[5, 6], [1, -1]] and r.short == 1 and r.still_short == 1 and r.keep.all()
    r = sel("top:min=0.65", short="drop")
    assert r.keep.tolist() == [True, False] and r.dropped == 1
    r = sel("top:max=0.85", n=3)
    assert r.rows.tolist() == [[6, 7, 8], [2, 3, 4]] and r.skipped == {"max-score": 2}


def test_pad_fills_from_further_down():
    r = sel("range:0-2:min=0.35", n=3, short="pad")  # window holds 2 -> pad the 3rd from below the window
    assert r.rows.tolist() == [[5, 6, 7], [1, 2, 3]] and r.padded == 2 and r.still_short == 0
    r = sel("range:0-2:min=0.35", n=3, short="keep")
    assert r.rows.tolist() == [[5, 6, -1], [1, 2, -1]] and r.still_short == 2


def test_simans_prefers_scores_near_positive_plus_b():
    q, k = 4000, 5
    rows = np.tile(np.arange(1, k + 1), (q, 1))
    scores = np.tile(np.array([0.9, 0.7, 0.5, 0.3, 0.1], np.float32), (q, 1))
    c = Candidates([f"q{i}" for i in range(q)], rows, scores, np.zeros((q, 1), np.int64),
                   np.full((q, 1), 0.8, np.float32))
    r = select_negatives(c, parse_strategy("simans:a=20,b=-0.3"), 1, seed=3)
    freq = np.bincount(r.rows[:, 0], minlength=k + 1)[1:] / q
    w = np.exp(-20 * (scores[0] - 0.8 + 0.3) ** 2)
    assert np.allclose(freq, w / w.sum(), atol=0.03)
    assert freq.argmax() == 2  # 0.5 = pos + b


def test_seed_and_block_independence():
    q, k = 300, 40
    rng = np.random.default_rng(0)
    scores = -np.sort(-rng.random((q, k)).astype(np.float32), axis=1)
    rows = np.argsort(rng.random((q, 1000)), axis=1)[:, :k]
    c = Candidates([f"q{i}" for i in range(q)], rows, scores, np.full((q, 1), 2000), scores[:, :1] + 0.01)
    for spec in ("range:5-30:random", "simans:a=3", "top"):
        st = parse_strategy(spec)
        whole = select_negatives(c, st, 7, seed=11)
        parts = [select_negatives(c.take(np.arange(s, min(s + 37, q))), st, 7, seed=11) for s in range(0, q, 37)]
        assert np.array_equal(whole.rows, np.concatenate([p.rows for p in parts]))
        assert np.array_equal(whole.rows, select_negatives(c, st, 7, seed=11).rows)
        if spec != "top":
            assert not np.array_equal(whole.rows, select_negatives(c, st, 7, seed=12).rows)


def test_duplicate_texts_among_candidates():
    groups = np.array([[3, 3, 4, 3, 5]])
    keep = np.array([[True, True, True, True, False]])
    assert later_duplicates(groups, keep).tolist() == [[False, True, False, True, False]]
    c = Candidates(["q"], np.array([[1, 2, 3, 4, 5]]), np.linspace(.9, .5, 5, dtype=np.float32)[None],
                   np.array([[0]]), np.array([[1.0]], np.float32))
    r = select_negatives(c, parse_strategy("top"), 3, groups=np.array([[1, 1, 2, 1, 3]]))
    assert r.rows.tolist() == [[1, 3, 5]] and r.skipped["dup-negative"] == 2


def test_sampling_helpers():
    keys = query_keys(["x", "y"], 0)
    assert keys[0] != keys[1] and np.array_equal(keys, query_keys(["x", "y"], 0))
    u = uniforms(keys, 1000)
    assert u.min() > 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.05
    assert np.array_equal(uniforms(keys, 10, start=5)[:, :3], uniforms(keys, 8)[:, 5:8])
    assert pick(np.array([[0.1, NEG, 0.7, 0.3]]), 3).tolist() == [[2, 3, 0]]
    excl = np.array([[0, 1, -1], [2, -1, -1]])
    for n_docs in (10, 100000):  # small corpus ranked whole; big one drawn with a margin
        r = random_rows(query_keys(["a", "b"], 1), n_docs, excl, 5)
        assert (r >= 0).all() and len(set(r[0])) == 5 and not {0, 1} & set(r[0]) and 2 not in r[1]
    r = random_rows(query_keys(["a"], 1), 4, np.array([[0, 1]]), 5)
    assert sorted(r[0].tolist()) == [-1, -1, -1, 2, 3]


def test_fewer_candidates_than_negatives():
    c = Candidates(["q"], np.array([[4, 5]]), np.array([[.5, .4]], np.float32), np.array([[0]]),
                   np.array([[.9]], np.float32))
    for spec in ("top", "range:0-5:random", "simans"):
        r = select_negatives(c, parse_strategy(spec), 4)
        assert r.rows.shape == (1, 4) and sorted(r.rows[0].tolist()) == [-1, -1, 4, 5] and r.still_short == 1
