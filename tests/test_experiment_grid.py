"""The experiment grid: quick mode on the tiny BEIR set, resume, outputs, and config errors that name the field."""

from __future__ import annotations

import csv

import pytest
import yaml
from conftest import write_tiny_beir

from hardneg.data.errors import DataError
from hardneg.experiment import grid as ex
from hardneg.train.trainer import TrainResult


def _config(tmp_path, tiny_bert, **over) -> dict:
    root = write_tiny_beir(tmp_path / "beir", "train")
    write_tiny_beir(root, "test")
    cfg = {"name": "tiny", "dataset": str(root), "models": [str(tiny_bert)],
           "recipes": [{"name": "in-batch", "kind": "in-batch"},
                       {"name": "random", "kind": "random", "num_negatives": 2}],
           "losses": ["mnrl"],
           "train": {"epochs": 1, "batch_size": 4, "max_seq_length": 32, "learning_rate": 1e-3, "seed": 7},
           "quick": {"train_queries": 5, "test_queries": 4, "corpus_docs": 10, "max_seq_length": 32}}
    cfg.update(over)
    return cfg


def test_grid_quick_runs_and_resumes(tmp_path, tiny_bert, monkeypatch):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(_config(tmp_path, tiny_bert)))
    out = tmp_path / "out"
    rows = ex.run_experiment(ex.load_config(path), out, quick=True)
    assert [r["recipe"] for r in rows] == ["zero-shot", "in-batch", "random"]
    for r in rows:
        assert 0.0 <= r["ndcg@10"] <= 1.0 and 0.0 <= r["recall@100"] <= 1.0
    assert rows[1]["train_rows"] == rows[2]["train_rows"] >= 5  # one row per (query, positive) of 5 sampled queries
    with open(out / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == 3
    assert "| ndcg@10 |" in (out / "results.md").read_text().replace("| kind | model | recipe | loss ", "| ")
    assert (out / "plots" / "ndcg_at_10.png").exists() and (out / "config.yaml").exists()
    assert (out / "plots" / "scores_random.png").exists() is False  # random negatives carry no miner scores
    assert "sentence-transformers" in (out / "run.json").read_text()
    first = (out / "results.csv").read_text()

    def boom(*a, **k):
        raise AssertionError("a done cell was trained again")

    monkeypatch.setattr(ex, "train_bi_encoder", boom)
    rows2 = ex.run_experiment(ex.load_config(path), out, quick=True)
    assert rows2 == rows and (out / "results.csv").read_text() == first
    # a changed hyperparameter makes every done cell stale; recipes are still reused (their config is unchanged)
    monkeypatch.setattr(ex, "build", boom)
    changed = _config(tmp_path, tiny_bert)
    changed["train"]["learning_rate"] = 5e-4
    path.write_text(yaml.safe_dump(changed))
    with pytest.raises(RuntimeError, match="trained again") as e:
        ex.run_experiment(ex.load_config(path), out, quick=True)
    assert str(e.value).count("trained again") == 2
    assert not list((out / "cells").glob("*/done.json"))  # the stale results are gone, not left to be reused


def _st_ir_evaluator(ds):
    """sentence-transformers' own InformationRetrievalEvaluator over a split (cosine), the reference."""
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    rel = {q: set(d) for q, d in ds.positives().items() if d and q in ds.queries}
    return InformationRetrievalEvaluator(
        queries={q: ds.queries.text(q) for q in rel}, corpus=dict(zip(ds.corpus.ids, ds.corpus.full_texts())),
        relevant_docs=rel, mrr_at_k=[10], ndcg_at_k=[10], accuracy_at_k=[1, 10],
        precision_recall_at_k=[1, 3, 10, 100], map_at_k=[100], batch_size=64, name="t", write_csv=False)


def test_st_ir_evaluator_metrics_match_ours(tmp_path, tiny_bert):
    """ST's InformationRetrievalEvaluator and hardneg.evaluate (ranx) agree on one tie-free run."""
    import numpy as np

    from hardneg.data.beir import load_beir
    from hardneg.evaluate.metrics import evaluate

    root = write_tiny_beir(tmp_path / "beir", "test")
    ds = load_beir(root, "test")
    ds.qrels = {q: {d: 1 for d in docs} for q, docs in ds.qrels.items()}  # ST scores relevance as binary
    rng = np.random.default_rng(3)
    ev = _st_ir_evaluator(ds)
    scores = rng.permutation(len(ev.queries_ids) * len(ds.corpus)).reshape(len(ev.queries_ids), -1) / 100.0
    results = [[{"corpus_id": d, "score": float(s)} for d, s in zip(ds.corpus.ids, row)] for row in scores]
    for r in results:
        r.sort(key=lambda x: -x["score"])
    st = ev.compute_metrics(results)
    run = {q: {x["corpus_id"]: x["score"] for x in r} for q, r in zip(ev.queries_ids, results)}
    ours = evaluate(run, ds.qrels, ex.METRICS)
    assert ours["ndcg@10"] == pytest.approx(st["ndcg@k"][10], abs=1e-6)
    assert ours["mrr@10"] == pytest.approx(st["mrr@k"][10], abs=1e-6)
    for k in (1, 3, 10, 100):
        assert ours[f"recall@{k}"] == pytest.approx(st["recall@k"][k], abs=1e-6), k


def test_training_evaluator_is_the_one_eval_path_and_matches_st(tmp_path, minilm_path):
    """The figures reported during training come from hardneg.evaluate (the path `hardneg eval` and experiments
    use) and equal ST's InformationRetrievalEvaluator on binary qrels with the same model (MiniLM: no ties)."""
    from sentence_transformers import SentenceTransformer

    from hardneg.data.beir import load_beir
    from hardneg.evaluate.retrieval import score_retriever
    from hardneg.evaluate.training import ModelRetriever
    from hardneg.train.trainer import ir_evaluator

    root = write_tiny_beir(tmp_path / "beir", "test")
    ds = load_beir(root, "test")
    ds.qrels = {q: {d: 1 for d in docs} for q, docs in ds.qrels.items()}
    model = SentenceTransformer(str(minilm_path), device="cpu")
    ours = ir_evaluator(ds, name="t")(model)
    assert ours == {f"t_{k}": v for k, v in score_retriever(ModelRetriever(model), ds, ours_names(ours))[0].items()}
    st = _st_ir_evaluator(ds)(model)
    assert ours["t_ndcg@10"] == pytest.approx(st["t_cosine_ndcg@10"], abs=1e-6)
    assert ours["t_mrr@10"] == pytest.approx(st["t_cosine_mrr@10"], abs=1e-6)
    assert ours["t_map@100"] == pytest.approx(st["t_cosine_map@100"], abs=1e-6)
    for k in (1, 3, 10, 100):
        assert ours[f"t_recall@{k}"] == pytest.approx(st[f"t_cosine_recall@{k}"], abs=1e-6), k


def ours_names(metrics: dict) -> list[str]:
    return [k.split("_", 1)[1] for k in metrics]


@pytest.mark.parametrize("patch, field", [
    ({"recipes": [{"name": "x", "kind": "nope"}]}, "recipes[x].kind"),
    ({"losses": ["nope"]}, "cells[0].loss"),
    ({"train": {"batch_size": 0}}, "train.batch_size"),
    ({"cells": [{"recipe": "missing", "loss": "mnrl"}]}, "cells[0].recipe"),
    ({"cells": [{"recipe": "in-batch", "loss": "triplet"}]}, "cells[0].recipe"),
    ({"rerankers": [{"recipe": "random", "loss": "mnrl"}]}, "rerankers[0].loss"),
    ({"bogus": 1}, "bogus"),
])
def test_config_errors_name_the_field(tmp_path, tiny_bert, patch, field):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(_config(tmp_path, tiny_bert, **patch)))
    with pytest.raises(DataError) as e:
        ex.load_config(path)
    assert f"field '{field}'" in str(e.value) and "bad.yaml" in str(e.value)


