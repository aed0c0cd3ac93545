"""Metric values on hand-made runs with known answers; tables and charts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hardneg.evaluate.metrics import compare, evaluate, metric_names, parse_metric, relevant_qrels
from hardneg.evaluate.report import metric_keys, metrics_table, plot_metrics
from hardneg.types import Run

QRELS = {"q1": {"d1": 2, "d2": 1, "d9": -1}, "q2": {"d3": 1}, "q3": {"d7": 0}, "q4": {"d4": -1}}
# q1 ranks d2 (grade 1) above d1 (grade 2); q2 finds nothing; q3/q4 have no relevant doc and are not evaluated
RUN = {"q1": {"d2": 0.9, "d1": 0.5, "d5": 0.1}, "q3": {"d7": 1.0}}


def _log2(x):
    return math.log2(x)


def test_known_values_with_graded_ndcg():
    m = evaluate(RUN, QRELS, ["ndcg@10", "mrr@10", "recall@100", "map@100", "P@2", "ndcg@1"])
    dcg = 1 / _log2(2) + 2 / _log2(3)  # linear gains, as trec_eval and BEIR
    idcg = 2 / _log2(2) + 1 / _log2(3)
    assert m["ndcg@10"] == pytest.approx((dcg / idcg + 0.0) / 2)
    assert m["ndcg@1"] == pytest.approx((1 / 2 + 0.0) / 2)  # grade 1 at rank 1 against an ideal grade 2
    assert m["mrr@10"] == pytest.approx(0.5)
    assert m["recall@100"] == pytest.approx(0.5)
    assert m["map@100"] == pytest.approx(0.5)  # q1: (1/1 + 2/2) / 2 = 1; q2: 0
    assert m["p@2"] == pytest.approx(0.5)


def test_negative_and_zero_grades_are_not_relevant():
    assert relevant_qrels(QRELS) == {"q1": {"d1": 2, "d2": 1}, "q2": {"d3": 1}}
    # retrieving the -1 document first pushes the relevant ones down
    m = evaluate({"q1": {"d9": 3.0, "d1": 2.0, "d2": 1.0}, "q2": {"d3": 1.0}}, QRELS, ["mrr@10", "p@1"])
    assert m == {"mrr@10": pytest.approx((0.5 + 1.0) / 2), "p@1": pytest.approx(0.5)}


def test_cutoffs_and_per_query():
    run = {"q1": {"x": 5.0, "y": 4.0, "d1": 3.0}, "q2": {"d3": 1.0}}
    assert evaluate(run, QRELS, ["mrr@2"])["mrr@2"] == pytest.approx(0.5)  # q1 finds nothing in its top 2
    assert evaluate(run, QRELS, ["mrr@3"])["mrr@3"] == pytest.approx((1 / 3 + 1) / 2)
    per = evaluate(run, QRELS, ["recall@3", "mrr@3"], per_query=True)
    assert per == {"recall@3": {"q1": 0.5, "q2": 1.0}, "mrr@3": {"q1": pytest.approx(1 / 3), "q2": 1.0}}


def test_run_object_keeps_its_tie_order():
    # two docs tie on score; the Run's order (lower corpus row first) decides, not ranx's sort
    doc_ids = ["d0", "d1", "d2", "d3"]
    run = Run(["q1", "q2"], np.array([[2, 1, -1], [3, 0, 1]]),
              np.array([[1.0, 1.0, -np.inf], [0.5, 0.2, 0.1]], dtype=np.float32), doc_ids)
    m = evaluate(run, {"q1": {"d1": 1}, "q2": {"d3": 1}}, ["mrr@10", "recall@1"])
    assert m == {"mrr@10": pytest.approx((0.5 + 1) / 2), "recall@1": pytest.approx(0.5)}


def test_metric_names():
    assert metric_names(["nDCG@10", "P@5", "precision@5", "map@100"]) == ["ndcg@10", "p@5", "map@100"]
    assert parse_metric("Recall@100") == ("recall", 100)
    for bad in ("ndcg", "ndcg@0", "bleu@4", "mrr@x"):
        with pytest.raises(ValueError, match="unknown metric"):
            parse_metric(bad)
    with pytest.raises(ValueError, match="no query with a relevant"):
        evaluate(RUN, {"q3": {"d7": 0}})


def test_compare_table_and_chart(tmp_path):
    good = {"q1": {"d1": 1.0, "d2": 0.5}, "q2": {"d3": 1.0}}
    rows = compare({"bad": RUN, "good": good}, QRELS, ["ndcg@10", "mrr@10"])
    assert [r["name"] for r in rows] == ["bad", "good"] and rows[0]["queries"] == 2
    assert rows[1]["ndcg@10"] == pytest.approx(1.0) and rows[0]["ndcg@10"] < 1.0
    assert metric_keys(rows + [{"name": "x", "seconds": 1.0}]) == ["ndcg@10", "mrr@10"]
    from rich.console import Console

    console = Console(record=True, width=120)
    console.print(metrics_table(rows, title="t", extra=["queries"]))
    text = console.export_text()
    assert "good" in text and "1.0000" in text and "ndcg@10" in text
    a = plot_metrics(rows, tmp_path / "a.png")
    b = plot_metrics(rows, tmp_path / "sub" / "b.png")
    assert a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and a.read_bytes() == b.read_bytes()
    svg = plot_metrics(rows, tmp_path / "c.svg", title="x")
    assert svg.read_text().lstrip().startswith("<?xml")
    with pytest.raises(ValueError):
        plot_metrics([], tmp_path / "d.png")
