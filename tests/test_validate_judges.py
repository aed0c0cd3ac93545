"""Judges on real (tiny) models: cross-encoder pair encoding, teacher cosine, near-duplicates, the pair cache."""

import numpy as np
import pytest

from hardneg.validate import make_judge, validate
from hardneg.validate.judges.dup import DupJudge, MinHasher, normalise, shingles

from _validate_helpers import tiny_candidates


def test_cross_encoder_encodes_query_and_doc_as_a_pair(tiny_cross_encoder):
    judge = make_judge(f"cross-encoder:{tiny_cross_encoder}", cache=False)
    seen = []
    hook = judge.model.transformers_model.base_model.register_forward_pre_hook(
        lambda mod, args, kwargs: seen.append(kwargs.get("token_type_ids")), with_kwargs=True)
    try:
        s = judge.score_pairs(["which animals purr", "capital of france"],
                              ["cats are small mammals that purr .", "paris is the capital of france ."])
    finally:
        hook.remove()
    assert s.dtype == np.float32 and s.shape == (2,) and ((s > 0) & (s < 1)).all()
    tt = seen[0]
    assert tt is not None and (tt == 1).any(), "the document must be segment 1 of a (query, doc) pair"
    # and the scores are those of the paired encoding, not of one joined string
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_cross_encoder)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_cross_encoder).eval()
    with torch.no_grad():
        paired = torch.sigmoid(model(**tok(["which animals purr"], ["cats are small mammals that purr ."],
                                           return_tensors="pt")).logits[0, 0]).item()
        joined = torch.sigmoid(model(**tok(["which animals purr cats are small mammals that purr ."],
                                           return_tensors="pt")).logits[0, 0]).item()
    assert s[0] == pytest.approx(paired, abs=1e-5)
    assert abs(paired - joined) > 1e-6


def test_cross_encoder_scores_are_cached_on_disk(tiny_cross_encoder):
    a = make_judge(f"cross-encoder:{tiny_cross_encoder}")
    q, d = ["which animals purr"] * 3, ["cats purr", "dogs bark", "cats purr"]
    first = a.score_pairs(q, d)
    assert first[0] == first[2]
    second = a.score_pairs(q, d)
    assert a._cache.hits == 3 and np.array_equal(first, second)


def test_teacher_cosine_through_embedding_cache(tiny_bert):
    judge = make_judge(f"teacher:{tiny_bert}")
    q = ["which animals purr", "which animals purr"]
    d = ["Cats are small domesticated carnivorous mammals that purr.", "which animals purr"]
    s = judge.score_pairs(q, d)
    emb = judge.model.encode(q + d[:1], normalize_embeddings=True)
    assert s[0] == pytest.approx(float(emb[0] @ emb[2]), abs=1e-5)
    assert s[1] == pytest.approx(1.0, abs=1e-5)


def test_teacher_max_length_truncates_without_changing_the_shared_model(tiny_bert):
    long_doc = " ".join(["purring cats"] * 200)
    full = make_judge(f"teacher:{tiny_bert}")
    short = make_judge(f"teacher:{tiny_bert}:16")
    native = short.model.max_seq_length
    a = full.score_pairs(["cats"], [long_doc])
    b = short.score_pairs(["cats"], [long_doc])
    assert short.model.max_seq_length == native
    short.model.max_seq_length = 16
    try:
        want = short.model.encode(["cats", long_doc], normalize_embeddings=True)
    finally:
        short.model.max_seq_length = native
    assert b[0] == pytest.approx(float(want[0] @ want[1]), abs=1e-5)
    assert abs(a[0] - b[0]) > 1e-4


def test_dup_exact_jaccard_minhash():
    assert normalise("  Cats, are  CATS!") == "cats are cats"
    assert shingles("a b c d", 3) == {"a b c", "b c d"} and shingles("a b", 3) == {"a b"}
    a = "the quick brown fox jumps over the lazy dog near the river bank today"
    b = "The quick brown fox jumps over the lazy dog near the river bank, today!"
    c = "the quick brown fox jumps over the lazy cat near the river bank today"
    d = "completely different words about planets and stars in the night sky"
    exact = DupJudge("exact").score_pairs([a, a, a], [b, c, d])
    assert exact.tolist() == [1.0, 0.0, 0.0]
    jac = DupJudge("jaccard", ngram=3).score_pairs([a, a, a], [b, c, d])
    assert jac[0] == 1.0 and jac[2] == 0.0
    grams_a, grams_c = shingles(a, 3), shingles(c, 3)
    assert jac[1] == pytest.approx(len(grams_a & grams_c) / len(grams_a | grams_c))
    mh = DupJudge("minhash", ngram=3, num_perm=256).score_pairs([a, a, a], [b, c, d])
    assert mh[0] == 1.0 and mh[2] < 0.05 and abs(mh[1] - jac[1]) < 0.1
    sig = MinHasher(seed=1).signature(grams_a)
    assert np.array_equal(sig, MinHasher(seed=1).signature(grams_a))


def test_dup_judge_compares_candidates_with_positives(tiny_beir):
    ds, cand = tiny_candidates(tiny_beir, k=10)
    # plant a near-copy of q1's positive (d1) into q1's candidate list
    from hardneg.types import Corpus

    d1 = ds.corpus.index("d1")
    ds.corpus = Corpus(ds.corpus.ids + ["d1copy"], ds.corpus.titles + ["Cats"],
                       ds.corpus.texts + [ds.corpus.texts[d1].replace("purr.", "purr!")])
    cand.rows[0, 1] = len(ds.corpus) - 1
    res = validate(cand, ds, ["dup:jaccard:0.8"], num_negatives=5)
    assert res.dropped[0, 1] and res.dropped.sum() == 1
    assert res.judge_scores["dup"][0, 1] == 1.0 and res.rules["dup"][0].label() == "abs:0.8"


def test_cross_encoder_max_length_is_per_judge_not_on_the_shared_model(tiny_cross_encoder):
    full = make_judge(f"cross-encoder:{tiny_cross_encoder}", cache=False)
    native = full.model.max_seq_length
    short = make_judge(f"cross-encoder:{tiny_cross_encoder}:8", cache=False)
    assert short.model is full.model and full.model.max_seq_length == native
    long_doc = " ".join(["purring cats"] * 50)
    a, b = full.score_pairs(["cats"], [long_doc]), short.score_pairs(["cats"], [long_doc])
    assert full.model.max_seq_length == native and abs(float(a[0]) - float(b[0])) > 1e-6
