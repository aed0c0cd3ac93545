"""Resume: a run killed (SIGKILL) in any step and rerun gives the same bytes; a changed setting redoes only
that step and the steps after it."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hardneg.pipeline.config_file import dump, load
from hardneg.pipeline.pipeline_config import from_dict
from hardneg.pipeline.runner import run

SKIP = {"summary.json", "config.yaml", ".hardneg-run.json", ".hardneg.lock"}


def _config(data: Path, out: Path, judge: str = "dup:jaccard:0.9", seed: int = 0):
    return from_dict({"data": {"path": str(data)}, "retrieve": {"retrievers": ["bm25"]},
                      "select": {"strategy": "range:0-6:random", "num_negatives": 2, "seed": seed},
                      "validate": {"judges": [judge, "dup:exact"]},
                      "export": {"formats": ["flag", "triplet", "n-tuple"]}, "out": str(out)})


def _files(out: Path) -> dict[str, bytes]:
    """Every output's bytes, less the files that record the run itself (timings, the out path, markers)."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name not in SKIP and p.suffix != ".done"}


def _cli(cfg_path: Path, env: dict | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "from hardneg.cli import app; app(prog_name='hardneg')", "run", str(cfg_path)]
    return subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _steps(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())["steps"]


def test_kill_in_each_step_then_rerun_gives_the_same_bytes(tiny_beir, tmp_path):
    ref = tmp_path / "ref"
    dump(_config(tiny_beir, ref), tmp_path / "ref.yaml")
    p = _cli(tmp_path / "ref.yaml")
    assert p.wait(120) == 0, p.stdout.read()
    want = _files(ref)
    assert {"flag.jsonl", "triplet.parquet", "n-tuple.parquet", "candidates.npz", "steps/select.npz",
            "steps/validate.npz", "validation/audit.parquet"} <= set(want)
    assert not [k for k in want if k.startswith("steps/retrieve")]  # the candidates are stored once
    for step in ("retrieve", "validate", "export"):
        out, flag = tmp_path / step, tmp_path / f"{step}.paused"
        dump(_config(tiny_beir, out), tmp_path / f"{step}.yaml")
        p = _cli(tmp_path / f"{step}.yaml", {"HARDNEG_PAUSE_AT": step, "HARDNEG_PAUSE_FILE": str(flag)})
        deadline = time.time() + 120
        while not flag.exists():
            assert p.poll() is None, p.stdout.read()
            assert time.time() < deadline
            time.sleep(0.05)
        os.kill(p.pid, signal.SIGKILL)
        p.wait(30)
        assert not (out / "steps" / f"{step}.done").exists()  # killed inside the step
        if step == "export":
            assert (out / "flag.jsonl").exists() and not (out / "n-tuple.parquet").exists()  # part way
        p = _cli(tmp_path / f"{step}.yaml")
        assert p.wait(120) == 0, p.stdout.read()
        got = _files(out)
        assert got.keys() == want.keys() and all(got[k] == want[k] for k in want), step
        ran = {k for k, v in _steps(out).items() if v == "ran"}
        assert ran == {"retrieve": {"retrieve", "select", "validate", "export"}, "validate": {"validate", "export"},
                       "export": {"export"}}[step]


def test_changed_setting_redoes_that_step_and_after_only(tiny_beir, tmp_path):
    out = tmp_path / "run"
    run(_config(tiny_beir, out))
    assert set(_steps(out).values()) == {"ran"}
    first = _files(out)
    res = run(_config(tiny_beir, out))
    assert set(_steps(out).values()) == {"reused"} and _files(out) == first
    assert res.summary["negatives"] == json.loads((out / "summary.json").read_text())["negatives"]
    run(_config(tiny_beir, out, judge="dup:jaccard:0.3"), overwrite=True)  # a judge's threshold
    assert _steps(out) == {"retrieve": "reused", "select": "reused", "validate": "ran", "export": "ran"}
    assert load(out / "config.yaml").validate.judges[0].threshold == 0.3
    run(_config(tiny_beir, out, judge="dup:jaccard:0.3", seed=3), overwrite=True)  # a selection setting
    assert _steps(out) == {"retrieve": "reused", "select": "ran", "validate": "ran", "export": "ran"}
    run(_config(tiny_beir, out), overwrite=True)  # back to the first settings: the same bytes
    assert _files(out) == first


def test_other_settings_are_refused_without_overwrite(tiny_beir, tmp_path):
    out = tmp_path / "run"
    run(_config(tiny_beir, out))
    with pytest.raises(ValueError, match="--overwrite"):
        run(_config(tiny_beir, out, seed=5))


