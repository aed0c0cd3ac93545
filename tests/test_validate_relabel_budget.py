"""Relabelling needs stronger evidence than a drop (positive-level rule, precision calibration), and the search
depth budgets for what validation drops (a second, deeper pass for queries left short)."""

import json

import numpy as np
import pytest

from hardneg.types import Corpus, Dataset, Queries
from hardneg.validate import validate
from hardneg.validate.budget import budget_depth, deeper_depth, drop_shares
from hardneg.validate.calibrate import calibrate_relabel, precision_curve
from hardneg.validate.core import relabel_rule
from hardneg.validate.spec import RuleSpec

from _pipeline_helpers import mine
from _validate_helpers import TableJudge, tiny_candidates


def test_precision_curve_on_hand_made_arrays():
    x = np.array([[0.9, 0.5, 0.1], [0.7, 0.4, 0.2]], np.float32)
    lab = np.array([[1, 0, -1], [1, 1, 0]], np.int8)
    p = precision_curve(x, lab, np.ones(x.shape, bool), np.array([0.0, 0.45, 0.6, 0.8, np.inf]))
    # labelled: 0.9 rel, 0.5 not, 0.7 rel, 0.4 rel, 0.2 not (0.1 unlabelled)
    assert p.count.tolist() == [5, 3, 2, 1, 0]
    assert p.precision[:4].tolist() == pytest.approx([3 / 5, 2 / 3, 1.0, 1.0]) and np.isnan(p.precision[4])
    assert p.recall.tolist() == pytest.approx([1.0, 2 / 3, 2 / 3, 1 / 3, 0.0])


def test_relabel_calibration_picks_the_loosest_precise_cut():
    # 10 queries: a relevant candidate at x 0.3 and a non-relevant one at 0.1; one more query holds two
    # non-relevant candidates at 0.25. Precision 0.9 holds for x > 0.25 (10 of 10), not for x > 0.1 (10 of 12)
    x = np.array([[0.3, 0.1]] * 10, np.float32)
    x = np.concatenate([x, np.array([[0.25, 0.25]], np.float32)])
    lab = np.concatenate([np.array([[1, 0]] * 10, np.int8), np.array([[0, 0]], np.int8)])
    valid = np.ones(x.shape, bool)
    c = calibrate_relabel("t", "perc", x, lab, valid, target=0.9, floor=0.0)
    assert c.cut == pytest.approx(0.25) and "precision 1.000" in c.reason
    assert calibrate_relabel("t", "perc", x, lab, valid, target=0.9, floor=0.28).cut == pytest.approx(0.28)
    none = calibrate_relabel("t", "perc", x, lab, valid, target=0.9, floor=0.31)  # nothing above the floor
    assert none.cut == np.inf and "nothing is relabelled" in none.reason


def test_relabel_rule_is_stricter_than_the_drop_rule():
    assert relabel_rule(RuleSpec("perc", 0.95)).value == 1.0
    assert relabel_rule(RuleSpec("margin", 0.1)).value == 0.0
    assert relabel_rule(RuleSpec("abs", 0.5)).value == 0.9 and relabel_rule(RuleSpec("abs", 0.95)).value == 0.95


def test_relabel_needs_the_level_of_the_known_positive(tiny_beir):
    ds, cand = tiny_candidates(tiny_beir, k=10)
    table = {}
    for q in range(len(cand.query_ids)):  # positives score 1.0; col 0 above them, col 1 just under, rest low
        for c in range(10):
            table[(ds.queries.text(cand.query_ids[q]), ds.corpus.full_texts()[cand.rows[q, c]])] = (
                1.05 if c == 0 else 0.97 if c == 1 else 0.2)
    judge = TableJudge(table, name="t")
    for q in range(len(cand.query_ids)):
        for r in cand.pos_rows[q][cand.pos_rows[q] >= 0]:
            judge.positive_pairs.add((ds.queries.text(cand.query_ids[q]), ds.corpus.full_texts()[r]))
    res = validate(cand, ds, [judge], ["perc:0.95"], num_negatives=3, policy="relabel=all,drop=any")
    assert res.relabelled[:, 0].all() and not res.relabelled[:, 1:].any()  # above the positive: relabelled
    assert (res.action[:, 1] == 1).all()  # within 5% of it: only dropped
    # relabel=any alone: the candidate below the positive is flagged but not relabelled, so it is kept
    res = validate(cand, ds, [judge], ["perc:0.95"], num_negatives=3, policy="relabel=any")
    assert res.relabelled[:, 0].all() and (res.action[:, 1] == 0).all()


