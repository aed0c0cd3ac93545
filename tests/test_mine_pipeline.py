"""End-to-end mining on the tiny BEIR fixture: python API, CLI, exclusions, reproducibility."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hardneg.cli import app
from hardneg.data.beir import load_beir
from _pipeline_helpers import config, mine
from hardneg.mining import build_candidates, make_retrievers, prepare, select_step


def _cfg(tiny_bert, out, **kw) -> dict:
    base = dict(retrievers=["bm25", f"dense:{tiny_bert}"], num_negatives=3, out=str(out),
                formats=["triplet", "flag"], seed=5)
    base.update(kw)
    return base


def _no_positive_negatives(ds, res):
    pos = ds.positives()
    for qid, rows in zip(res.selection.query_ids, res.selection.rows):
        negs = {ds.corpus.ids[r] for r in rows if r >= 0}
        assert not negs & set(pos[qid]), qid


@pytest.mark.parametrize("strategy", ["top", "range:1-6:random", "topk-percpos:0.99", "simans:a=5", "random"])
def test_mine_tiny_every_strategy(tiny_beir, tiny_bert, tmp_path, strategy):
    ds = load_beir(tiny_beir, "train")
    res = mine(ds, **_cfg(tiny_bert, tmp_path / "o", strategy=strategy, short="pad"))
    assert res.selection.rows.shape == (6, 3)
    _no_positive_negatives(ds, res)
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["queries"] == 6 and s["excluded"]["positive"] >= 1 and s["config"]["select"]["strategy"] == strategy
    assert set(s["timings"]) >= {"encode", "search", "select", "export", "total"}
    assert (tmp_path / "o" / "triplet.parquet").exists() and (tmp_path / "o" / "flag.jsonl").exists()
    if strategy in ("top", "random", "range:1-6:random"):
        assert (res.selection.rows >= 0).all()  # 12 docs: always 3 to be had
    assert np.isfinite(res.candidates.pos_scores[res.candidates.pos_rows >= 0]).all()
    assert set(res.candidates.retriever_ranks) == {"bm25", f"dense:{tiny_bert}"}


def test_same_seed_same_bytes(tiny_beir, tiny_bert, tmp_path):
    ds = load_beir(tiny_beir, "train")
    fmts = ["triplet", "n-tuple", "flag", "marginmse"]
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        mine(ds, **_cfg(tiny_bert, tmp_path / name, strategy="range:0-8:random", formats=fmts, seed=seed,
                        margin_judge=f"teacher:{tiny_bert}"))
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                   if p.is_file() and p.name not in ("summary.json", "config.yaml") and p.suffix != ".done")  # name the folder
    assert files
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert (tmp_path / "a" / "flag.jsonl").read_bytes() != (tmp_path / "c" / "flag.jsonl").read_bytes()


def test_query_blocks_give_the_same_negatives(tiny_beir, tiny_bert):
    ds = load_beir(tiny_beir, "train")
    cfg = config(retrievers=[f"dense:{tiny_bert}"], strategy="simans:a=3", num_negatives=3, seed=9)
    prep = prepare(ds)
    rets = make_retrievers(cfg.retrieve)
    cands, _ = build_candidates(ds, cfg, prep, rets)
    whole = select_step(cands, cfg.select, prep, rets)
    parts = [select_step(cands.take(np.arange(s, min(s + 4, 6))), cfg.select, prep, rets) for s in (0, 4)]
    assert np.array_equal(whole.rows, np.concatenate([p.rows for p in parts]))


def test_same_text_duplicate_and_repeated_query(tiny_beir, tiny_bert, tmp_path):
    with open(tiny_beir / "corpus.jsonl", "a", encoding="utf-8") as f:  # d13 = d1's text, shouted
        f.write(json.dumps({"_id": "d13", "title": "CATS", "text": "Cats are small domesticated carnivorous "
                                                                    "mammals that PURR!"}) + "\n")
    with open(tiny_beir / "queries.jsonl", "a", encoding="utf-8") as f:  # q7 repeats q1 with another positive
        f.write(json.dumps({"_id": "q7", "text": "Which animals purr?"}) + "\n")
    with open(tiny_beir / "qrels" / "train.tsv", "a", encoding="utf-8") as f:
        f.write("q7\td2\t1\n")
    ds = load_beir(tiny_beir, "train")
    res = mine(ds, **_cfg(tiny_bert, tmp_path / "o", strategy="top", num_negatives=8, retrievers=["bm25"]))
    neg = {q: {ds.corpus.ids[r] for r in rows if r >= 0} for q, rows in zip(res.selection.query_ids,
                                                                           res.selection.rows)}
    assert not neg["q1"] & {"d1", "d13", "d2"} and not neg["q7"] & {"d1", "d13", "d2"}
    assert res.excluded["same-text"] >= 2 and res.excluded["pooled-positive"] >= 2


def test_cli_mine(tiny_beir, tiny_bert, tmp_path):
    out = tmp_path / "cli"
    r = CliRunner().invoke(app, ["mine", "--data", str(tiny_beir), "--split", "train", "--retriever", "bm25",
                                 "--retriever", f"dense:{tiny_bert}", "--fusion", "rrf", "--strategy",
                                 "topk-marginpos:0.0", "--num-negatives", "2", "--pos-score", "min", "--short", "drop",
                                 "--format", "triplet", "--format", "labeled-list", "--out", str(out), "--seed", "3"])
    assert r.exit_code == 0, r.output
    s = json.loads((out / "summary.json").read_text())
    assert s["config"]["select"]["num_negatives"] == 2 and "topk-marginpos" in s["skipped"]
    assert s["queries_exported"] == s["queries"] - s["dropped"]
    assert (out / "labeled-list" / "state.json").exists()


def test_cli_bad_input(tmp_path):
    r = CliRunner().invoke(app, ["mine", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "nope" in r.output
    r = CliRunner().invoke(app, ["mine", "--data", str(tmp_path), "--strategy", "range:9-2", "--out", str(tmp_path)])
    assert r.exit_code == 2


@pytest.mark.integration
def test_scifact_slice_matches_sentence_transformers(scifact_dir, minilm_path, tmp_path):
    """On a small SciFact slice, `top` negatives equal mine_hard_negatives' for nearly every query."""
    from datasets import Dataset as HFDataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives

    from hardneg.types import Dataset

    full = load_beir(scifact_dir, "train")
    pos = full.positives()
    qids = [q for q in full.queries.ids if pos.get(q)][:30]
    keep = sorted({full.corpus.index(d) for q in qids for d in pos[q]} | set(range(100)))
    corpus = full.corpus.subset(keep)
    ds = Dataset(corpus, full.queries.subset(qids), {q: full.qrels[q] for q in qids})
    res = mine(ds, retrievers=[f"dense:{minilm_path}"], strategy="top", num_negatives=5)
    texts = corpus.full_texts()
    pairs = HFDataset.from_dict({"query": [ds.queries.text(q) for q in qids for _ in pos[q]],
                                 "positive": [texts[corpus.index(d)] for q in qids for d in pos[q]]})
    st = mine_hard_negatives(pairs, SentenceTransformer(str(minilm_path), device="cpu"), corpus=texts,
                             num_negatives=5, output_format="n-tuple", verbose=False)
    st_sets = {}
    for row in st:
        st_sets.setdefault(row["query"], {row[f"negative_{i}"] for i in range(1, 6)})
    ours = {ds.queries.text(q): {texts[r] for r in rows} for q, rows in zip(res.selection.query_ids,
                                                                             res.selection.rows)}
    same = np.mean([ours[q] == s for q, s in st_sets.items()])
    assert len(st_sets) >= 28 and same >= 0.95


class FirstWordJudge:
    """Flags (score 1) each candidate whose text holds `word`."""

    compares, units, name = "query", "test", "word"

    def __init__(self, word: str):
        self.word = word

    def score_pairs(self, queries, docs):
        return np.array([1.0 if self.word in d.lower() else 0.0 for d in docs], np.float32)


def test_validation_runs_between_select_and_export(tiny_beir, tiny_bert, tmp_path):
    ds = load_beir(tiny_beir, "train")
    res = mine(ds, [FirstWordJudge("the")], rules=["abs:0.5"], short="keep", depth=12,
               **_cfg(tiny_bert, tmp_path / "o"))
    assert "validate" in res.timings and res.summary["steps"]["validate"] == "ran"
    texts = res.mined.doc_texts
    kept = [texts[r] for r in res.mined.neg_rows.ravel() if r >= 0]
    assert kept and all("the" not in t.lower() for t in kept)  # what validation dropped is never exported
    assert res.validation["dropped"] > 0
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["negatives"] == len(kept)