def test_experiment_recipe_mines_through_the_pipeline(tiny_beir, tmp_path):
    """A `hardneg` recipe runs the pipeline into its folder: validated triplets, an audit, steps reused on rerun."""
    from hardneg.data.beir import load_beir
    from hardneg.experiment.recipes import Recipe, hardneg_groups

    ds = load_beir(tiny_beir, "train")
    recipe = Recipe("hn", kind="hardneg", num_negatives=2, retrievers=["bm25"], strategy="top",
                    validate=["dup:jaccard:0.2"])
    out = tmp_path / "recipes" / "hn"
    g = hardneg_groups(ds, recipe, seed=1, export_dir=out)
    assert len(g) == 7 and (out / "triplet.parquet").exists() and (out / "validation" / "audit.jsonl").exists()
    assert json.loads((out / "summary.json").read_text())["validation"]["judged"] > 0
    again = hardneg_groups(ds, recipe, seed=1, export_dir=out)
    assert set(_steps(out).values()) == {"reused"} and again.negatives == g.negatives
    other = hardneg_groups(ds, Recipe("hn", kind="hardneg", num_negatives=2, retrievers=["bm25"], strategy="top",
                                      validate=["dup:jaccard:0.9"]), seed=1, export_dir=out)
    assert _steps(out) == {"retrieve": "reused", "select": "reused", "validate": "ran", "export": "ran"}
    assert len(other) == len(g)


def test_train_and_evaluate_steps(tiny_beir, tiny_bert, tmp_path):
    """mine -> train (tiny BERT, one epoch) -> evaluate on the test split; a new eval setting reruns evaluate only."""
    from conftest import write_tiny_beir

    write_tiny_beir(tiny_beir, "test")
    base = {"data": {"path": str(tiny_beir)}, "retrieve": {"retrievers": ["bm25"]}, "select": {"num_negatives": 2},
            "export": {"formats": ["triplet"]},
            "train": {"model": str(tiny_bert), "epochs": 1, "batch_size": 4, "max_seq_length": 32, "seed": 1},
            "evaluate": {"split": "test", "metrics": ["ndcg@10"]}, "out": str(tmp_path / "run")}
    out = tmp_path / "run"
    res = run(from_dict(base))
    assert res.summary["steps"]["train"] == "ran" and (out / "model" / "config.json").exists()
    ev = json.loads((out / "eval.json").read_text())
    assert ev["rows"][0]["name"] == "trained" and 0 <= ev["rows"][0]["ndcg@10"] <= 1
    assert load(out / "config.yaml") == from_dict(base)
    run(from_dict({**base, "evaluate": {"split": "test", "metrics": ["ndcg@10"], "baselines": ["bm25"]}}),
        overwrite=True)
    s = _steps(out)
    assert s["train"] == "reused" and s["evaluate"] == "ran" and s["export"] == "reused"
    assert [r["name"] for r in json.loads((out / "eval.json").read_text())["rows"]] == ["trained", "bm25"]


@pytest.mark.integration  # loads the packaged SmolLM2 (GGUF) and generates
def test_generate_feeds_mining_in_one_run(tiny_beir, tmp_path):
    """generate (the packaged SmolLM2) -> mine the generated queries; a rerun reuses the generation."""
    base = {"data": {"path": str(tiny_beir)},
            "generate": {"backend": "local", "sample": 3, "max_tokens": 8, "filters": ["none"], "threads": 1},
            "retrieve": {"retrievers": ["bm25"]}, "select": {"num_negatives": 2}, "export": {"formats": ["flag"]},
            "out": str(tmp_path / "run")}
    out = tmp_path / "run"
    res = run(from_dict(base))
    assert res.summary["steps"]["generate"] == "ran" and (out / "generated" / "queries.jsonl").exists()
    rows = [json.loads(x) for x in (out / "flag.jsonl").read_text().splitlines()]
    generated = {json.loads(x)["text"] for x in (out / "generated" / "queries.jsonl").read_text().splitlines()}
    assert 0 < len(rows) <= 3 and {r["query"] for r in rows} <= generated
    first = (out / "flag.jsonl").read_bytes()
    run(from_dict({**base, "select": {"num_negatives": 2, "seed": 4}}), overwrite=True)
    assert _steps(out) == {"generate": "reused", "retrieve": "reused", "select": "ran", "export": "ran"}
    run(from_dict(base), overwrite=True)
    assert (out / "flag.jsonl").read_bytes() == first
