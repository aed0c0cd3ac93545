"""`hardneg mine` outputs: reuse of --out (resume, refuse, --overwrite), file modes, counts that match the files."""

import json
import os

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from hardneg.cli import app
from hardneg.data.jsonl import atomic_write

runner = CliRunner()


def _mine(data, out, *args):
    return runner.invoke(app, ["mine", "--data", str(data), "-r", "bm25", "--out", str(out), *args])


def test_reused_out_resumes_same_settings_refuses_others_and_overwrite_clears_only_the_run(tiny_beir, tmp_path):
    out = tmp_path / "run"
    r = _mine(tiny_beir, out, "-n", "2", "-f", "flag", "-f", "labeled-pair", "--judge", "dup:exact")
    assert r.exit_code == 0, r.output
    first = sorted(p.name for p in out.iterdir())
    assert {"flag.jsonl", "labeled-pair", "labeled-pair.parquet", "validation", "summary.json"} <= set(first)
    r = _mine(tiny_beir, out, "-n", "2", "-f", "flag", "-f", "labeled-pair", "--judge", "dup:exact")
    assert r.exit_code == 0 and "resumed" in r.output
    (out / "notes.txt").write_text("mine, keep me")
    r = _mine(tiny_beir, out, "-n", "3", "-f", "triplet")
    assert r.exit_code == 2 and "--overwrite" in r.output and "other settings" in r.output
    assert sorted(p.name for p in out.iterdir()) == sorted(first + ["notes.txt"])  # untouched
    r = _mine(tiny_beir, out, "-n", "3", "-f", "triplet", "--overwrite")
    assert r.exit_code == 0, r.output
    now = {p.name for p in out.iterdir()}
    assert not now & {"flag.jsonl", "labeled-pair", "labeled-pair.parquet", "validation"}  # the old run's files are gone
    assert {"triplet", "triplet.parquet", "summary.json", "notes.txt"} <= now
    assert json.loads((out / "summary.json").read_text())["config"]["select"]["num_negatives"] == 3


def test_out_with_foreign_files_is_refused(tiny_beir, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "data.csv").write_text("x")
    r = _mine(tiny_beir, out)
    assert r.exit_code == 2 and "files of its own" in r.output
    assert sorted(p.name for p in out.iterdir()) == ["data.csv"]


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_written_files_get_the_umask_mode(tiny_beir, tmp_path, mask):
    old = os.umask(mask)
    try:
        out = tmp_path / "run"
        r = _mine(tiny_beir, out, "-n", "2", "-f", "triplet", "-f", "flag")
        assert r.exit_code == 0, r.output
        with atomic_write(tmp_path / "plain.txt") as f:
            f.write("x")
    finally:
        os.umask(old)
    for p in (out / "triplet.parquet", out / "flag.jsonl", out / "summary.json", tmp_path / "plain.txt"):
        assert p.stat().st_mode & 0o777 == 0o666 & ~mask, p
    assert (out / "triplet").stat().st_mode & 0o777 == 0o777 & ~mask


def test_counts_in_summary_match_the_files(tiny_beir, tmp_path):
    out = tmp_path / "run"
    # 3 negatives from BM25 on 12 docs: some queries get fewer or none, so exported < judged
    r = _mine(tiny_beir, out, "-n", "3", "-f", "triplet", "-f", "n-tuple", "-f", "flag", "-f", "labeled-pair")
    assert r.exit_code == 0, r.output
    s = json.loads((out / "summary.json").read_text())
    trip = pq.read_table(out / "triplet.parquet").to_pylist()
    flag = [json.loads(x) for x in (out / "flag.jsonl").read_text().splitlines()]
    assert s["exported"]["triplet"] == len(trip)
    assert s["exported"]["n-tuple"] == pq.read_table(out / "n-tuple.parquet").num_rows
    assert s["exported"]["labeled-pair"] == pq.read_table(out / "labeled-pair.parquet").num_rows
    assert s["exported"]["flag"] == len(flag)
    assert s["queries_exported"] == len({t["query_id"] for t in trip}) == len(flag)
    assert s["negatives"] == sum(len(f["neg"]) for f in flag)
    assert s["queries_exported"] < s["queries"]  # the case the old count got wrong
    assert f"{s['queries']} / {s['queries_exported']}" in r.output


def test_mine_table_shows_validation_counts(tiny_beir, tmp_path):
    r = _mine(tiny_beir, tmp_path / "run", "-n", "2", "--judge", "dup:exact")
    assert r.exit_code == 0, r.output
    s = json.loads((tmp_path / "run" / "summary.json").read_text())
    v = s["validation"]
    assert v["judged"] > 0 and v["dropped"] == 0 and "dup" in v["votes_per_judge"]
    assert f"{v['judged']} / {v['dropped']}" in r.output


def test_mine_reads_pair_columns_and_skips_invalid(tmp_path):
    f = tmp_path / "pairs.jsonl"
    rows = [{"q": "which animals purr", "a": "Cats purr."}, {"q": "capital of France", "a": "Paris is in France."},
            {"q": "", "a": "empty"}, {"q": "red planet", "a": "Mars is red."}]
    f.write_text("".join(json.dumps(x) + "\n" for x in rows))
    r = _mine(f, tmp_path / "a", "--query-column", "q", "--answer-column", "a")
    assert r.exit_code == 2 and "line 3" in r.output and "skip" in r.output
    r = _mine(f, tmp_path / "b", "--query-column", "q", "--answer-column", "a", "--skip-invalid", "-n", "1")
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["queries"] == 3


def test_report_html_names_every_file_it_wrote(tiny_beir, tmp_path):
    run = tmp_path / "run"
    assert _mine(tiny_beir, run, "-n", "2", "--judge", "dup:jaccard:0.3").exit_code == 0
    r = runner.invoke(app, ["report", str(run), "--html"], terminal_width=300)
    assert r.exit_code == 0, r.output
    written = [p for p in (run / "validation").iterdir() if p.suffix in (".md", ".html", ".png")]
    assert written and all(p.name in r.output for p in written)


def test_bad_data_creates_no_out_folder(tmp_path):
    f = tmp_path / "pairs.jsonl"
    f.write_text('{"query": "a", "answer": "b"}\n{"query": "c"\n')
    r = _mine(f, tmp_path / "run")
    assert r.exit_code == 2 and "line 2" in r.output
    assert not (tmp_path / "run").exists()
