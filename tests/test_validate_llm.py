"""The LLM judge against a real llama.cpp server on 127.0.0.1 (SmolLM2), and the retry/malformed paths."""

import numpy as np
import pytest

from hardneg.validate import make_judge, validate
from hardneg.validate.judges.llm import p_yes, prompt
from tests._llm_helpers import bad_server, llm_server_factory  # noqa: F401  (fixtures)

from _validate_helpers import tiny_candidates


def test_p_yes_from_two_logprobs():
    lp = np.array([[np.log(0.6), np.log(0.2)], [-np.inf, -1.0], [-np.inf, -np.inf]], np.float32)
    out = p_yes(lp)
    assert out[0] == pytest.approx(0.75) and out[1] == 0.0 and np.isnan(out[2])
    msgs = prompt("q?", "x" * 5000, max_doc_chars=100)
    assert msgs[0]["role"] == "system" and len(msgs[1]["content"]) < 400


def test_llm_judge_on_real_local_server(llm_server_factory, tiny_beir):
    url = llm_server_factory("smollm2").url
    judge = make_judge(f"llm:openai:{url}", cache=False)
    q = ["capital of France", "capital of France", "which animals purr"]
    d = ["Paris is the capital and largest city of France.", "Mars is the fourth planet from the Sun.",
         "Cats are small domesticated carnivorous mammals that purr."]
    s = judge.score_pairs(q, d)
    assert s.dtype == np.float32 and s.shape == (3,)
    assert np.isfinite(s).all() and ((s >= 0) & (s <= 1)).all(), "SmolLM2 puts yes/no among its top tokens"
    assert judge.malformed == 0
    # the same pairs again come from the judge's disk cache, identical
    cached = make_judge(f"llm:openai:{url}")
    first = cached.score_pairs(q, d)
    assert np.array_equal(first, cached.score_pairs(q, d)) and cached._cache.hits == 3
    assert np.allclose(first, s, atol=1e-4)
    # and inside validate(): a few pairs only (num_negatives=1, no margin)
    ds, cand = tiny_candidates(tiny_beir, k=4)
    res = validate(cand.take(np.arange(1)), ds, [judge], ["abs:0.99"], num_negatives=1, refill_margin=0)
    assert res.judged.sum() >= 1 and np.isfinite(res.judge_scores["llm"][res.judged]).all()


def test_llm_judge_retries_500_and_429_and_counts_malformed(bad_server):
    bad_server.script = ["500", "429", "ok", "badjson"]
    judge = make_judge(f"llm:openai:{bad_server.url}", cache=False, batch_size=1)
    judge.llm.backoff = 0.01
    judge.llm.cache_dir = None
    s = judge.score_pairs(["q1", "q2"], ["d1", "d2"])
    # the scripted server answers 'ok' (not yes) with 'no' among the top tokens: P(yes) = 0
    assert s[0] == 0.0 and judge.llm.retries == 2
    assert np.isnan(s[1]) and judge.malformed == 1 and judge.llm.malformed == 1
    assert len(bad_server.requests) == 4
    body = bad_server.requests[-1]["body"]
    assert body["max_tokens"] == 1 and body["logprobs"] is True and body["top_logprobs"] >= 2
