"""Keep/drop rules, spec parsing and refill on hand-made scores."""

import numpy as np
import pytest

from hardneg.validate import rules as R
from hardneg.validate.spec import parse_judge, parse_rule

NAN = np.nan


def test_perc_rule_is_fraction_of_positive():
    neg = np.array([[0.96, 0.94, 0.5], [0.5, 0.3, NAN]], np.float32)
    pos = np.array([[1.0], [0.5]], np.float32)
    m = R.drop_mask(neg, pos, parse_rule("perc:0.95"))
    assert m.tolist() == [[True, False, False], [True, False, False]]


def test_perc_rule_is_sign_safe_for_negative_logits():
    # pos = -2: threshold is -2 - 2 * 0.05 = -2.1, so -2.05 is dropped and -2.2 kept
    m = R.drop_mask(np.array([[-2.05, -2.2]], np.float32), np.array([[-2.0]], np.float32), parse_rule("perc:0.95"))
    assert m.tolist() == [[True, False]]


def test_margin_rule_and_absolute_rule():
    neg = np.array([[0.85, 0.95, 0.7]], np.float32)
    pos = np.array([[1.0]], np.float32)
    assert R.drop_mask(neg, pos, parse_rule("margin:0.1")).tolist() == [[False, True, False]]
    assert R.drop_mask(neg, pos, parse_rule("abs:0.8")).tolist() == [[True, True, False]]


def test_positive_aggregate_min_mean_max():
    pos = np.array([[0.9, 0.5, NAN], [NAN, NAN, NAN]], np.float32)
    assert np.allclose(R.positive_reference(pos, "min"), [0.5, NAN], equal_nan=True)
    assert np.allclose(R.positive_reference(pos, "mean"), [0.7, NAN], equal_nan=True)
    assert np.allclose(R.positive_reference(pos, "max"), [0.9, NAN], equal_nan=True)
    neg = np.array([[0.6, 0.6], [0.99, 0.99]], np.float32)
    # min: 0.6 > 0.5 -> drop; max: 0.6 < 0.9 -> keep; no positive score -> never dropped by a relative rule
    assert R.drop_mask(neg, pos, parse_rule("margin:0")).tolist() == [[True, True], [False, False]]
    assert R.drop_mask(neg, pos, parse_rule("margin:0:max")).tolist() == [[False, False], [False, False]]
    assert R.drop_mask(neg, pos, parse_rule("margin:0"), pos_agg="max").tolist() == [[False, False], [False, False]]


def test_combine_any_all_majority():
    votes = np.array([[[1, 1, 0, 0]], [[1, 0, 0, 1]], [[1, 0, 1, 0]]], bool)  # 3 judges, 1 query, 4 cells
    judged = np.ones_like(votes)
    assert R.combine(votes, judged, "any").tolist() == [[True, True, True, True]]
    assert R.combine(votes, judged, "all").tolist() == [[True, False, False, False]]
    assert R.combine(votes, judged, "majority").tolist() == [[True, False, False, False]]
    judged[2, 0, 1] = False  # judge 3 gave no answer on cell 1: one of two votes is not a majority
    assert R.combine(votes, judged, "majority").tolist() == [[True, False, False, False]]
    votes[1, 0, 1] = True
    assert R.combine(votes, judged, "all").tolist() == [[True, True, False, False]]
    with pytest.raises(ValueError):
        R.combine(votes, judged, "most")


def test_first_n_refills_in_rank_order():
    keep = np.array([[0, 1, 1, 0, 1, 1], [0, 0, 0, 0, 0, 1], [1, 1, 1, 1, 1, 1]], bool)
    cols, sel = R.first_n(keep, 3)
    assert cols.tolist() == [[1, 2, 4], [5, -1, -1], [0, 1, 2]]
    assert sel.sum(axis=1).tolist() == [3, 1, 3]


def test_specs_parse_and_reject():
    assert parse_judge("dup:minhash:0.7").threshold == pytest.approx(0.7)
    assert parse_judge("teacher").model == "mpnet"
    assert (parse_judge("teacher:mpnet:256").model, parse_judge("teacher:mpnet:256").max_length) == ("mpnet", 256)
    assert parse_judge("cross-encoder:/m/ce:128").max_length == 128
    assert parse_judge("cross-encoder:org/ce").max_length == 0
    r = parse_rule("teacher=margin:0.05:mean")
    assert (r.judge, r.kind, r.value, r.pos_agg, r.label()) == ("teacher", "margin", 0.05, "mean", "margin:0.05:mean")
    for bad in ("perc:1.5", "foo:1", "abs:x", "perc:0.9:median"):
        with pytest.raises(ValueError):
            parse_rule(bad)
    for bad in ("bm25", "cross-encoder", "dup:fuzzy", "dup:jaccard:2", "llm:openai", "llm:remote", "teacher:mpnet:4"):
        with pytest.raises(ValueError):
            parse_judge(bad)
