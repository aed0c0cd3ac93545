"""Fail fast: every bad option, spec or output path is one line, exit 2, no traceback, nothing created."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hardneg.cli import app

runner = CliRunner()


def _one_line_error(res, option: str) -> str:
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert res.exit_code == 2, res.output
    assert len(lines) == 1 and lines[0].startswith(f"error: {option}"), res.output
    assert "Traceback" not in res.output
    return lines[0]


MINE_CASES = [
    (["--depth", "-5"], "--depth", ">= 1"),
    (["--num-negatives", "0"], "--num-negatives", ">= 1"),
    (["--strategy", "topk-percpos:1.7"], "--strategy", "(0, 1]"),
    (["--strategy", "nope"], "--strategy", "choose from top, range"),
    (["--fusion", "max", "-r", "dense:minilm"], "--fusion", "rrf, score"),
    (["--fusion", "score"], "--fusion", "several retrievers"),
    (["--judge", "bogus"], "--judge", "cross-encoder, teacher, llm, dup"),
    (["--judge", "dup:jaccard:1.5"], "--judge", "(0, 1]"),
    (["--rule", "perc:2"], "--rule", "(0, 1]"),
    (["--combine", "some"], "--combine", "any, all, majority"),
    (["--format", "csv"], "--format", "triplet"),
    (["--short", "x"], "--short", "keep, drop, pad"),
    (["--pos-score", "median"], "--pos-score", "min, mean, max"),
    (["--search", "annoy"], "--search", "exact"),
    (["-r", "sparse:x"], "--retriever", "bm25, dense:minilm"),
    (["--engine", "spark"], "--engine", "single, ray"),
    (["--engine", "ray"], "--engine", "one dense retriever"),
]


@pytest.mark.parametrize("args,option,says", MINE_CASES, ids=[c[1] + ":" + " ".join(c[0]) for c in MINE_CASES])
def test_mine_refuses_bad_options_before_anything(tiny_beir, tmp_path, args, option, says):
    out = tmp_path / "out"
    res = runner.invoke(app, ["mine", "--data", str(tiny_beir), "-r", "bm25", "--out", str(out), *args])
    assert says in _one_line_error(res, option)
    assert not out.exists()


def test_mine_refuses_out_that_is_a_file_or_under_one(tiny_beir, tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    for out, says in ((f, "is a file"), (f / "sub", "sits under")):
        res = runner.invoke(app, ["mine", "--data", str(tiny_beir), "-r", "bm25", "--out", str(out)])
        assert says in _one_line_error(res, "--out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "tiny"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_mine_refuses_read_only_out(tiny_beir, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        res = runner.invoke(app, ["mine", "--data", str(tiny_beir), "-r", "bm25", "--out", str(ro / "run")])
        assert "not writable" in _one_line_error(res, "--out")
    finally:
        ro.chmod(0o755)


def test_mine_refuses_out_in_use_by_another_run(tiny_beir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / ".hardneg.lock").write_text(f"{other.pid}\n")
        res = runner.invoke(app, ["mine", "--data", str(tiny_beir), "-r", "bm25", "--out", str(out)])
        assert f"in use by another run (pid {other.pid}" in _one_line_error(res, "--out")
    finally:
        other.kill()
        other.wait()
    # a stale lock (its process is gone) does not block
    res = runner.invoke(app, ["mine", "--data", str(tiny_beir), "-r", "bm25", "--out", str(out), "-n", "2"])
    assert res.exit_code == 0, res.output
    assert not (out / ".hardneg.lock").exists()


def test_mine_names_a_missing_data_source_before_creating_out(tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["mine", "--data", str(tmp_path / "nope"), "-r", "bm25", "--out", str(out)])
    assert res.exit_code == 2 and "no such file or folder" in res.output
    assert not out.exists()


@pytest.mark.parametrize("plot,says", [("x.gif", ".png, .svg, .pdf"), ("/nonexistent/dir/x.png", "does not exist")])
def test_eval_refuses_bad_plot_path_up_front(tiny_beir, tmp_path, plot, says):
    res = runner.invoke(app, ["eval", "--data", str(tiny_beir), "--split", "train", "--plot", plot])
    assert says in _one_line_error(res, "--plot")
    assert not Path("/nonexistent").exists()


def _cli(*args, cwd=None):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    code = "import sys; from hardneg.cli import app; sys.argv[0] = 'hardneg'; app()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=cwd)


def test_unexpected_error_is_one_line_unless_debug(tmp_path):
    # a BEIR folder whose corpus.jsonl is a folder: an OSError nobody anticipated
    bad = tmp_path / "bad"
    (bad / "corpus.jsonl").mkdir(parents=True)
    (bad / "queries.jsonl").write_text('{"_id": "q", "text": "x"}\n')
    (bad / "qrels").mkdir()
    (bad / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq\td\t1\n")
    r = _cli("convert", str(bad), str(tmp_path / "o"))
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert r.returncode == 1 and len(lines) == 1, r.stderr
    assert lines[0].startswith("error: IsADirectoryError") and "--debug" in lines[0]
    r = _cli("--debug", "convert", str(bad), str(tmp_path / "o"))
    assert r.returncode == 1 and "Traceback" in r.stderr


def test_version_and_help_at_80_columns():
    r = _cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("hardneg ")
    env_cols = {**os.environ, "COLUMNS": "80"}
    code = "import sys; from hardneg.cli import app; sys.argv[0] = 'hardneg'; app()"
    h = subprocess.run([sys.executable, "-c", code, "mine", "--help"], capture_output=True, text=True,
                       env={**env_cols, "PYTHONPATH": str(Path(__file__).parents[1] / "src")})
    assert h.returncode == 0
    assert max(len(x) for x in h.stdout.splitlines()) <= 80
    assert "<bool>" not in h.stdout and "--no-dedup-negatives" in h.stdout and "--skip-invalid" in h.stdout


@pytest.mark.parametrize("args,option", [(["--judge", "teacher:mpnet", "--rule", "perc:1.5"], "--rule"),
                                         (["--judge", "nope"], "--judge"),
                                         (["--judge", "dup:exact", "--combine", "most"], "--combine")])
def test_validate_checks_specs_before_reading_the_run(tmp_path, args, option):
    res = runner.invoke(app, ["validate", str(tmp_path / "no-run"), *args])
    _one_line_error(res, option)


@pytest.mark.parametrize("cmd", ["generate", "mine", "eval", "validate", "report", "train", "experiment", "convert"])
def test_every_help_fits_80_columns_without_bool_labels(cmd):
    res = runner.invoke(app, [cmd, "--help"], terminal_width=80)
    assert res.exit_code == 0
    assert max(len(x) for x in res.output.splitlines()) <= 80 and "<bool>" not in res.output


def test_typer_level_errors_are_one_line(tiny_beir, tmp_path):
    """Values typer itself rejects (types, bounds, missing options) also print one `error:` line, exit 2."""
    for args, says in ((["eval", "--data", str(tiny_beir), "--k", "0"], "'--k'"),
                       (["mine", "--data", str(tiny_beir), "--depth", "x", "--out", str(tmp_path / "o")], "'--depth'"),
                       (["mine"], "'--data'"), (["nosuch"], "nosuch")):
        r = _cli(*args)
        lines = [x for x in r.stderr.splitlines() if x.strip()]
        assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:") and says in lines[0], r.stderr
    assert not (tmp_path / "o").exists()
