"""LLM backends: spec parsing, the OpenAI-compatible client against real local servers, HF models."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hardneg.llm import Generation, LLMError, make_llm, parse_llm_spec
from hardneg.llm.base import match_options, parse_choice
from hardneg.llm.openai_http import OpenAILLM
from tests._llm_helpers import bad_server, llm_server_factory  # noqa: F401  (fixtures)


def test_spec_parser():
    assert parse_llm_spec("local").model == "smollm2"
    assert parse_llm_spec("local:gemma").model == "gemma"
    assert parse_llm_spec("local:/m/x.gguf").model == "/m/x.gguf"
    s = parse_llm_spec("openai:http://127.0.0.1:8000/v1:qwen2.5:7b")
    assert (s.kind, s.url, s.model) == ("openai", "http://127.0.0.1:8000/v1", "qwen2.5:7b")
    s = parse_llm_spec("openai:https://api.openai.com/v1")
    assert (s.url, s.model) == ("https://api.openai.com/v1", "")
    assert parse_llm_spec("hf:doc2query/msmarco-t5-base-v1").model == "doc2query/msmarco-t5-base-v1"
    for bad in ("", "gpt", "openai:", "openai:localhost", "hf:"):
        with pytest.raises(ValueError, match="unknown LLM spec"):
            parse_llm_spec(bad)


def test_parse_choice_and_options():
    g = parse_choice({"choices": [{"text": "hi", "logprobs": {"token_logprobs": [-1.0, -3.0]}}]})
    assert g.ok and g.text == "hi" and g.n_tokens == 2 and g.mean_logprob == -2.0
    assert not parse_choice({"choices": []}).ok
    assert not parse_choice({}).ok
    assert math.isinf(Generation("").mean_logprob)
    got = match_options({" Yes": -0.2, "yes": -1.0, "No": -2.0}, ["yes", "no", "maybe"])
    assert got[0] == np.float32(-0.2) and got[1] == np.float32(-2.0) and np.isneginf(got[2])


def test_openai_backend_real_llama_server(llm_server_factory, monkeypatch):
    """Real generation through HTTP from xllamacpp serving SmolLM2, deterministic and cached."""
    url = llm_server_factory().url
    monkeypatch.setenv("TEST_KEY", "sk-secret-123")
    llm = make_llm(f"openai:{url}", api_key_env="TEST_KEY", concurrency=2)
    prompts = ["Write a search query about cats.", [{"role": "user", "content": "Name a colour."}]]
    a = llm.generate(prompts, max_tokens=8, seed=3)
    assert all(g.ok and g.text and 0 < g.n_tokens <= 8 and len(g.token_logprobs) == g.n_tokens for g in a)
    assert all(lp <= 0 for g in a for lp in g.token_logprobs)
    assert "sk-secret" not in llm.name
    fresh = OpenAILLM(url, api_key_env="TEST_KEY", cache=False)
    b = fresh.generate(prompts, max_tokens=8, seed=3)
    assert [g.text for g in a] == [g.text for g in b]  # same seed, same text
    again = llm.generate(prompts, max_tokens=8, seed=3)
    assert llm.cache_hits == 2 and [g.text for g in again] == [g.text for g in a]
    lp = llm.next_token_logprobs(["Is Paris in France? Answer yes or no."], ["yes", "no", "zebra"])
    assert lp.shape == (1, 3) and np.isfinite(lp[0, :2]).all() and np.isneginf(lp[0, 2])


def test_openai_backend_sends_key_and_retries(bad_server, monkeypatch, caplog):
    monkeypatch.setenv("MY_KEY", "sk-do-not-log")
    bad_server.script = ["429", "500", "503"]
    llm = OpenAILLM(bad_server.url, api_key_env="MY_KEY", backoff=0.01, cache=False, concurrency=1)
    assert llm.model == "bad-model"
    caplog.set_level("DEBUG")
    g = llm.generate(["hi"])[0]
    assert g.ok and g.text == "ok" and g.token_logprobs == [-0.5]
    assert llm.retries == 3 and len(bad_server.requests) == 4
    assert bad_server.requests[0]["auth"] == "Bearer sk-do-not-log"
    assert "sk-do-not-log" not in caplog.text


def test_openai_backend_timeout_then_success(bad_server):
    bad_server.script, bad_server.delay = ["slow"], 1.5
    llm = OpenAILLM(bad_server.url, "m", timeout=0.3, backoff=0.01, cache=False)
    assert llm.generate(["hi"])[0].text == "ok" and llm.retries == 1


def test_openai_backend_gives_up_and_rejects_400(bad_server):
    bad_server.script = ["500"] * 3
    llm = OpenAILLM(bad_server.url, "m", max_retries=2, backoff=0.01, cache=False)
    with pytest.raises(LLMError, match="HTTP 500 after 3 attempts"):
        llm.generate(["hi"])
    bad_server.script = ["400"]
    with pytest.raises(LLMError, match="400"):
        llm.generate(["hi"])


def test_openai_backend_counts_malformed(bad_server):
    bad_server.script = ["badjson", "ok"]
    llm = OpenAILLM(bad_server.url, "m", cache=False, concurrency=1)
    gens = llm.generate(["a", "b"])
    assert [g.ok for g in gens] == [False, True] and llm.malformed == 1 and gens[0].text == ""


def _tiny_hf(path, kind):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = "cats dogs purr bark what why how do is the a of query document".split()
    vocab = {w: i for i, w in enumerate(["<pad>", "</s>", "<unk>"] + words)}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    torch.manual_seed(0)
    if kind == "t5":
        cfg = T5Config(vocab_size=len(vocab), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                       pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
        model = T5ForConditionalGeneration(cfg)
    else:
        cfg = GPT2Config(vocab_size=len(vocab), n_embd=16, n_layer=1, n_head=2, n_positions=64,
                         bos_token_id=1, eos_token_id=1, pad_token_id=0)
        model = GPT2LMHeadModel(cfg)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.mark.parametrize("kind", ["t5", "gpt2"])
def test_hf_backend_tiny_models(tmp_path, kind):
    path = _tiny_hf(tmp_path / kind, kind)
    llm = make_llm(f"hf:{path}", batch_size=2)
    gens = llm.generate(["what do cats do", "dogs bark", "the query"], max_tokens=5)
    assert len(gens) == 3 and all(0 <= g.n_tokens <= 5 and len(g.token_logprobs) == g.n_tokens for g in gens)
    assert all(lp <= 0 for g in gens for lp in g.token_logprobs)
    assert [g.text for g in gens] == [g.text for g in llm.generate(["what do cats do", "dogs bark", "the query"],
                                                                    max_tokens=5)]
    lp = llm.next_token_logprobs(["cats purr", "dogs"], ["cats", "dogs"])
    assert lp.shape == (2, 2) and np.isfinite(lp).all() and (lp < 0).all()
    assert np.exp(lp).sum(axis=1).max() <= 1.0 + 1e-5


def test_serve_command_answers_openai_requests(tmp_path):
    """`hardneg serve` prints its base URL and answers chat completions until its time is up."""
    import subprocess
    import sys
    from pathlib import Path

    from hardneg.llm import make_llm

    proc = subprocess.Popen([str(Path(sys.executable).parent / "hardneg"), "serve", "--port", "0", "--threads", "1",
                             "--ctx", "1024", "--seconds", "120"], stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        llm = make_llm(f"openai:{url}", cache=False)
        out = llm.generate(["Say hello."], max_tokens=4, temperature=0.0)
        assert out[0].n_tokens > 0 and out[0].text.strip()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
