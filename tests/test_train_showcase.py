"""The demo's training step: its one-cell experiment, and the skip when a dataset has no train split."""

from __future__ import annotations

from rich.console import Console

from hardneg.experiment.showcase import demo_experiment, run_training_demo


def test_demo_experiment_is_one_validated_cell():
    exp = demo_experiment("scifact", full=False)
    assert [c.key for c in exp.cells] == ["bi__minilm__hardneg-percpos-teacher__mnrl"]
    rec = exp.recipes["hardneg-percpos-teacher"]
    assert rec.validate == ["teacher:mpnet:64"] and rec.retrievers == ["bm25", "dense:minilm"]
    assert exp.quick["eval_max_seq_length"] == 0  # scored at the model's own length, like step 1
    assert exp.quick["max_seq_length"] == exp.train["max_seq_length"] == 64 and exp.quick["epochs"] == 1
    assert exp.quick["corpus_docs"] <= 200  # the slice that keeps `make demo` to minutes


def test_full_demo_is_the_q1_recipe():
    """`make demo FULL=1` trains exactly examples/q1_minilm_scifact.yaml's hardneg-percpos-teacher cell."""
    from pathlib import Path

    from hardneg.experiment.grid import load_config

    q1 = load_config(Path(__file__).parents[1] / "examples" / "q1_minilm_scifact.yaml")
    full = demo_experiment("scifact", full=True)
    name = "hardneg-percpos-teacher"
    assert full.recipes[name].to_dict() == q1.recipes[name].to_dict()
    assert full.train == q1.train
    assert full.quick["epochs"] == q1.train["epochs"] and full.quick["max_seq_length"] == q1.train["max_seq_length"]


def test_demo_training_skips_without_train_split(tiny_beir, tmp_path):
    from conftest import write_tiny_beir

    root = write_tiny_beir(tmp_path / "only_test", "test")
    con = Console(record=True, width=120)
    assert run_training_demo(str(root), console=con, out=tmp_path / "o") == []
    assert "Step 2 skipped" in con.export_text()
    assert not (tmp_path / "o").exists()
