"""Prompts and filters on hand-made inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hardneg.data.beir import read_corpus
from hardneg.data.errors import DataError
from hardneg.generate import filters as F
from hardneg.generate.core import apply_filters
from hardneg.generate.prompts import clean_query, make_prompt


def test_builtin_prompts_render():
    for name in ("inpars", "gbq"):
        msgs = make_prompt(name)("Cats", "Cats purr when they are content.")
        assert isinstance(msgs, list) and msgs[0]["role"] == "system"
        assert "Cats purr when they are content." in msgs[-1]["content"]
    gbq = make_prompt("gbq")("T", "body")[-1]["content"]
    assert "Good question:" in gbq and "Bad question:" in gbq and gbq.endswith("Good question:")
    assert make_prompt("doc")("T", "x y") == "T. x y"
    long = make_prompt("inpars")("", "w " * 1000)[-1]["content"]
    assert long.count("w") == 256


def test_promptagator_and_template_files(tmp_path):
    ex = tmp_path / "ex.jsonl"
    ex.write_text(json.dumps({"query": "my style query", "document": "Some doc."}) + "\n")
    msgs = make_prompt("promptagator", ex)("T", "Body text.")
    assert msgs[1]["content"].startswith("Document: Some doc.") and msgs[2]["content"] == "my style query"
    ex.write_text(json.dumps({"query": "", "document": "d"}) + "\n")
    with pytest.raises(DataError, match=r"ex.jsonl, line 1, field 'query'"):
        make_prompt("promptagator", ex)
    fmt = tmp_path / "t.txt"
    fmt.write_text("Title: {title}\nDoc: {document}\nQuery:")
    assert make_prompt(str(fmt))("A", "b c") == "Title: A\nDoc: A. b c\nQuery:"
    fmt.write_text("Doc: {docment}")
    with pytest.raises(DataError, match="field 'docment'"):
        make_prompt(str(fmt))
    j2 = tmp_path / "t.j2"
    j2.write_text("{% if title %}[{{ title }}] {% endif %}{{ document }} ->")
    assert make_prompt(str(j2))("", "b") == "b ->"
    with pytest.raises(ValueError, match="unknown prompt"):
        make_prompt("nope")


def test_clean_query():
    assert clean_query('Relevant query: "How do cats purr?"\nmore') == "How do cats purr?"
    assert clean_query("\n  Good question:  why   is the sky blue  ") == "why is the sky blue"
    assert clean_query("  \n ") == ""
    # what a small model behind a chat server sent back (Gemma 3 270M via xllamacpp, bench_domain_adapt --serve)
    assert clean_query("what is the role of the virus<|im_end|>\n<|im_start|>user\nDocument: x") == \
        "what is the role of the virus"
    assert clean_query("why do cells divide<end_of_turn>") == "why do cells divide"
    assert clean_query("document: The Treaty of Westphalia, signed in 1648, ended the war.") == ""
    assert clean_query("Document 2: text\nquery: real one") == ""


def test_length_dedupe_copy():
    qs = ["a b", "what do cats eat", "What do cats EAT?", "x " * 40]
    assert F.length_mask(qs, 3, 32).tolist() == [False, True, True, False]
    assert F.dedupe_mask(qs).tolist() == [True, True, False, True]
    doc = "Cats are small domesticated carnivorous mammals that purr when content."
    got = F.copy_mask(["cats are small domesticated carnivorous mammals", "small domesticated mammals",
                       "domesticated carnivorous mammals that", "why do cats purr"], [doc] * 4, max_run=6)
    assert got.tolist() == [False, True, False, True]


def test_score_and_top_n():
    s = np.array([-1.0, -0.2, np.nan, -0.5, -0.2])
    assert F.top_fraction_mask(s, 0.4).tolist() == [False, True, False, False, True]
    assert F.top_n_mask(s, 3).tolist() == [False, True, False, True, True]
    assert F.top_n_mask(s, 0).sum() == 0


def test_parse_filter():
    assert F.parse_filter("length:2:20") == F.FilterSpec("length", (2, 20))
    assert F.parse_filter("roundtrip:1:dense:minilm").args == (1, "dense:minilm")
    assert F.parse_filter("rerank:0.5:/m/ce").args == (0.5, "/m/ce")
    assert F.parse_filter("rerank:100:/m/ce").args == (100, "/m/ce")
    for bad in ("score:2", "rerank:5", "length:x", "nope", "dedupe:1"):
        with pytest.raises(ValueError, match="bad filter"):
            F.parse_filter(bad)


def _rows(pairs):
    return [{"doc_id": d, "j": 0, "query": q, "ok": True, "mean_logprob": lp} for d, q, lp in pairs]


def test_roundtrip_with_bm25(tiny_beir):
    corpus = read_corpus(tiny_beir / "corpus.jsonl")
    rows = _rows([("d7", "capital of France", -0.1), ("d7", "memory safe programming language", -0.2),
                  ("d11", "hormone regulates blood glucose", -0.3), ("d1", "", -0.1)])
    keep, counts = apply_filters(rows, corpus, [F.parse_filter("roundtrip:1:bm25")])
    assert keep.tolist() == [True, False, True, False]
    assert [(c.label, c.seen, c.kept) for c in counts] == [("non-empty reply", 4, 3), ("roundtrip:1:bm25", 3, 2)]
    assert [r["dropped_by"] for r in rows] == ["", "roundtrip:1:bm25", "", "empty"]


def test_rerank_and_chain(tiny_beir, tiny_cross_encoder):
    corpus = read_corpus(tiny_beir / "corpus.jsonl")
    rows = _rows([("d1", "which animals purr", -0.5), ("d2", "loyal animals wolves", -0.1),
                  ("d3", "python data science", -0.9), ("d4", "which animals purr", -0.2)])
    specs = [F.parse_filter(s) for s in ("dedupe", "score:0.6", f"rerank:1:{tiny_cross_encoder}")]
    keep, counts = apply_filters(rows, corpus, specs)
    assert [c.kept for c in counts] == [4, 3, 2, 1] and keep.sum() == 1
    from sentence_transformers import CrossEncoder

    ce = CrossEncoder(str(tiny_cross_encoder))
    pair = [(r["query"], corpus.full_texts()[corpus.index(r["doc_id"])]) for r in rows[:2]]
    want = ce.predict(pair)
    best = int(np.argsort(-want, kind="stable")[0])  # ties go to the earlier query
    assert keep.tolist() == [best == 0, best == 1, False, False]
    assert [rows[0]["rerank_score"], rows[1]["rerank_score"]] == [round(float(w), 4) for w in want]


def test_repeat_filter_catches_a_reply_looping_on_one_sentence():
    loop = "what is the capital of France? " * 8
    qs = [loop, "what is the capital of France", "is the cat a cat or a dog", "tea tea tea leaves"]
    assert F.repeat_mask(qs).tolist() == [False, True, True, True]
    assert F.repeat_mask(["tea tea tea tea tea"], max_count=3).tolist() == [False]
    assert F.repeat_mask(["cats purr. cats purr."]).tolist() == [False]  # a sentence said twice


def test_generate_filters_by_default():
    assert [f.kind for f in F.parse_filters([])] == ["length", "dedupe", "copy", "repeat"]
    assert F.parse_filters(["none"]) == []
    assert [f.label for f in F.parse_filters(["repeat:4"])] == ["repeat:4"]
    with pytest.raises(ValueError, match="repeat:COUNT"):
        F.parse_filter("repeat:1")