def test_budget_depth_and_drop_shares():
    assert budget_depth(10, 0.5, 5) == 30 and budget_depth(10, 0.0) == 10
    assert budget_depth(10, 1.0) == 200  # capped at a 95% drop share
    judged = np.array([[True] * 4, [True, True, False, False], [False] * 4])
    acted = np.array([[True, True, True, False], [False] * 4, [False] * 4])
    s = drop_shares(judged, acted)
    assert s[:2].tolist() == [0.75, 0.0] and np.isnan(s[2])
    short = np.array([True, False, False])
    d, info = deeper_depth(judged, acted, short, 3, 4, 100, margin=1)
    assert d == 16 and info["drop_share_q90"] == 0.75 and info["short_for_depth"] == 1  # ceil(4 / 0.25)
    assert deeper_depth(judged, acted, short, 3, 4, 4)[0] is None  # the corpus is searched to the end
    assert deeper_depth(judged, acted, np.zeros(3, bool), 3, 4, 100)[0] is None


def _corpus(n_docs=120, n_q=6):
    """Docs about `topic i`; two in three carry the word `flagged`, which the judge drops."""
    ids = [f"d{i}" for i in range(n_docs)]
    texts = [f"topic {i % n_q} note {i} " + ("flagged" if i % 3 else "plain") for i in range(n_docs)]
    qids = [f"q{j}" for j in range(n_q)]
    qrels = {q: {f"d{j}": 1} for j, q in enumerate(qids)}
    return Dataset(Corpus(ids, [""] * n_docs, texts), Queries(qids, [f"topic {j}" for j in range(n_q)]), qrels)


class FlagJudge:
    compares, units, name = "query", "test", "flag"

    def score_pairs(self, queries, docs):
        return np.array([0.99 if "flagged" in d else 0.1 for d in docs], np.float32)


def test_mine_searches_deeper_when_validation_leaves_queries_short(tmp_path):
    ds = _corpus()
    out = tmp_path / "run"
    res = mine(ds, [FlagJudge()], rules=["abs:0.5"], retrievers=["bm25"], num_negatives=5, validate_budget=2,
               out=str(out), formats=["flag"])
    info = res.summary["depth_budget"]
    assert info["short_for_depth"] > 0 and info["second_depth"] >= 2 * info["first_depth"]
    assert res.candidates.rows.shape[1] == info["second_depth"]
    assert res.selection.still_short == 0 and (res.selection.rows >= 0).all()
    summ = json.loads((out / "summary.json").read_text())
    assert summ["depth_budget"] == info
    vs = json.loads((out / "validation" / "summary.json").read_text())
    assert vs["queries_short"] == 0
    # a given --depth is never changed
    res = mine(ds, [FlagJudge()], rules=["abs:0.5"], retrievers=["bm25"], num_negatives=5, depth=8,
               validate_budget=0)
    assert "depth_budget" not in res.summary and res.selection.still_short > 0


def test_calibrated_relabel_rule_in_validate():
    from test_validate_calibrate import _planted

    ds, cand, judge = _planted()
    res = validate(cand, ds, [judge], ["perc:0.5"], num_negatives=5, target_fn_rate=0.01,
                   policy="relabel=all,drop=any")
    rel = res.calibration["teacher"]["relabel"]
    # held out in turn, the positive scoring 1.0 sits above the kept 0.95 one: precise at the positive's level
    assert rel["value"] == pytest.approx(1.0) and rel["precision_curve"]["precision"][0] == 1.0, rel["reason"]
    assert not res.relabelled.any()  # every real candidate lies below its positive
    res = validate(cand, ds, [judge], ["perc:0.5"], num_negatives=5, target_fn_rate=0.01,
                   policy="relabel=all,drop=any", relabel_precision=1.0)
    assert res.calibration["teacher"]["relabel"]["value"] == pytest.approx(1.0)


def test_relabel_precision_is_a_checked_config_key_and_flag(tiny_beir, tmp_path):
    from typer.testing import CliRunner

    from hardneg.cli import app
    from hardneg.pipeline import ConfigError, from_dict

    cfg = from_dict({"validate": {"judges": ["dup:exact"], "relabel_precision": 0.75}})
    assert cfg.validate.relabel_precision == 0.75 and from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match=r"^x.yaml: validate.relabel_precision: must be in \(0, 1\]"):
        from_dict({"validate": {"judges": ["dup:exact"], "relabel_precision": 1.5}}, "x.yaml")
    r = CliRunner().invoke(app, ["mine", "--data", str(tiny_beir), "--judge", "dup:exact", "--relabel-precision", "0",
                                 "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "--relabel-precision: must be in (0, 1]" in r.output
    assert not (tmp_path / "o").exists()
