"""The generation loop with the real local model: resume == uninterrupted, settings guard, CLI end to end."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hardneg.data.beir import load_beir
from hardneg.generate.core import generate_dataset
from hardneg.generate.filters import parse_filter
from hardneg.generate.prompts import make_prompt
from hardneg.generate.run import GenConfig, doc_seed, sample_rows


@pytest.fixture(scope="module")
def local_llm():
    from hardneg.llm.local import LocalLLM

    return LocalLLM("smollm2", n_ctx=2048, threads=1)


def _cfg(**kw):
    base = dict(backend="local", prompt="inpars", per_doc=1, sample=4, seed=7, max_tokens=8, checkpoint_every=2)
    return GenConfig(**{**base, **kw})


def _files(out):
    return {p: (out / p).read_bytes() for p in ("queries.jsonl", "qrels/train.tsv", "generated.jsonl", "corpus.jsonl")}


class Crash(RuntimeError):
    pass


def test_resume_equals_uninterrupted(tiny_beir, tmp_path, local_llm):
    tpl = tmp_path / "short.txt"
    tpl.write_text("Write a short search query for this text: {document}")
    build, filters = make_prompt(str(tpl)), [parse_filter("length:1:30"), parse_filter("dedupe")]
    full = generate_dataset(tiny_beir, local_llm, build, _cfg(), tmp_path / "a", filters)
    assert full.stats.documents == 4 and full.stats.generated == 4 and full.stats.new_tokens > 0

    seen = {"docs": 0}

    def crash_after_first_shard(docs, tokens):
        seen["docs"] += docs
        if seen["docs"] > 2:  # the first shard (2 docs) is on disk, the second is half done
            raise Crash()

    with pytest.raises(Crash):
        generate_dataset(tiny_beir, local_llm, build, _cfg(), tmp_path / "b", filters, crash_after_first_shard,)
    work = tmp_path / "b" / ".generate"
    assert sorted(p.name for p in work.glob("*.done")) == ["shard-00000.jsonl.done"]
    calls = []
    orig = local_llm.generate
    local_llm.generate = lambda prompts, **kw: calls.append(len(prompts)) or orig(prompts, **kw)
    try:
        res = generate_dataset(tiny_beir, local_llm, build, _cfg(), tmp_path / "b", filters)
    finally:
        del local_llm.generate
    assert sum(calls) == 2 and res.stats.resumed_docs == 2  # finished documents were not regenerated
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    # the result is a BEIR folder mine can read: every query points at its source document
    ds = load_beir(tmp_path / "a", "train")
    assert len(ds.queries) == res.kept and all(len(d) == 1 for d in ds.qrels.values())
    rows = [json.loads(x) for x in (tmp_path / "a" / "generated.jsonl").read_text().splitlines()]
    assert all(ds.qrels[r["_id"]] == {r["doc_id"]: 1} for r in rows if not r["dropped_by"])

    with pytest.raises(ValueError, match="other settings.*seed"):
        generate_dataset(tiny_beir, local_llm, build, _cfg(seed=8), tmp_path / "b", filters)


def test_seeds_and_sampling():
    assert doc_seed(0, "d1", 0) == doc_seed(0, "d1", 0) != doc_seed(0, "d1", 1) != doc_seed(1, "d1", 0)
    assert sample_rows(10, 0, 0).tolist() == list(range(10))
    a = sample_rows(100, 5, 3)
    assert len(set(a.tolist())) == 5 and a.tolist() == sorted(a.tolist()) == sample_rows(100, 5, 3).tolist()


def test_cli_generate_then_load(tiny_beir, tmp_path):
    from hardneg.cli import app

    out = tmp_path / "gen"
    args = ["generate", "--data", str(tiny_beir), "--backend", "local", "--sample", "2", "--max-tokens", "6",
            "--filter", "length:1:30", "--threads", "1", "--out", str(out), "--price-per-1k-tokens", "0.5"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "queries generated" in r.output and "cost" in r.output
    ds = load_beir(out, "train")
    assert len(ds.corpus) == 12 and (out / "corpus.jsonl").read_bytes() == (tiny_beir / "corpus.jsonl").read_bytes()
    r = CliRunner().invoke(app, args[:-2] + ["--filter", "nope"])
    assert r.exit_code == 2 and "bad filter" in r.output
