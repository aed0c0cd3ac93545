"""`hardneg eval` end to end on the tiny BEIR fixture with BM25 (and the real MiniLM when marked integration)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hardneg.cli import app

runner = CliRunner()


def test_eval_bm25_table(tiny_beir):
    r = runner.invoke(app, ["eval", "--data", str(tiny_beir), "--split", "train", "--retriever", "bm25"])
    assert r.exit_code == 0, r.output
    assert "bm25" in r.stdout and "ndcg@10" in r.stdout and "recall@100" in r.stdout


def test_eval_json_parses(tiny_beir, tmp_path):
    r = runner.invoke(app, ["eval", "--data", str(tiny_beir), "--split", "train", "-r", "bm25", "--k", "3",
                            "--json", "--plot", str(tmp_path / "m.png")])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)  # stdout holds the JSON only
    assert doc["metrics"] == ["ndcg@3", "mrr@3", "recall@100", "map@100"]
    (row,) = doc["results"]
    assert row["name"] == "bm25" and row["queries"] == 6
    assert all(0.0 <= row[m] <= 1.0 for m in doc["metrics"]) and row["recall@100"] == 1.0
    assert (tmp_path / "m.png").stat().st_size > 0


def test_eval_custom_metrics_and_errors(tiny_beir):
    r = runner.invoke(app, ["eval", "--data", str(tiny_beir), "--split", "train", "-m", "P@1", "-m", "map@5",
                            "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["metrics"] == ["p@1", "map@5"]
    r = runner.invoke(app, ["eval", "--data", str(tiny_beir), "--split", "test"])
    assert r.exit_code == 2 and "split 'test' does not exist" in r.output
    r = runner.invoke(app, ["eval", "--data", str(tiny_beir), "--split", "train", "-m", "bleu@4"])
    assert r.exit_code == 2 and "unknown metric" in r.output
    r = runner.invoke(app, ["eval", "--data", str(tiny_beir), "--split", "train", "-r", "sparse:x"])
    assert r.exit_code == 2 and "bad retriever spec" in r.output


def test_eval_help_documents_every_option():
    r = runner.invoke(app, ["eval", "--help"])
    assert r.exit_code == 0
    for opt in ("--data", "--split", "--retriever", "--k", "--metric", "--json", "--batch-size", "--backend"):
        assert opt in r.output


@pytest.mark.integration
def test_eval_dense_minilm_reports_cache_hits(tiny_beir):
    args = ["eval", "--data", str(tiny_beir), "--split", "train", "-r", "dense:minilm", "--json"]
    first = json.loads(runner.invoke(app, args).stdout)["results"][0]
    second = json.loads(runner.invoke(app, args).stdout)["results"][0]
    assert first["cache_misses"] == 12 + 6 and first["cache_hits"] == 0
    assert second["cache_misses"] == 0 and second["cache_hits"] == 12 + 6
    assert second["ndcg@10"] == first["ndcg@10"] > 0.5


@pytest.mark.integration
def test_demo_runs_bm25_and_minilm(tmp_path):
    from conftest import write_tiny_beir

    root = write_tiny_beir(tmp_path / "tinytest", split="test")
    r = runner.invoke(app, ["demo", "--data", str(root), "--no-train"])  # step 1 only
    assert r.exit_code == 0, r.output
    assert "bm25" in r.stdout and "dense:minilm" in r.stdout and "embedding cache for dense:minilm" in r.stdout
