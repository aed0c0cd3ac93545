"""fuse() on hand-made runs."""

import numpy as np
import pytest

from hardneg.types import Run
from hardneg.retrieve.fusion import fuse

DOCS = [f"d{i}" for i in range(6)]


def run(name, rows, scores):
    return Run(["q1", "q2"], np.array(rows, np.int64), np.array(scores, np.float32), DOCS, name)


def test_rrf_by_hand():
    a = run("a", [[0, 1, 2], [3, -1, -1]], [[9, 8, 7], [5, -np.inf, -np.inf]])
    b = run("b", [[2, 0, 4], [4, 3, -1]], [[0.9, 0.5, 0.1], [0.7, 0.6, -np.inf]])
    f = fuse([a, b], "rrf", k=4, rrf_k=60)
    # q1: d0 = 1/61 + 1/62, d2 = 1/63 + 1/61, d1 = 1/62, d4 = 1/63
    np.testing.assert_array_equal(f.indices[0], [0, 2, 1, 4])
    np.testing.assert_allclose(f.scores[0], [1 / 61 + 1 / 62, 1 / 63 + 1 / 61, 1 / 62, 1 / 63], rtol=1e-6)
    np.testing.assert_array_equal(f.retriever_ranks["a"][0], [1, 3, 2, 0])
    np.testing.assert_array_equal(f.retriever_ranks["b"][0], [2, 1, 0, 3])
    np.testing.assert_allclose(f.retriever_scores["a"][0, :3], [9, 7, 8])
    assert np.isnan(f.retriever_scores["a"][0, 3])
    # q2: d3 = 1/61 + 1/62, d4 = 1/61; one slot left empty
    np.testing.assert_array_equal(f.indices[1], [3, 4, -1, -1])
    assert np.isneginf(f.scores[1, 2:]).all()
    assert f.retriever_ranks["a"].dtype == np.int32


def test_score_fusion_min_max():
    a = run("a", [[0, 1, 2], [0, 1, 2]], [[10, 5, 0], [1, 1, 1]])
    b = run("b", [[2, 1, 0], [5, -1, -1]], [[3, 2, 1], [4, -np.inf, -np.inf]])
    f = fuse([a, b], "score", weights=[1.0, 2.0])
    # q1: d0 = 1 + 0, d1 = .5 + 2*.5, d2 = 0 + 2*1 -> d2 (2), d1 (1.5), d0 (1)
    np.testing.assert_array_equal(f.indices[0], [2, 1, 0])
    np.testing.assert_allclose(f.scores[0], [2, 1.5, 1])
    # q2: equal scores normalise to 1: d5 = 2, then d0, d1, d2 = 1 each -> rows ascending; k=3
    np.testing.assert_array_equal(f.indices[1], [5, 0, 1])


def test_fuse_rejects_mismatched_runs():
    a = run("a", [[0], [1]], [[1], [1]])
    with pytest.raises(ValueError):
        fuse([a, a])
    with pytest.raises(ValueError):
        fuse([a], method="max")