@pytest.mark.parametrize("eval_len, want", [(None, 32), (0, None), (16, 16)])
def test_quick_mode_scores_at_the_configured_length(tmp_path, tiny_bert, monkeypatch, eval_len, want):
    cfg = _config(tmp_path, tiny_bert, recipes=[{"name": "in-batch", "kind": "in-batch"}])
    if eval_len is not None:
        cfg["quick"]["eval_max_seq_length"] = eval_len
    seen = []

    def fake_eval(model, test, k=100, max_seq_length=None):
        seen.append(max_seq_length)
        return {m: 0.5 for m in ex.METRICS}

    monkeypatch.setattr(ex, "evaluate_bi", fake_eval)
    monkeypatch.setattr(ex, "train_bi_encoder", lambda g, c, p: TrainResult(p, len(g), 0.0))
    ex.run_experiment(ex.parse(cfg), tmp_path / "out", quick=True)
    assert seen == [want, want]  # zero-shot and the trained cell alike


@pytest.mark.parametrize("path", sorted((ex.Path(__file__).parents[1] / "examples").glob("*.yaml")))
def test_example_configs_parse(path):
    exp = ex.load_config(path)
    assert exp.cells and all(c.recipe in exp.recipes for c in exp.cells)


def test_rerankers_only_config_and_empty_grid(tmp_path, tiny_bert):
    cfg = _config(tmp_path, tiny_bert, cells=[], rerankers=[{"recipe": "random", "loss": "bce"}])
    exp = ex.parse(cfg)
    assert [c.cross for c in exp.cells] == [True]
    with pytest.raises(DataError, match="cells"):
        ex.parse(_config(tmp_path, tiny_bert, cells=[]))


