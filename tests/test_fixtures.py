"""The shared tiny models load and behave like the real thing."""

import numpy as np


def test_tiny_bert_encodes(tiny_bert):
    from sentence_transformers import SentenceTransformer

    m = SentenceTransformer(str(tiny_bert), device="cpu")
    e = m.encode(["cats purr", "capital of France"])
    assert e.shape == (2, 32) and np.isfinite(e).all()


def test_tiny_cross_encoder_scores_pairs(tiny_cross_encoder):
    from sentence_transformers import CrossEncoder

    ce = CrossEncoder(str(tiny_cross_encoder), device="cpu")
    s = ce.predict([("cats purr", "Cats are mammals"), ("cats purr", "Paris is in France")])
    assert s.shape == (2,) and np.isfinite(s).all() and s[0] != s[1]
