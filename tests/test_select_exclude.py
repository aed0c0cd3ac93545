"""Positives are never negatives: qrels positives, same-text documents, pooled positives of repeated queries."""

from __future__ import annotations

import numpy as np

from hardneg.select.exclude import KIND_NAMES, excluded_rows, match_kinds, normalise, text_groups


def test_normalise():
    assert normalise("  Hello,   WORLD!\n") == "hello world"
    assert normalise("Straße — “quoted”") == normalise("STRASSE  quoted")


def test_text_groups():
    g = text_groups(["A cat.", "a  CAT", "dog", "A cat!", "dog?"])
    assert g.tolist() == [0, 0, 2, 0, 2]


def test_excluded_rows_kinds():
    docs = ["Cats purr.", "cats PURR", "Dogs bark", "Fish swim", "fish, swim!", "Birds fly"]
    g = text_groups(docs)
    queries = ["Do cats purr?", "do cats purr", "Do fish swim?"]
    positives = [[0], [2], [3]]
    rows, kinds = excluded_rows(queries, positives, g)
    got = [dict(zip(r[r >= 0].tolist(), (KIND_NAMES[x] for x in k[r >= 0]))) for r, k in zip(rows, kinds)]
    # q0 and q1 share a normalised text, so each excludes the other's positive; doc 1 has doc 0's text
    assert got[0] == {0: "positive", 2: "pooled-positive", 1: "same-text"}
    assert got[1] == {2: "positive", 0: "pooled-positive", 1: "same-text"}
    assert got[2] == {3: "positive", 4: "same-text"}


def test_multi_positive_query_excludes_all():
    g = text_groups(["a", "b", "c", "d"])
    rows, kinds = excluded_rows(["q"], [[1, 3]], g)
    assert sorted(rows[0].tolist()) == [1, 3] and kinds[0].tolist() == [0, 0]
    cand = np.array([[0, 1, 2, 3, -1]])
    assert match_kinds(cand, rows, kinds).tolist() == [[-1, 0, -1, 0, -1]]


def test_match_kinds_blocks():
    rng = np.random.default_rng(0)
    cand = rng.integers(0, 50, (100, 20))
    excl = rng.integers(-1, 50, (100, 4))
    kinds = np.where(excl >= 0, rng.integers(0, 3, excl.shape), -1).astype(np.int8)
    a = match_kinds(cand, excl, kinds, block=7)
    b = match_kinds(cand, excl, kinds)
    assert np.array_equal(a, b)
    for i in range(100):  # the obvious per-row check
        for j in range(20):
            hits = [kinds[i, e] for e in range(4) if excl[i, e] == cand[i, j] and excl[i, e] >= 0]
            assert a[i, j] == (hits[0] if hits else -1)
