"""Each export format loads back in the library that consumes it; ST formats train one step of their loss."""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow.parquet as pq
import pytest
from _export_helpers import DOCS, tiny_mined, train_one_step

from hardneg.export import export, parse_formats


@pytest.fixture
def out(tmp_path):
    export(tiny_mined(), tmp_path / "out", ["triplet", "n-tuple", "labeled-pair", "labeled-list", "flag", "marginmse"])
    return tmp_path / "out"


def load(path):
    from datasets import load_from_disk

    return load_from_disk(str(path))


def test_parse_formats():
    assert parse_formats(["triplet,flag", "triplet"]) == ["triplet", "flag"]
    assert parse_formats("FlagEmbedding,margin-mse") == ["flag", "marginmse"]
    with pytest.raises(ValueError, match="unknown format"):
        parse_formats("csv")


def test_triplet_layout_and_ids(out):
    ds = load(out / "triplet")
    assert ds.column_names == ["query", "positive", "negative"]  # as mine_hard_negatives(output_format="triplet")
    assert len(ds) == 2 * 2 + 1 + 2
    assert ds[0] == {"query": "first query", "positive": DOCS[0], "negative": DOCS[4]}
    full = pq.read_table(out / "triplet.parquet").to_pylist()
    assert full[0]["query_id"] == "q0" and full[0]["pos_id"] == "d0" and full[0]["neg_id"] == "d4"
    assert [r["neg_id"] for r in full] == ["d4", "d5", "d4", "d5", "d6", "d7", "d4"]
    assert full[0]["pos_score"] == pytest.approx(0.9) and full[0]["neg_score"] == pytest.approx(0.5)


def test_n_tuple_drops_short_rows(out):
    ds = load(out / "n-tuple")
    assert ds.column_names == ["query", "positive", "negative_1", "negative_2"]
    assert ds["query"] == ["first query", "first query", "third query"]  # q1 has one negative: no row
    full = pq.read_table(out / "n-tuple.parquet").to_pylist()
    assert full[2]["neg_ids"] == ["d7", "d4"] and full[2]["neg_scores"] == pytest.approx([.2, .1])


def test_labeled_pair_and_list(out):
    ds = load(out / "labeled-pair")
    assert ds.column_names == ["query", "positive", "label"]
    assert ds["label"][:4] == [1, 1, 0, 0] and len(ds) == 4 + 2 + 3
    ll = load(out / "labeled-list")
    assert ll.column_names == ["query", "positive", "labels"]
    assert ll[0] == {"query": "first query", "positive": [DOCS[0], DOCS[4], DOCS[5]], "labels": [1, 0, 0]}
    assert ll[2]["labels"] == [1, 0]
    full = pq.read_table(out / "labeled-list.parquet").to_pylist()
    assert full[2]["doc_ids"] == ["d2", "d6"]


def test_marginmse(out):
    ds = load(out / "marginmse")
    assert ds.column_names == ["query", "positive", "negative", "label"]
    assert ds[0]["label"] == pytest.approx(0.95 - 0.45, abs=1e-6)  # the judge's margin, not the miner's
    full = pq.read_table(out / "marginmse.parquet").to_pylist()
    assert full[0]["scorer"] == "teacher:test" and full[0]["margin"] == pytest.approx(0.5, abs=1e-6)


def test_marginmse_needs_a_judge_and_never_writes_nan(tmp_path):
    from dataclasses import replace

    with pytest.raises(ValueError, match="--margin-judge"):
        export(replace(tiny_mined(), judge_pos=None, judge_neg=None), tmp_path / "a", ["marginmse"])
    m = tiny_mined()
    m.judge_neg[2, 1] = np.nan  # a pair the judge could not score
    m.judge_pos[0, 1] = np.inf
    m.pos_scores[0, 0] = np.nan  # a miner score missing (fused, positive unretrieved)
    export(m, tmp_path / "b", ["marginmse", "triplet", "n-tuple", "labeled-pair", "labeled-list", "flag"])
    labels = load(tmp_path / "b" / "marginmse")["label"]
    assert len(labels) == 7 - 2 - 1 and all(math.isfinite(x) for x in labels)  # 7 triplets, 3 not finite
    for f in (tmp_path / "b").glob("*.parquet"):
        for col in pq.read_table(f).to_pylist():
            for v in col.values():
                for x in v if isinstance(v, list) else [v]:
                    assert not (isinstance(x, float) and not math.isfinite(x)), (f.name, col)


def test_margin_judge_is_required_before_models_load():
    from hardneg.validate.spec import margin_judge

    with pytest.raises(ValueError, match="never the miner"):
        margin_judge(None, ["triplet", "margin-mse"])
    with pytest.raises(ValueError, match="cross-encoder or teacher"):
        margin_judge("dup:exact", ["marginmse"])
    assert margin_judge("teacher:mpnet", ["marginmse"]).kind == "teacher"
    assert margin_judge(None, ["triplet"]) is None


def test_flag_jsonl_reads_like_flagembedding(out):
    lines = (out / "flag.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(x) for x in lines]
    assert len(rows) == 3
    for r in rows:  # the fields FlagEmbedding's AbsEmbedderTrainDataset reads, with KD scores aligned
        assert isinstance(r["query"], str) and isinstance(r["prompt"], str)
        assert all(isinstance(x, str) for x in r["pos"] + r["neg"])
        assert len(r["pos_scores"]) == len(r["pos"]) and len(r["neg_scores"]) == len(r["neg"])
        assert all(isinstance(x, float) and math.isfinite(x) for x in r["pos_scores"] + r["neg_scores"])
        assert len(r["pos_ids"]) == len(r["pos"]) and len(r["neg_ids"]) == len(r["neg"])
    assert rows[0]["pos"] == DOCS[:2] and rows[0]["neg_ids"] == ["d4", "d5"] and rows[1]["neg"] == [DOCS[6]]
    from datasets import load_dataset  # FlagEmbedding loads its train files with datasets' json builder

    ds = load_dataset("json", data_files=str(out / "flag.jsonl"), split="train", cache_dir=str(out / "hf"))
    assert ds[2]["neg"] == [DOCS[7], DOCS[4]]


def test_outputs_are_byte_identical(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    fmts = ["triplet", "labeled-list", "flag", "marginmse"]
    export(tiny_mined(), a, fmts)
    export(tiny_mined(), b, fmts)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert len(files) >= 10
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    export(tiny_mined(), a, ["triplet"])  # rewriting in place replaces atomically
    assert not [p for p in a.iterdir() if p.name.startswith(".")]


def test_st_bi_encoder_losses_train_one_step(out, tiny_bert, tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MarginMSELoss, MultipleNegativesRankingLoss

    model = SentenceTransformer(str(tiny_bert), device="cpu")
    for fmt, loss in [("triplet", MultipleNegativesRankingLoss(model)), ("n-tuple", MultipleNegativesRankingLoss(model)),
                      ("marginmse", MarginMSELoss(model))]:
        value = train_one_step(model, loss, load(out / fmt), tmp_path / fmt)
        assert np.isfinite(value)


def test_st_cross_encoder_losses_train_one_step(out, tiny_cross_encoder, tmp_path):
    from sentence_transformers.cross_encoder import CrossEncoder
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss, LambdaLoss

    model = CrossEncoder(str(tiny_cross_encoder), device="cpu")
    for fmt, loss in [("labeled-pair", BinaryCrossEntropyLoss(model)), ("labeled-list", LambdaLoss(model))]:
        value = train_one_step(model, loss, load(out / fmt), tmp_path / fmt, cross=True)
        assert np.isfinite(value)
