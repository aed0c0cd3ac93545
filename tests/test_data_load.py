"""Loaders: BEIR round trip, pair files (jsonl/csv/parquet), saved HF datasets, dataset names and the cache."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from hardneg.data.beir import load_beir, splits, write_beir
from hardneg.data.errors import DataError
from hardneg.data.fetch import download_beir, resolve_dataset
from hardneg.data.load import load_data, source_kind
from hardneg.data.pairs import load_pairs, text_id

PAIRS = [("who wrote hamlet", "Shakespeare wrote Hamlet."), ("capital of france", "Paris is the capital."),
         ("who wrote hamlet", "Hamlet is a tragedy by Shakespeare."), ("largest city of france", "Paris is the capital.")]


def _check_pooled(ds) -> None:
    assert len(ds.queries) == 3 and len(ds.corpus) == 3  # 4 rows: one query text and one answer text repeat
    hamlet = text_id("who wrote hamlet", "q")
    assert ds.queries.text(hamlet) == "who wrote hamlet"
    assert ds.qrels[hamlet] == {text_id(PAIRS[0][1], "d"): 1, text_id(PAIRS[2][1], "d"): 1}
    paris = text_id("Paris is the capital.", "d")
    assert [q for q, docs in ds.qrels.items() if paris in docs] == [text_id("capital of france", "q"),
                                                                    text_id("largest city of france", "q")]
    assert ds.corpus.titles == ["", "", ""] and ds.corpus.texts[ds.corpus.index(paris)] == "Paris is the capital."


def test_pairs_jsonl(tmp_path):
    p = tmp_path / "nq.jsonl"
    p.write_text("".join(json.dumps({"query": q, "answer": a, "extra": 1}) + "\n" for q, a in PAIRS), encoding="utf-8")
    assert source_kind(p) == "pairs"
    _check_pooled(load_data(p))


def test_pairs_csv_with_quotes_and_newlines(tmp_path):
    import csv

    p = tmp_path / "nq.csv"
    with open(p, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["question", "answer"])
        w.writerows(PAIRS)
    _check_pooled(load_pairs(p, query_column="question"))
    # a quoted cell with a newline: row numbers follow physical lines
    p.write_text('query,answer\n"a","multi\nline"\n"b",\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 4"):
        load_pairs(p)


def test_pairs_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "nq.parquet"
    pq.write_table(pa.table({"query": [q for q, _ in PAIRS], "answer": [a for _, a in PAIRS]}), p)
    _check_pooled(load_data(p))


def test_hf_load_from_disk(tmp_path):
    import datasets

    d = datasets.Dataset.from_dict({"q": [q for q, _ in PAIRS], "a": [a for _, a in PAIRS]})
    d.save_to_disk(str(tmp_path / "hf"))
    assert source_kind(tmp_path / "hf") == "hf-disk"
    _check_pooled(load_data(tmp_path / "hf", query_column="q", answer_column="a"))
    datasets.DatasetDict({"train": d}).save_to_disk(str(tmp_path / "hfdict"))
    _check_pooled(load_data(tmp_path / "hfdict", "train", query_column="q", answer_column="a"))
    with pytest.raises(DataError, match="split 'test' does not exist"):
        load_data(tmp_path / "hfdict", "test", query_column="q", answer_column="a")


def test_pairs_write_back_as_beir_and_reload(tmp_path):
    p = tmp_path / "nq.jsonl"
    p.write_text("".join(json.dumps({"query": q, "answer": a}) + "\n" for q, a in PAIRS), encoding="utf-8")
    ds = load_data(p)
    out = write_beir(tmp_path / "beir", ds, split="train")
    back = load_data(out, "train")
    assert back.corpus.ids == ds.corpus.ids and back.queries.texts == ds.queries.texts and back.qrels == ds.qrels
    write_beir(tmp_path / "beir2", back, split="train")
    for f in ("corpus.jsonl", "queries.jsonl", "qrels/train.tsv"):
        assert (tmp_path / "beir" / f).read_bytes() == (tmp_path / "beir2" / f).read_bytes()


def test_tiny_beir_gz_and_splits(tiny_beir, tmp_path):
    import gzip

    ds = load_beir(tiny_beir, "train")
    assert len(ds.corpus) == 12 and ds.qrels["q2"] == {"d4": 1, "d3": 1} and splits(tiny_beir) == ["train"]
    gz = tmp_path / "gz"
    write_beir(gz, ds, split="train")
    for f in ("corpus.jsonl", "queries.jsonl", "qrels/train.tsv"):
        with gzip.open(gz / (f + ".gz"), "wb") as out:
            out.write((gz / f).read_bytes())
        (gz / f).unlink()
    again = load_data(gz, "train")
    assert again.corpus == ds.corpus and again.queries == ds.queries and again.qrels == ds.qrels


def test_resolve_dataset_paths_shared_and_cache(tmp_path, monkeypatch, tiny_beir):
    from hardneg.data import fetch
    from hardneg.paths import cache_dir

    assert resolve_dataset(tiny_beir) == tiny_beir
    monkeypatch.setattr(fetch, "shared_dirs", lambda: [tiny_beir.parent])
    assert resolve_dataset("tiny") == tiny_beir  # a name found in the shared folder
    monkeypatch.setattr(fetch, "shared_dirs", lambda: [tmp_path / "nowhere"])
    cached = cache_dir("datasets") / "scifact"
    write_beir(cached, load_beir(tiny_beir, "train"), split="train")
    assert resolve_dataset("scifact") == cached  # already cached: no download
    assert source_kind("scifact") == "name" and len(load_data("scifact", "train").corpus) == 12
    with pytest.raises(DataError, match="unknown dataset 'nosuchset'"):
        resolve_dataset("nosuchset")


def test_download_unzips_atomically_from_a_url(tmp_path, tiny_beir):
    # a file:// URL exercises the real download + unzip code without the internet
    z = tmp_path / "tiny.zip"
    with zipfile.ZipFile(z, "w") as f:
        for p in sorted(tiny_beir.rglob("*")):
            if p.is_file():
                f.write(p, Path("tiny") / p.relative_to(tiny_beir))
    dest = download_beir("tiny", z.as_uri())
    assert (dest / "qrels" / "train.tsv").exists() and len(load_beir(dest, "train").queries) == 6
    assert [p.name for p in dest.parent.iterdir() if p.name.startswith(".")] == []  # no temp folders left
    with pytest.raises(DataError, match="cannot download"):
        download_beir("gone", (tmp_path / "gone.zip").as_uri())


@pytest.mark.integration
def test_scifact_round_trip_is_byte_identical(scifact_dir, tmp_path):
    ds = load_beir(scifact_dir, "test")
    assert (len(ds.corpus), len(ds.queries), len(ds.qrels)) == (5183, 1109, 300)
    write_beir(tmp_path / "out", ds, split="test")
    for f in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        assert (tmp_path / "out" / f).read_bytes() == (scifact_dir / f).read_bytes(), f


def test_convert_cli_writes_beir(tmp_path):
    from typer.testing import CliRunner

    from hardneg.cli import app

    p = tmp_path / "nq.jsonl"
    p.write_text("".join(json.dumps({"query": q, "answer": a}) + "\n" for q, a in PAIRS), encoding="utf-8")
    r = CliRunner().invoke(app, ["convert", str(p), str(tmp_path / "out"), "--split", "train"])
    assert r.exit_code == 0, r.output
    ds = load_data(tmp_path / "out", "train")
    assert (len(ds.corpus), len(ds.queries), sum(map(len, ds.qrels.values()))) == (3, 3, 4)
    r = CliRunner().invoke(app, ["convert", str(tmp_path / "none.jsonl"), str(tmp_path / "o2")])
    assert r.exit_code == 2 and "no such file" in r.output
