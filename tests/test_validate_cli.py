"""`hardneg validate RUN_DIR` and `hardneg report RUN_DIR` end to end on the tiny fixture, plus the mine step."""

import json

import numpy as np
from typer.testing import CliRunner

from hardneg.cli import app
from hardneg.data.beir import load_beir
from hardneg.types import Selection
from hardneg.validate.step import load_candidates, save_candidates, selection_order, validate_selection

from _validate_helpers import tiny_candidates


def _top_selection(cand, n, skip=0):
    rows = cand.rows[:, skip:skip + n].copy()
    return Selection(list(cand.query_ids), rows, cand.scores[:, skip:skip + n].copy(),
                     np.where(rows >= 0, np.arange(skip + 1, skip + n + 1)[None, :], 0).astype(np.int32),
                     np.ones(len(rows), bool))


def test_selection_order_puts_picks_first_then_the_pool_below_them(tiny_beir):
    ds, cand = tiny_candidates(tiny_beir, k=10)
    sel = _top_selection(cand, 3, skip=2)  # a rank window 3-5
    ordered, ranks = selection_order(cand, sel)
    assert (ordered.rows[:, :3] == cand.rows[:, 2:5]).all()
    assert (ordered.rows[:, 3:8] == cand.rows[:, 5:10]).all() and (ordered.rows[:, 8:] == -1).all()
    assert ranks[0].tolist() == [3, 4, 5, 6, 7, 8, 9, 10, 0, 0, 0, 0, 0]
    assert (ordered.retriever_ranks["bm25"][:, :8] == ranks[:, :8]).all()


def test_validate_selection_refills_and_keeps_miner_ranks(tiny_beir, tmp_path):
    ds, cand = tiny_candidates(tiny_beir, k=10)
    # plant an exact copy of q3's positive at its rank 1
    from hardneg.types import Corpus

    p = ds.corpus.index("d7")
    ds.corpus = Corpus(ds.corpus.ids + ["copy"], ds.corpus.titles + [ds.corpus.titles[p]],
                       ds.corpus.texts + [ds.corpus.texts[p]])
    cand.rows[2, 0] = len(ds.corpus) - 1
    sel = _top_selection(cand, 3)
    new, res = validate_selection(ds, cand, sel, ["dup:exact"], out=tmp_path)
    assert new.ranks[2].tolist() == [2, 3, 4] and (new.ranks[[0, 1, 3]] == [1, 2, 3]).all()
    assert new.rows[2].tolist() == cand.rows[2, 1:4].tolist() and new.still_short == 0
    audit = [json.loads(x) for x in open(tmp_path / "validation" / "audit.jsonl")]
    assert [(a["query_id"], a["doc_id"], a["rule"], a["positive_id"]) for a in audit] == [
        ("q3", "copy", "dup=abs:1", "d7")]


def test_cli_validate_then_report(tiny_beir, tmp_path, tiny_cross_encoder):
    ds, cand = tiny_candidates(tiny_beir, k=8)
    run = tmp_path / "run"
    save_candidates(run / "candidates.npz", cand, _top_selection(cand, 3),
                    {"data": str(tiny_beir), "split": "train"})
    c2, s2, meta = load_candidates(run / "candidates.npz")
    assert c2.query_ids == cand.query_ids and (c2.rows == cand.rows).all() and s2.rows.shape == (6, 3)
    assert meta["split"] == "train" and set(c2.retriever_ranks) == {"bm25"}
    r = CliRunner().invoke(app, ["validate", str(run), "--judge", f"cross-encoder:{tiny_cross_encoder}",
                                 "--judge", "dup:jaccard:0.5:1", "--rule", "cross-encoder=perc:0.999",
                                 "--format", "triplet"])
    assert r.exit_code == 0, r.output
    v = run / "validation"
    summ = json.loads((v / "summary.json").read_text())
    assert summ["judged"] == summ["kept"] + summ["dropped"] + summ["spare"]
    assert summ["kept"] == 3 * 6 - sum(3 - (3 if q not in summ["short_query_ids"] else 0) for q in summ["short_query_ids"])
    assert set(summ["rules"]) == {"cross-encoder", "dup"} and summ["rules"]["dup"] == ["abs:0.5"]
    assert (v / "audit.parquet").exists() and (v / "triplet.parquet").exists()
    r = CliRunner().invoke(app, ["report", str(run), "--html"])
    assert r.exit_code == 0, r.output
    md = (v / "report.md").read_text()
    assert "most confident suspected false negatives" in md and "hist_cross-encoder.png" in md
    assert (v / "hist_cross-encoder.png").read_bytes()[:4] == b"\x89PNG" and (v / "report.html").exists()


def test_cli_reports_bad_input(tmp_path):
    r = CliRunner().invoke(app, ["validate", str(tmp_path), "--judge", "dup:exact"])
    assert r.exit_code == 2 and "candidates.npz" in r.output
    (tmp_path / "candidates.npz").write_text("not numpy")
    r = CliRunner().invoke(app, ["validate", str(tmp_path), "--judge", "dup:exact"])
    assert r.exit_code == 2 and "not a candidates file" in r.output
    r = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert r.exit_code == 2 and "hardneg validate" in r.output


def test_run_saves_candidates_and_validates(tiny_beir, tmp_path):
    from _pipeline_helpers import mine

    ds = load_beir(tiny_beir, "train")
    plain = mine(ds, retrievers=["bm25"], num_negatives=3, depth=8)
    res = mine(ds, judges=["dup:exact"], retrievers=["bm25"], num_negatives=3, depth=8, data=str(tiny_beir),
               out=str(tmp_path / "run"))
    assert (res.selection.rows == plain.selection.rows).all()  # no exact duplicates of a positive here
    c2, s2, meta = load_candidates(tmp_path / "run" / "candidates.npz")
    assert (c2.rows == plain.candidates.rows).all() and meta["data"] == str(tiny_beir) and meta["split"] == "train"
    assert (tmp_path / "run" / "validation" / "summary.json").exists()
    assert not plain.validation and "validate" not in plain.summary["steps"]


def test_mine_with_judges_then_validate_and_report(tiny_beir, tmp_path):
    out = tmp_path / "mine"
    r = CliRunner().invoke(app, ["mine", "--data", str(tiny_beir), "--split", "train", "-r", "bm25", "-n", "3",
                                 "--out", str(out), "--judge", "dup:jaccard:0.9"])
    assert r.exit_code == 0, r.output
    assert (out / "candidates.npz").exists() and (out / "validation" / "audit.jsonl").exists()
    r = CliRunner().invoke(app, ["validate", str(out), "--judge", "dup:jaccard:0.05:1"])
    assert r.exit_code == 0, r.output
    summ = json.loads((out / "validation" / "summary.json").read_text())
    assert summ["dropped"] > 0 and summ["judged"] == summ["kept"] + summ["dropped"] + summ["spare"]
    assert CliRunner().invoke(app, ["report", str(out)]).exit_code == 0
