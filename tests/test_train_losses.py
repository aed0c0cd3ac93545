"""Each loss builds and trains one step on the tiny BERT; data readers merge and validate rows."""

from __future__ import annotations

import json

from dataclasses import replace

import numpy as np
import pytest

from hardneg.data.errors import DataError
from hardneg.train.data import read_groups
from hardneg.types import Groups
from hardneg.train.losses import LOSSES, get_loss, layout
from hardneg.train.trainer import TrainConfig, train_bi_encoder, train_cross_encoder

ROWS = [("which animals purr", "Cats are small domesticated carnivorous mammals that purr.",
         ["Dogs are loyal domesticated animals descended from wolves.", "Tea is an aromatic beverage."]),
        ("capital of France", "Paris is the capital and largest city of France.",
         ["Berlin is the capital and largest city of Germany.", "Mars is the fourth planet from the Sun."]),
        ("hot planet near the sun", "Venus is the second planet from the Sun and very hot.",
         ["Mars is the fourth planet from the Sun, the red planet.", "Coffee is a brewed drink."]),
        ("hormone controlling blood sugar", "Insulin is a hormone that regulates blood glucose levels.",
         ["Vaccines train the immune system to recognise pathogens.", "Rust is a systems language."])]


def tiny_groups() -> Groups:
    g = Groups()
    for i, (a, p, ns) in enumerate(ROWS):
        g.add(a, p, ns, 0.8, [0.5 - 0.1 * i, 0.3])
    return g


@pytest.mark.parametrize("loss", [n for n, s in LOSSES.items() if not s.cross])
def test_bi_encoder_loss_trains_one_step(loss, tiny_bert, tmp_path):
    cfg = TrainConfig(model=str(tiny_bert), loss=loss, epochs=1, batch_size=8, max_seq_length=32, warmup_ratio=0.0,
                      learning_rate=1e-3,
                      guide=str(tiny_bert) if loss == "gist" else None, mini_batch_size=4)
    res = train_bi_encoder(tiny_groups(), cfg, tmp_path / "m")
    assert (tmp_path / "m" / "modules.json").exists()
    assert res.rows == len(layout(tiny_groups(), get_loss(loss))["label" if loss == "batch-hard-triplet"
                                                                   else next(iter(layout(tiny_groups(),
                                                                                         get_loss(loss))))])
    from sentence_transformers import SentenceTransformer

    before = SentenceTransformer(str(tiny_bert)).encode(["capital of France"])
    trained = SentenceTransformer(str(tmp_path / "m"))
    assert trained.max_seq_length == 64  # trained at 32 tokens, saved with the base model's length
    after = trained.encode(["capital of France"])
    assert not np.allclose(before, after), "one optimizer step must change the weights"


@pytest.mark.parametrize("loss", ["bce", "ce-mnrl", "listnet", "lambda"])
def test_cross_encoder_loss_trains_one_step(loss, tiny_cross_encoder, tmp_path):
    cfg = TrainConfig(model=str(tiny_cross_encoder), loss=loss, epochs=1, batch_size=16, max_seq_length=32)
    res = train_cross_encoder(tiny_groups(), cfg, tmp_path / "ce")
    assert res.rows == (12 if loss == "bce" else 4)
    from sentence_transformers import CrossEncoder

    scores = CrossEncoder(str(tmp_path / "ce")).predict([("capital of France", "Paris is the capital.")])
    assert np.isfinite(scores).all()


def _weights(path, **options) -> dict:
    from sentence_transformers import CrossEncoder

    return {k.split("model.", 1)[-1]: v.detach().clone()
            for k, v in CrossEncoder(str(path), **options).named_parameters()}


def test_reranker_head_learns_at_its_own_rate(tiny_cross_encoder, tmp_path):
    cfg = TrainConfig(model=str(tiny_cross_encoder), loss="bce", epochs=2, batch_size=4, max_seq_length=32,
                      warmup_ratio=0.0, learning_rate=1e-9, head_learning_rate=1e-2)
    train_cross_encoder(tiny_groups(), cfg, tmp_path / "ce")
    before, after = _weights(tiny_cross_encoder), _weights(tmp_path / "ce")
    moved = {k: float((after[k] - before[k]).abs().max()) for k in before}
    head = [k for k in moved if "classifier" in k or "pooler" in k]
    body = [k for k in moved if k not in head]
    assert head and body
    assert min(moved[k] for k in head if k.endswith("weight")) > 1e-3
    assert max(moved[k] for k in body) < 1e-5


def test_layouts():
    g = tiny_groups()
    t = layout(g, get_loss("mnrl"), n_negatives=1)
    assert list(t) == ["anchor", "positive", "negative_1"] and len(t["anchor"]) == 4
    m = layout(g, get_loss("margin-mse"))
    assert len(m["label"]) == 8 and m["label"][0] == pytest.approx(0.3)
    lp = layout(g, get_loss("contrastive"))
    assert lp["label"][:3] == [1, 0, 0]
    lab = layout(g, get_loss("batch-hard-triplet"))
    assert lab["label"] == [0, 0, 1, 1, 2, 2, 3, 3]
    with pytest.raises(DataError, match="needs negatives"):
        layout(Groups(["q"], ["p"], [[]], [None], [None]), get_loss("triplet"))


