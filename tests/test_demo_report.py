"""The demo's HTML report: written from a real validation folder, plots inlined, every text escaped."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hardneg.cli import app
from hardneg.experiment.demo_report import write_demo_report

MARKUP = "<script>alert('x')</script> & <b>bold</b>"


def _beir(root):
    """A small BEIR folder whose texts hold HTML markup; documents overlap in words, so a dup judge drops some."""
    root.mkdir(parents=True)
    docs = [{"_id": f"d{i}", "title": f"Doc {i}", "text": f"cats purr loudly {MARKUP} note {i} " + "x" * i}
            for i in range(12)]
    (root / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    qs = [{"_id": f"q{i}", "text": f"why do cats purr {i} {MARKUP}"} for i in range(4)]
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in qs))
    (root / "qrels").mkdir()
    (root / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n"
                                              + "".join(f"q{i}\td{i}\t1\n" for i in range(4)))
    return root


def test_demo_report_escapes_texts_and_inlines_plots(tmp_path):
    data = _beir(tmp_path / "beir")
    run = tmp_path / "mine"
    r = CliRunner().invoke(app, ["mine", "--data", str(data), "--split", "train", "-r", "bm25", "-n", "2",
                                 "--out", str(run), "--judge", "dup:jaccard:0.3:1"])
    assert r.exit_code == 0, r.output
    vdir = run / "validation"
    summ = json.loads((vdir / "summary.json").read_text())
    assert summ["dropped"] > 0
    rows = [{"name": "bm25 <b>", "ndcg@10": 0.5, "recall@10": 0.75},
            {"name": "MiniLM zero-shot", "ndcg@10": 0.625, "recall@10": 1.0}]
    about = {"title": "demo <i>tiny</i>", "lines": [f"slice {MARKUP}"], "files": [("audit", str(vdir))]}
    out = tmp_path / "out"
    path = write_demo_report(out, rows, about, vdir)
    assert path == out / "report.html" and (out / "report" / "metrics.png").read_bytes()[:4] == b"\x89PNG"
    page = path.read_text(encoding="utf-8")
    assert "<script" not in page and "<b>" not in page and "<i>" not in page  # no text reaches the page as markup
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert page.count("data:image/png;base64,") >= 2  # the metric chart and the validation histogram
    assert f"dropped {summ['dropped']} as suspected false negatives" in page
    assert "0.6250" in page and "demo &lt;i&gt;tiny&lt;/i&gt;" in page
    audit = [json.loads(x) for x in (vdir / "audit.jsonl").read_text().splitlines()]
    shown = [a for a in audit if f"{a['doc_id']} · rank {a['miner_rank']}" in page]
    assert shown and all(f">{a['positive_id']}<" in page for a in shown)  # each drop beside its positive


def test_demo_report_without_validation(tmp_path):
    path = write_demo_report(tmp_path, [{"name": "bm25", "ndcg@10": 0.5}], {"title": "t", "lines": [], "files": []})
    page = path.read_text(encoding="utf-8")
    assert "0.5000" in page and "false negatives caught" not in page
