"""hardneg review: review.jsonl I/O, the page (Starlette TestClient), validate --review, exports and imports."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hardneg.cli import app
from hardneg.data.errors import DataError
from hardneg.review.labels import append, decision, read_review
from hardneg.validate.reviewed import review_codes

from _validate_helpers import tiny_candidates
from conftest import write_tiny_beir

# near-copies of positives (dup:jaccard:0.5:1 flags them), one holding markup that must show as text
PLANTED = {
    "q1": ("x1", "Cats", "Cats are small domesticated carnivorous mammals that purr loudly."),
    "q3": ("x3", "Paris", "Paris is the capital and largest city of France, on the Seine."),
    "q4": ("x4", "Venus", "Venus is the second planet from the Sun and very hot indeed."),
    "q5": ("x5", "Insulin", "<script>alert(1)</script> Insulin is a hormone that regulates blood glucose levels."),
}
JUDGE = "dup:jaccard:0.5:1"


def make_run(tmp: Path, validate: bool = True) -> Path:
    """A tiny BEIR folder with planted near-duplicates ranked first for their query, its candidates saved in
    RUN/candidates.npz (3 negatives each) and, with `validate`, validated by a word-Jaccard dup judge."""
    from hardneg.types import Selection
    from hardneg.validate.step import save_candidates

    root = write_tiny_beir(tmp / "data")
    with open(root / "corpus.jsonl", "a", encoding="utf-8") as f:
        for d, t, x in PLANTED.values():
            f.write(json.dumps({"_id": d, "title": t, "text": x}) + "\n")
    ds, cand = tiny_candidates(root, k=8)
    for q, (d, _, _) in PLANTED.items():
        i, r = cand.query_ids.index(q), ds.corpus.index(d)
        row = [x for x in cand.rows[i] if x != r]
        cand.rows[i] = [r] + row[:7]
    rows = cand.rows[:, :3].copy()
    sel = Selection(list(cand.query_ids), rows, cand.scores[:, :3].copy(),
                    np.where(rows >= 0, np.arange(1, 4)[None, :], 0).astype(np.int32), np.ones(len(rows), bool))
    run = tmp / "run"
    save_candidates(run / "candidates.npz", cand, sel, {"data": str(root), "split": "train"})
    if validate:
        r = CliRunner().invoke(app, ["validate", str(run), "--judge", JUDGE, "--format", "triplet"])
        assert r.exit_code == 0, r.output
    return run


def audit(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "validation" / "audit.jsonl").read_text().splitlines()]


def test_review_file_last_line_wins_and_survives_a_torn_tail(tmp_path):
    p = tmp_path / "review.jsonl"
    assert read_review(p) == {}
    append(p, [decision("q1", "d2", "negative", "drop"), decision("q1", "d3", "relevant", "drop")])
    append(p, [decision("q1", "d2", "false_negative", "drop")])
    assert read_review(p) == {("q1", "d2"): "false_negative", ("q1", "d3"): "relevant"}
    lines = p.read_text().splitlines()
    assert all(set(json.loads(x)) == {"query_id", "doc_id", "label", "previous", "time"} for x in lines)
    assert json.loads(lines[0])["time"].endswith("Z")
    with open(p, "ab") as f:  # a crash mid-write
        f.write(b'{"query_id": "q1", "doc_id": "d4", "lab')
    assert read_review(p) == {("q1", "d2"): "false_negative", ("q1", "d3"): "relevant"}
    append(p, [decision("q2", "d1", "skip", "drop")])
    assert read_review(p)[("q2", "d1")] == "skip" and len(p.read_text().splitlines()) == 4
    p.write_text(p.read_text() + '{"query_id": "q1"}\n' + lines[0] + "\n")
    with pytest.raises(DataError, match="line 5.*'doc_id'"):
        read_review(p)
    with pytest.raises(DataError, match="label"):
        decision("q1", "d1", "maybe", "drop")


def test_review_codes_find_reviewed_candidates():
    rows = np.array([[3, 1, 2], [0, 4, -1]])
    labels = {("a", "d1"): "negative", ("a", "d2"): "false_negative", ("b", "d4"): "relevant",
              ("b", "d0"): "skip", ("zz", "d1"): "negative", ("a", "nope"): "negative"}
    codes = review_codes(labels, ["a", "b"], rows, ["d0", "d1", "d2", "d3", "d4"])
    assert codes.tolist() == [[-1, 0, 1], [-1, 2, -1]]


def test_page_escapes_texts_and_bad_posts_leave_the_file_alone(tmp_path):
    from starlette.testclient import TestClient

    from hardneg.review.app import create_app

    run = make_run(tmp_path)
    assert {(a["query_id"], a["doc_id"]) for a in audit(run)} == {(q, d) for q, (d, _, _) in PLANTED.items()}
    client = TestClient(create_app(run), base_url="http://127.0.0.1")
    page = client.get("/").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert page.count('class="item') == 4 and "0</b> of 4 decided" in page
    f = run / "review.jsonl"
    for body in ({"query_id": "q1", "doc_id": "x1", "label": "maybe"}, {"query_id": "q1", "label": "negative"},
                 {"query_id": "q1", "doc_id": "d5", "label": "negative"}, {"key": "[not json", "label": "skip"}):
        r = client.post("/label", data=body, follow_redirects=False)
        assert r.status_code in (400, 404), (body, r.status_code)
        assert not f.exists()
    r = client.post("/label", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and not f.exists()
    r = client.post("/label", json={"query_id": "q5", "doc_id": "x5", "label": "relevant"})
    assert r.status_code == 200 and r.json()["done"] == 1
    before = f.read_bytes()
    assert client.post("/label", json={"query_id": "q5", "doc_id": "x5", "label": "?"}).status_code == 400
    assert f.read_bytes() == before
    r = client.post("/label", data={"key": '["q1", "x1"]', "label": "negative", "show": "todo"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/?show=todo&after=")
    page = client.get("/?show=todo").text
    assert page.count('class="item') == 2 and "2</b> of 4 decided" in page
    assert read_review(f) == {("q5", "x5"): "relevant", ("q1", "x1"): "negative"}
    page = client.get("/?query=q3").text
    assert page.count('class="item') == 1 and "x3" in page and "(1 of" not in page
    assert client.get("/?judge=dup").text.count('class="item') == 4
    from hardneg.review.items import load_items

    assert {it.query_id: it.n_positives for it in load_items(run)} == {"q1": 1, "q3": 1, "q4": 1, "q5": 1}
    assert client.get("/?judge=teacher").text.count('class="item') == 0
    assert client.get("/?action=relabel").text.count('class="item') == 0
    assert client.get("/static/review.js").status_code == 200
    # another site's page posting here, or this server reached under another host name: refused
    r = client.post("/label", data={"key": '["q1", "x1"]', "label": "skip"}, headers={"origin": "http://evil.test"})
    assert r.status_code == 403
    assert client.get("/", headers={"host": "evil.test"}).status_code == 400
    assert read_review(f) == {("q5", "x5"): "relevant", ("q1", "x1"): "negative"}


def test_page_shows_a_page_of_cards_at_a_time(tmp_path, monkeypatch):
    from starlette.testclient import TestClient

    from hardneg.review import app as review_app

    monkeypatch.setattr(review_app, "PAGE", 2)
    client = TestClient(review_app.create_app(make_run(tmp_path)), base_url="http://127.0.0.1")
    page = client.get("/").text
    assert page.count('class="item') == 2 and "Show more (2 left)" in page and "limit=4" in page
    assert client.get("/?limit=4").text.count('class="item') == 4


def test_validate_review_overrides_the_judges(tmp_path):
    from hardneg.data.beir import load_beir
    from hardneg.validate.step import load_candidates

    run = make_run(tmp_path)
    cand, _, _ = load_candidates(run / "candidates.npz")
    q2_top = load_beir(tmp_path / "data", "train").corpus.ids[cand.rows[cand.query_ids.index("q2"), 0]]
    append(run / "review.jsonl", [decision("q1", "x1", "negative", "drop"), decision("q3", "x3", "relevant", "drop"),
                                  decision("q4", "x4", "skip", "drop"), decision("q2", q2_top, "false_negative", "keep")])
    r = CliRunner().invoke(app, ["validate", str(run), "--judge", JUDGE, "--review", "review.jsonl",
                                 "--format", "triplet"])
    assert r.exit_code == 0, r.output
    rows = {(a["query_id"], a["doc_id"]): a for a in audit(run)}
    assert rows[("q1", "x1")]["action"] == "keep" and rows[("q1", "x1")]["decided_by"] == "review"
    assert rows[("q3", "x3")]["action"] == "relabel" and rows[("q3", "x3")]["decided_by"] == "review"
    assert rows[("q4", "x4")].get("decided_by") != "review" and rows[("q5", "x5")].get("decided_by") != "review"
    assert rows[("q2", q2_top)]["action"] == "drop" and rows[("q2", q2_top)]["rule"] == ""  # a person dropped it
    from starlette.testclient import TestClient

    from hardneg.review.app import create_app

    page = TestClient(create_app(run), base_url="http://127.0.0.1").get("/?query=q2").text
    assert "(1 of 2)" in page and "proposed: drop (review)" in page  # q2 has two positives
    summ = json.loads((run / "validation" / "summary.json").read_text())
    assert summ["drops_per_rule"] == {"dup=abs:0.5": 3} and summ["dropped"] + summ.get("relabelled", 0) == 4
    assert (run / "qrels" / "train.relabelled.tsv").read_text() == "query-id\tcorpus-id\tscore\nq3\tx3\t1\n"
    import pyarrow.parquet as pq

    t = pq.read_table(run / "validation" / "triplet.parquet").to_pylist()
    negs = {(r["query"], r["negative"]) for r in t}
    assert any("purr loudly" in n for q, n in negs if q == "which animals purr")  # kept by review
    assert not any("Seine" in n for q, n in negs if q == "capital of France")  # relevant: never a negative
    q2_text = load_beir(tmp_path / "data", "train").corpus
    assert not any(n.endswith(q2_text.texts[q2_text.index(q2_top)]) for q, n in negs if q == "memory safe programming language")


def test_cli_review_bad_options(tmp_path):
    run = make_run(tmp_path, validate=False)
    r = CliRunner().invoke(app, ["review", str(run)])
    assert r.exit_code == 2 and "audit.jsonl" in r.output
    r = CliRunner().invoke(app, ["review", str(run), "--port", "70000"])
    assert r.exit_code == 2 and "--port" in r.output
    (run / "validation").mkdir()
    (run / "validation" / "audit.jsonl").write_text(json.dumps({"query_id": "q1", "doc_id": "d2"}) + "\n")
    (run / "review.jsonl").write_text("not json\n")
    r = CliRunner().invoke(app, ["review", str(run)])
    assert r.exit_code == 2 and "review.jsonl, line 1" in r.output
    r = CliRunner().invoke(app, ["review", str(run), "--export", "prodigy", str(tmp_path / "o")])
    assert r.exit_code == 2 and "argilla, label-studio" in r.output
    r = CliRunner().invoke(app, ["validate", str(run), "--judge", JUDGE, "--review", "nope.jsonl"])
    assert r.exit_code == 2 and "nope.jsonl" in r.output


def test_export_argilla_and_import_its_labels(tmp_path):
    import datasets

    from hardneg.review.exchange import import_labels
    from hardneg.review.items import load_items

    run = make_run(tmp_path)
    out = tmp_path / "argilla"
    r = CliRunner().invoke(app, ["review", str(run), "--export", "argilla", str(out)])
    assert r.exit_code == 0, r.output
    again = tmp_path / "argilla-again"
    assert CliRunner().invoke(app, ["review", str(run), "--export", "argilla", str(again)]).exit_code == 0
    assert {f.name: f.read_bytes() for f in out.iterdir()} == {f.name: f.read_bytes() for f in again.iterdir()}
    ds = datasets.load_from_disk(str(out))
    assert len(ds) == 4 and {"query", "document", "positive", "label.suggestion", "label.suggestion.score",
                             "label.suggestion.agent", "query_id", "doc_id", "miner_rank", "score_dup"} <= set(ds.column_names)
    rec = ds.to_list()[0]
    assert rec["label.suggestion"] == "false_negative" and rec["label.suggestion.agent"] == "hardneg:dup"
    assert 0.5 < rec["label.suggestion.score"] <= 1.0 and rec["label.suggestion.score"] == rec["score_dup"]
    # what Argilla's records.to_datasets() gives back once annotated: flat responses per question
    user = "0b6f8a43-5e4c-4d0e-9b1e-6f5a3f0d2c11"
    answers = ["relevant", None, "negative", "false_negative"]
    ds = ds.add_column("label.responses", [[a] if a else [] for a in answers])
    ds = ds.add_column("label.responses.users", [[user] if a else [] for a in answers])
    ds = ds.add_column("label.responses.status", [["submitted"] if a else [] for a in answers])
    done = tmp_path / "argilla-done"
    ds.save_to_disk(str(done))
    r = CliRunner().invoke(app, ["review", str(run), "--import", str(done)])
    assert r.exit_code == 0, r.output
    ids = [(x["query_id"], x["doc_id"]) for x in ds.to_list()]
    assert read_review(run / "review.jsonl") == {ids[i]: a for i, a in enumerate(answers) if a}
    # nested records (Record.to_dict) work too; a pair outside the audit is refused, nothing appended
    nested = [{"fields": {"query": "x"}, "metadata": {"query_id": "q1", "doc_id": "x1"},
               "responses": {"label": [{"value": "skip", "user_id": user, "status": "submitted"}]}}]
    (tmp_path / "n.json").write_text(json.dumps(nested))
    assert [d["label"] for d in import_labels(tmp_path / "n.json", load_items(run))] == ["skip"]
    nested[0]["metadata"]["doc_id"] = "d9"
    (tmp_path / "n.json").write_text(json.dumps(nested))
    before = (run / "review.jsonl").read_bytes()
    r = CliRunner().invoke(app, ["review", str(run), "--import", str(tmp_path / "n.json")])
    assert r.exit_code == 2 and "not in this run's audit" in r.output
    assert (run / "review.jsonl").read_bytes() == before


def test_export_label_studio_and_import_its_labels(tmp_path):
    run = make_run(tmp_path)
    out = tmp_path / "ls"
    r = CliRunner().invoke(app, ["review", str(run), "--export", "label-studio", str(out)])
    assert r.exit_code == 0, r.output
    tasks = json.loads((out / "tasks.json").read_text())
    config = (out / "label_config.xml").read_text()
    assert len(tasks) == 4 and '<Choices name="label" toName="document"' in config and "$document" in config
    t = tasks[0]
    assert {"query", "document", "positive", "query_id", "doc_id", "score_dup", "miner_rank"} <= set(t["data"])
    assert t["predictions"][0]["result"][0]["value"] == {"choices": ["false_negative"]}
    # Label Studio's JSON export: the tasks with annotations; the last one not cancelled counts
    def ann(choice, cancelled=False):
        return {"was_cancelled": cancelled, "result": [{"from_name": "label", "to_name": "document", "type": "choices",
                                                        "value": {"choices": [choice]}}]}
    tasks[0]["annotations"] = [ann("negative"), ann("relevant")]
    tasks[1]["annotations"] = [ann("false_negative"), ann("negative", cancelled=True)]
    tasks[2]["annotations"] = []
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    r = CliRunner().invoke(app, ["review", str(run), "--import", str(tmp_path / "export.json")])
    assert r.exit_code == 0, r.output
    ids = [(x["data"]["query_id"], x["data"]["doc_id"]) for x in tasks]
    assert read_review(run / "review.jsonl") == {ids[0]: "relevant", ids[1]: "false_negative"}
    tasks[3]["annotations"] = [ann("maybe")]
    (tmp_path / "bad.json").write_text(json.dumps(tasks))
    r = CliRunner().invoke(app, ["review", str(run), "--import", str(tmp_path / "bad.json")])
    assert r.exit_code == 2 and "row 4" in r.output and "maybe" in r.output


def test_mine_review_overrides_the_judges(tmp_path):
    make_run(tmp_path, validate=False)  # the data folder with planted near-duplicates
    out = tmp_path / "mined"
    args = ["mine", "--data", str(tmp_path / "data"), "--retriever", "bm25", "-n", "3", "--judge", JUDGE,
            "--out", str(out)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    flagged = {(a["query_id"], a["doc_id"]) for a in audit(out)}
    assert ("q3", "x3") in flagged and ("q1", "x1") in flagged
    append(out / "review.jsonl", [decision("q1", "x1", "negative", "drop"), decision("q3", "x3", "relevant", "drop")])
    r = CliRunner().invoke(app, args + ["--review", "review.jsonl"])
    assert r.exit_code == 0, r.output
    rows = {(a["query_id"], a["doc_id"]): a for a in audit(out)}
    assert (rows[("q1", "x1")]["action"], rows[("q3", "x3")]["action"]) == ("keep", "relabel")
    assert (out / "qrels" / "train.relabelled.tsv").read_text().endswith("q3\tx3\t1\n")
    import pyarrow.parquet as pq

    negs = {(r["query"], r["negative"]) for r in pq.read_table(out / "triplet.parquet").to_pylist()}
    assert any("purr loudly" in n for q, n in negs if q == "which animals purr")  # kept by review
    assert not any("Seine" in n for q, n in negs if q == "capital of France")
    r = CliRunner().invoke(app, ["mine", "--data", str(tmp_path / "data"), "--review", "review.jsonl", "--out", str(out)])
    assert r.exit_code == 2 and "--review needs at least one --judge" in r.output


def test_two_tabs_posting_at_once_lose_nothing(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from starlette.testclient import TestClient

    from hardneg.review.app import create_app

    run = make_run(tmp_path)
    pairs = [(q, d) for q, (d, _, _) in PLANTED.items()]
    tabs = [TestClient(create_app(run), base_url="http://127.0.0.1") for _ in range(2)]  # two apps: as two tabs, or two servers

    def post(i: int) -> int:
        q, d = pairs[i % 4]
        return tabs[i % 2].post("/label", json={"query_id": q, "doc_id": d, "label": LABELS_CYCLE[i % 3]}).status_code

    with ThreadPoolExecutor(8) as ex:
        assert set(ex.map(post, range(60))) == {200}
    lines = (run / "review.jsonl").read_text().splitlines()
    assert len(lines) == 60 and all(json.loads(x)["previous"] == "drop" for x in lines)
    assert set(read_review(run / "review.jsonl")) == set(pairs)


LABELS_CYCLE = ("negative", "false_negative", "relevant")


def test_cli_serves_on_127_0_0_1_and_prints_the_url(tmp_path):
    import re
    import subprocess
    import sys
    import urllib.request

    run = make_run(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", "from hardneg.cli import app; app()", "review", str(run)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "COLUMNS": "200"})
    try:
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, line
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy for a local server
        with direct.open(m.group(0), timeout=10) as r:
            assert r.status == 200 and "hardneg review" in r.read().decode()
    finally:
        proc.terminate()
        proc.wait(10)