def test_reranker_cell_runs_and_saves_both_runs(tmp_path, tiny_bert):
    import json

    cfg = _config(tmp_path, tiny_bert, cells=[], rerankers=[{"recipe": "random", "loss": "listnet"}],
                  rerank_top=5)
    cfg["train"]["head_learning_rate"] = 1e-2
    out = tmp_path / "out"
    rows = ex.run_experiment(ex.parse(cfg), out, quick=True)
    assert [(r["kind"], r["loss"]) for r in rows] == [("bm25", "-"), ("reranker", "listnet"),
                                                      ("reranker+bm25 rrf", "listnet")]
    # re-ranking and fusing reorder BM25's top 5; neither adds a document
    assert rows[0]["recall@100"] == rows[1]["recall@100"] == rows[2]["recall@100"]
    saved = json.loads(next((out / "cells").glob("rerank__*/runs.json")).read_text())
    assert set(saved) == {"bm25", "reranker"}
    assert saved["bm25"].keys() == saved["reranker"].keys()
    assert all(saved["bm25"][q].keys() == saved["reranker"][q].keys() for q in saved["bm25"])


def test_fusion_row_is_reciprocal_rank_fusion(tmp_path):
    import json
    from types import SimpleNamespace

    runs = {"bm25": {"q": {"d1": 4.0, "d2": 3.0, "d3": 2.0, "d4": 1.0}},
            "reranker": {"q": {"d3": 0.9, "d2": 0.8, "d4": 0.7, "d1": 0.1}}}
    (tmp_path / "runs.json").write_text(json.dumps(runs))
    test = SimpleNamespace(qrels={"q": {"d1": 0, "d2": 1}})
    row = ex.fusion_row({"cell": "rerank__m__r__bce", "kind": "reranker", "ndcg@10": 0.0}, tmp_path / "runs.json",
                        test)
    # rrf(k=60): d3 1/63+1/61 > d2 2/62 > d1 1/61+1/64 > d4; the relevant d2 lands second
    assert row["kind"] == "reranker+bm25 rrf" and row["cell"] == "rerank__m__r__bce+bm25"
    assert row["mrr@10"] == 0.5 and row["recall@1"] == 0.0


def test_bi_encoders_are_scored_at_fp32_whatever_the_default(tmp_path, tiny_bert, monkeypatch):
    from hardneg.data.load import load_data
    from hardneg.evaluate import retrieval

    monkeypatch.setenv("HARDNEG_PRECISION", "bf16")  # what `auto` picks on an AMX CPU
    seen = []

    def fake_score(r, ds, metrics, k):
        seen.append(r.precision)
        return {m: 0.5 for m in metrics}, None

    monkeypatch.setattr(retrieval, "score_retriever", fake_score)
    ex.evaluate_bi(str(tiny_bert), load_data(write_tiny_beir(tmp_path / "beir", "test"), split="test"))
    assert seen == ["fp32"]
