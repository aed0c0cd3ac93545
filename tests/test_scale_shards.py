"""Shard planning, corpus sharding (jsonl/parquet, validation, reuse) and done markers: no Ray needed."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hardneg.data.beir import read_corpus
from hardneg.data.errors import DataError
from hardneg.scale.shards import plan_shard_rows, read_ids, read_shard, write_shards
from hardneg.io import clear, is_done, mark_done, write_npy


def test_plan_shard_rows_bounds_memory_and_feeds_every_worker():
    # 1M x 384 float32 = 1465 MiB -> 6 shards of <= 256 MiB
    rows = plan_shard_rows(1_000_000, 384, workers=2, shard_mb=256)
    assert rows * 384 * 4 <= 256 * 2**20 and -(-1_000_000 // rows) == 6
    assert plan_shard_rows(1000, 384, workers=8) == 125  # small corpus: one shard per worker
    assert plan_shard_rows(3, 384, workers=8) == 1
    assert plan_shard_rows(0, 384, workers=2) == 1


def test_write_shards_keeps_corpus_order(tiny_beir, tmp_path):
    shards = write_shards(tiny_beir, tmp_path / "s", 5)
    assert [(s.start, s.stop) for s in shards] == [(0, 5), (5, 10), (10, 12)]
    corpus = read_corpus(tiny_beir / "corpus.jsonl")
    assert read_ids(shards) == corpus.ids
    assert read_shard(shards[1]).full_texts() == corpus.full_texts()[5:10]
    mtime = (tmp_path / "s" / "corpus-00000.parquet").stat().st_mtime_ns
    assert write_shards(tiny_beir, tmp_path / "s", 5) == shards  # reused from the manifest
    assert (tmp_path / "s" / "corpus-00000.parquet").stat().st_mtime_ns == mtime
    assert len(write_shards(tiny_beir, tmp_path / "s", 4)) == 3  # new size: rewritten


def test_write_shards_reads_a_folder_of_parquet_and_jsonl(tiny_beir, tmp_path):
    corpus = read_corpus(tiny_beir / "corpus.jsonl")
    src = tmp_path / "in"
    src.mkdir()
    pq.write_table(pa.table({"_id": corpus.ids[:7], "title": corpus.titles[:7], "text": corpus.texts[:7]}),
                   src / "a.parquet")
    with open(src / "b.jsonl", "w") as f:
        for i, t, x in zip(corpus.ids[7:], corpus.titles[7:], corpus.texts[7:]):
            f.write(json.dumps({"_id": i, "title": t, "text": x}) + "\n")
    shards = write_shards(src, tmp_path / "s", 100)
    assert read_ids(shards) == corpus.ids and len(shards) == 1


def test_bad_corpus_names_file_line_and_field(tmp_path):
    p = tmp_path / "corpus.jsonl"
    p.write_text('{"_id": "a", "text": "x"}\n{"_id": "b", "text": 3}\n')
    with pytest.raises(DataError, match=r"corpus.jsonl, line 2, field 'text'"):
        write_shards(p, tmp_path / "s", 10)
    p.write_text('{"_id": "a", "text": "x"}\n\n{"_id": "a", "text": "y"}\n')
    with pytest.raises(DataError, match=r"line 3, field '_id': duplicate id 'a'"):
        write_shards(p, tmp_path / "s", 10)
    p.write_text('{"_id": "a", "text": "x"}\n{"_id": "b", "text": " "}\n')
    with pytest.raises(DataError, match="empty text"):
        write_shards(p, tmp_path / "s", 10)
    assert read_ids(write_shards(p, tmp_path / "s", 10, skip_invalid=True)) == ["a"]
    pq.write_table(pa.table({"id": ["a"], "text": ["x"]}), tmp_path / "bad.parquet")
    with pytest.raises(DataError, match="field '_id'"):
        write_shards(tmp_path / "bad.parquet", tmp_path / "s2", 10)
    with pytest.raises(DataError, match="does not exist"):
        write_shards(tmp_path / "nope.jsonl", tmp_path / "s3", 10)


def test_done_markers(tmp_path):
    p = tmp_path / "x.npy"
    assert not is_done(p, "k1")
    write_npy(p, np.arange(3))
    assert not is_done(p, "k1")  # output without its marker counts as unfinished
    mark_done(p, "k1", rows=3)
    assert is_done(p, "k1") and not is_done(p, "k2")
    clear(p)
    assert not p.exists() and not is_done(p, "k1")
    assert not list(tmp_path.glob(".*tmp"))  # no temp files left behind
