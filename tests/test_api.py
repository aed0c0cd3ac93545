"""hardneg.mine(): the Python API, its in-memory result, and parity with sentence-transformers' mine_hard_negatives."""

import json

import datasets
import pytest

import hardneg
from hardneg.data.errors import DataError

from conftest import DOCS, QRELS, QUERIES

TEXT = {d: t for d, _, t in DOCS}
PAIRS = [(q, TEXT[d]) for qid, q in QUERIES for d in QRELS[qid]]
CORPUS = [t for _, _, t in DOCS]


def _pairs(names=("anchor", "positive")) -> datasets.Dataset:
    return datasets.Dataset.from_dict({names[0]: [q for q, _ in PAIRS], names[1]: [a for _, a in PAIRS]})


def _parity(model, **kw):
    from sentence_transformers.util import mine_hard_negatives

    want = mine_hard_negatives(_pairs(), model, corpus=CORPUS, sampling_strategy="top", verbose=False, **kw)
    margins = {k: v for k, v in kw.items() if k != "num_negatives"}
    got = hardneg.mine(_pairs(), model, corpus=CORPUS, sampling="top", num_negatives=kw["num_negatives"], **margins)
    return want, got.to_dataset(kw.get("output_format", "triplet"))


@pytest.mark.parametrize("margin", [{"relative_margin": 0.05}, {"absolute_margin": 0.02},
                                    {"relative_margin": 0.05, "range_min": 1}])
def test_same_rows_as_mine_hard_negatives_tiny_model(tiny_bert, margin):
    from sentence_transformers import SentenceTransformer

    want, got = _parity(SentenceTransformer(str(tiny_bert)), num_negatives=2, **margin)
    assert got.column_names == want.column_names == ["anchor", "positive", "negative"]
    assert got.to_list() == want.to_list()


@pytest.mark.integration
@pytest.mark.parametrize("margin", [{"relative_margin": 0.05}, {"absolute_margin": 0.1}])
def test_same_rows_as_mine_hard_negatives_minilm(minilm_path, margin):
    from sentence_transformers import SentenceTransformer

    want, got = _parity(SentenceTransformer(str(minilm_path)), num_negatives=3, **margin)
    assert len(want) > 0 and got.to_list() == want.to_list()


def test_result_in_memory_every_format_and_save(tiny_beir, tmp_path):
    res = hardneg.mine(tiny_beir, "bm25", num_negatives=2, formats=["triplet", "flag"])
    assert res.summary["queries"] == 6 and res.summary["exported"]["triplet"] == len(res.to_dataset())
    trip = res.to_dataset("triplet")
    assert trip.column_names == ["query", "positive", "negative"]
    assert "neg_score" in res.to_dataset("triplet", full=True).column_names
    for fmt in ("n-tuple", "labeled-pair", "labeled-list", "flag"):
        assert isinstance(res.to_dataset(fmt), datasets.Dataset)
    with pytest.raises(ValueError, match="margin-judge"):  # margins come from a judge, never the miner
        res.to_dataset("marginmse")
    assert len(res.to_dataset("flag")) == res.summary["exported"]["flag"]
    files = res.save(tmp_path / "run")
    assert set(files) == {"triplet", "flag"} and (tmp_path / "run" / "flag.jsonl").exists()
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["exported"] == res.summary["exported"]
    with pytest.raises(ValueError, match="unknown format"):
        res.to_dataset("csv")


def test_pairs_dataset_with_extra_corpus_and_named_columns():
    ds = _pairs(("question", "answer"))
    res = hardneg.mine(ds, "bm25", corpus=CORPUS + ["Big animals such as lions do not purr."], num_negatives=1)
    rows = res.to_dataset().to_list()
    assert rows and set(rows[0]) == {"question", "answer", "negative"}
    assert any(r["negative"] == "Big animals such as lions do not purr." for r in rows)


def test_api_checks_options_before_loading(tmp_path):
    with pytest.raises(ValueError, match="^strategy: "):
        hardneg.mine(_pairs(), "bm25", relative_margin=-0.5)  # topk-percpos:1.5
    with pytest.raises(ValueError, match="^judges: unknown judge"):
        hardneg.mine(_pairs(), "bm25", judges=["nope"])
    with pytest.raises(DataError, match="no such file"):
        hardneg.mine(tmp_path / "missing", "bm25")


def test_out_writes_files_and_refuses_another_run(tiny_beir, tmp_path):
    out = tmp_path / "run"
    res = hardneg.mine(tiny_beir, "bm25", num_negatives=2, formats=["flag"], out=out)
    assert len((out / "flag.jsonl").read_text().splitlines()) == res.summary["exported"]["flag"]
    hardneg.mine(tiny_beir, "bm25", num_negatives=2, formats=["flag"], out=out)  # same settings: resumed
    with pytest.raises(ValueError, match="--overwrite"):
        hardneg.mine(tiny_beir, "bm25", num_negatives=3, formats=["flag"], out=out)
    hardneg.mine(tiny_beir, "bm25", num_negatives=3, formats=["triplet"], out=out, overwrite=True)
    assert not (out / "flag.jsonl").exists() and (out / "triplet.parquet").exists()


def test_in_memory_dataset_with_out_resumes_steps(tiny_beir, tmp_path):
    """A loaded Dataset (not a path) mined into a folder: the rerun reuses every step."""
    from hardneg.data.beir import load_beir

    ds, out = load_beir(tiny_beir, "train"), tmp_path / "run"
    a = hardneg.mine(ds, "bm25", num_negatives=2, formats=["flag"], judges=["dup:exact"], out=out)
    b = hardneg.mine(ds, "bm25", num_negatives=2, formats=["flag"], judges=["dup:exact"], out=out)
    assert set(a.summary["steps"].values()) == {"ran"} and set(b.summary["steps"].values()) == {"reused"}
    assert (out / "validation" / "audit.jsonl").exists()
    assert a.to_dataset("flag").to_list() == b.to_dataset("flag").to_list()