def test_read_groups_formats(tmp_path):
    import datasets

    trip = tmp_path / "trip.jsonl"
    trip.write_text("\n".join(json.dumps({"query": a, "answer": p, "negative": n}) for a, p, ns in ROWS
                              for n in ns) + "\n")
    g = read_groups(trip)
    assert len(g) == 4 and g.negatives[0] == ROWS[0][2]
    nt = tmp_path / "nt"
    datasets.Dataset.from_dict({"q": [r[0] for r in ROWS], "p": [r[1] for r in ROWS],
                                "negative_1": [r[2][0] for r in ROWS], "negative_2": [r[2][1] for r in ROWS],
                                "scores": [[0.9, 0.4, 0.2]] * 4}).save_to_disk(str(nt))
    g = read_groups(nt)
    assert g.neg_scores[0] == pytest.approx([0.4, 0.2]) and len(g.negatives[3]) == 2
    lp = tmp_path / "lp.parquet"
    datasets.Dataset.from_dict({"query": ["a", "a", "a"], "doc": ["p", "n1", "n2"], "label": [1, 0, 0]}
                               ).to_parquet(str(lp))
    g = read_groups(lp)
    assert g.positives == ["p"] and g.negatives == [["n1", "n2"]]
    ll = tmp_path / "ll.jsonl"
    ll.write_text(json.dumps({"query": "a", "docs": ["p", "n"], "labels": [1, 0]}) + "\n")
    assert read_groups(ll).negatives == [["n"]]


def test_read_groups_errors_name_row_and_field(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"query": "a", "answer": "p"}) + "\n" + json.dumps({"query": 3, "answer": "p"}) + "\n")
    with pytest.raises(DataError, match=r"bad.jsonl, line 2, field 'query'"):
        read_groups(bad)
    with pytest.raises(DataError, match="does not exist"):
        read_groups(tmp_path / "nope.parquet")


def test_config_errors_name_field():
    with pytest.raises(DataError, match="field 'loss'"):
        TrainConfig(loss="nope")
    with pytest.raises(DataError, match="field 'batch_size'"):
        TrainConfig(batch_size=0)
    with pytest.raises(DataError, match="field 'warmup_ratio'"):
        TrainConfig(warmup_ratio=1.5)
    with pytest.raises(DataError, match="field 'head_learning_rate'"):
        TrainConfig(head_learning_rate=0)


@pytest.mark.parametrize("fmt", ["triplet", "n-tuple", "labeled-pair", "labeled-list", "marginmse"])
def test_reads_what_the_export_stage_writes(fmt, tmp_path):
    from hardneg.export import export
    from hardneg.types import Mined

    m = Mined(["q1", "q2"], ["which animals purr", "capital of France"],
              np.array([[0, -1], [1, 2]]), np.array([[0.9, np.nan], [0.8, 0.7]], dtype=np.float32),
              np.array([[3, 4], [4, 5]]), np.array([[0.5, 0.4], [0.6, 0.3]], dtype=np.float32),
              [f"d{i}" for i in range(6)], [f"doc {i}" for i in range(6)], "dense:minilm")
    m = replace(m, judge_pos=m.pos_scores.copy(), judge_neg=m.neg_scores.copy(), judge="teacher:test")
    export(m, tmp_path, [fmt])
    for path in (tmp_path / fmt, tmp_path / f"{fmt}.parquet"):
        g = read_groups(path)
        assert sorted(zip(g.anchors, g.positives)) == [("capital of France", "doc 1"), ("capital of France", "doc 2"),
                                                      ("which animals purr", "doc 0")], path
        i = g.positives.index("doc 1")
        assert g.negatives[i] == ["doc 4", "doc 5"], path
        if fmt == "marginmse" or (path.suffix == ".parquet" and fmt in ("triplet", "n-tuple")):
            assert g.pos_scores[i] - g.neg_scores[i][0] == pytest.approx(0.8 - 0.6, abs=1e-6), path


def test_fresh_head_is_detected(tiny_bert, tiny_cross_encoder):
    from sentence_transformers import CrossEncoder

    from hardneg.train.trainer import fresh_head

    assert fresh_head(CrossEncoder(str(tiny_bert), num_labels=1))
    assert not fresh_head(CrossEncoder(str(tiny_cross_encoder)))


def test_a_new_reranker_head_gets_its_own_rate_by_default(tiny_bert, tmp_path):
    from transformers import set_seed

    set_seed(42)  # the trainer seeds the same way before it builds the head
    before = _weights(tiny_bert, num_labels=1)
    moved = {}
    for head_lr in (None, 1e-9):
        cfg = TrainConfig(model=str(tiny_bert), loss="bce", epochs=2, batch_size=4, max_seq_length=32,
                          warmup_ratio=0.0, learning_rate=1e-9, head_learning_rate=head_lr)
        train_cross_encoder(tiny_groups(), cfg, tmp_path / str(head_lr))
        after = _weights(tmp_path / str(head_lr))
        moved[head_lr] = float((after["classifier.weight"] - before["classifier.weight"]).abs().max())
    assert moved[None] > 1e-3 and moved[1e-9] < 1e-5
