"""Every kind of bad input raises DataError naming the file, the line (or row) and the field."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from hardneg.data.beir import LoadReport, load_beir
from hardneg.data.errors import DataError
from hardneg.data.load import load_data
from hardneg.data.pairs import load_pairs


def _lines(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def _beir(root: Path, corpus=None, queries=None, qrels=None, split="test") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    _lines(root / "corpus.jsonl", corpus or [{"_id": "d1", "title": "", "text": "cats purr"},
                                             {"_id": "d2", "title": "T", "text": "dogs bark"}])
    _lines(root / "queries.jsonl", queries or [{"_id": "q1", "text": "what purrs"}])
    (root / "qrels").mkdir(exist_ok=True)
    (root / "qrels" / f"{split}.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{r}\n" for r in (qrels or ["q1\td1\t1"])), encoding="utf-8")
    return root


def _raises(fn, *parts: str) -> DataError:
    with pytest.raises(DataError) as e:
        fn()
    for p in parts:
        assert p in str(e.value), f"{p!r} not in {str(e.value)!r}"
    return e.value


def test_malformed_json_line(tmp_path):
    root = _beir(tmp_path / "b", corpus=[{"_id": "d1", "text": "ok"}, '{"_id": "d2", "text": '])
    e = _raises(lambda: load_beir(root), "corpus.jsonl", "line 2", "malformed JSON")
    assert e.line == 2


def test_json_line_that_is_not_an_object(tmp_path):
    root = _beir(tmp_path / "b", queries=[{"_id": "q1", "text": "x"}, "[1, 2]"])
    _raises(lambda: load_beir(root), "queries.jsonl", "line 2", "JSON object")


@pytest.mark.parametrize("obj,field", [({"title": "t", "text": "x"}, "_id"), ({"_id": "d9", "title": "t"}, "text"),
                                       ({"_id": "", "text": "x"}, "_id"), ({"_id": "d9", "text": 5}, "text")])
def test_missing_or_bad_id_and_text_in_corpus(tmp_path, obj, field):
    root = _beir(tmp_path / "b", corpus=[{"_id": "d1", "text": "ok"}, obj])
    _raises(lambda: load_beir(root), "corpus.jsonl", "line 2", f"field '{field}'")


def test_missing_text_in_queries(tmp_path):
    root = _beir(tmp_path / "b", queries=[{"_id": "q1", "text": "x"}, {"_id": "q2"}])
    _raises(lambda: load_beir(root), "queries.jsonl", "line 2", "field 'text'", "missing")


@pytest.mark.parametrize("which", ["corpus", "queries"])
def test_duplicate_id(tmp_path, which):
    rows = [{"_id": "a", "text": "one"}, {"_id": "b", "text": "two"}, {"_id": "a", "text": "three"}]
    root = _beir(tmp_path / "b", **{which: rows}, qrels=["a\ta\t1"])
    _raises(lambda: load_beir(root), f"{which}.jsonl", "line 3", "field '_id'", "duplicate id 'a'", "line 1")


def test_duplicate_judgment(tmp_path):
    root = _beir(tmp_path / "b", qrels=["q1\td1\t1", "q1\td1\t2"])
    _raises(lambda: load_beir(root), "test.tsv", "line 3", "field 'corpus-id'", "duplicate judgment")


@pytest.mark.parametrize("row,field", [("q9\td1\t1", "query-id"), ("q1\td9\t1", "corpus-id")])
def test_qrels_to_unknown_ids_fail_then_skip_and_count(tmp_path, row, field):
    root = _beir(tmp_path / "b", qrels=["q1\td1\t1", row])
    _raises(lambda: load_beir(root), "test.tsv", "line 3", f"field '{field}'", "unknown")
    report = LoadReport()
    ds = load_beir(root, skip_invalid=True, report=report)
    assert report.unknown_qrels == 1 and ds.qrels == {"q1": {"d1": 1}}


def test_empty_texts_fail_then_skip_and_count(tmp_path):
    root = _beir(tmp_path / "b", corpus=[{"_id": "d1", "text": "cats"}, {"_id": "d2", "title": " ", "text": "  "}],
                 queries=[{"_id": "q1", "text": "purr"}, {"_id": "q2", "text": None}], qrels=["q1\td1\t1"])
    _raises(lambda: load_beir(root), "corpus.jsonl", "line 2", "field 'text'", "empty text")
    (root / "corpus.jsonl").write_text(json.dumps({"_id": "d1", "text": "cats"}) + "\n", encoding="utf-8")
    _raises(lambda: load_beir(root), "queries.jsonl", "line 2", "field 'text'", "empty text")
    _beir(root, corpus=[{"_id": "d1", "text": "cats"}, {"_id": "d2", "text": ""}],
          queries=[{"_id": "q1", "text": "purr"}, {"_id": "q2", "text": ""}], qrels=["q1\td1\t1", "q2\td2\t1"])
    report = LoadReport()
    ds = load_beir(root, skip_invalid=True, report=report)
    assert (report.empty_docs, report.empty_queries, report.unknown_qrels) == (1, 1, 1)
    assert ds.corpus.ids == ["d1"] and ds.queries.ids == ["q1"] and ds.qrels == {"q1": {"d1": 1}}


def test_split_that_does_not_exist(tmp_path):
    root = _beir(tmp_path / "b", split="train")
    _raises(lambda: load_beir(root, "test"), "qrels", "split 'test' does not exist", "available: train")
    _raises(lambda: load_data(root, "dev"), "split 'dev' does not exist")


@pytest.mark.parametrize("row,msg", [("q1\td1\tx", "not a finite number"), ("q1\td1\t1.5", "integer grade"),
                                     ("q1\td1\tinf", "not a finite number")])
def test_bad_qrels_score(tmp_path, row, msg):
    root = _beir(tmp_path / "b", qrels=[row])
    _raises(lambda: load_beir(root), "test.tsv", "line 2", "field 'score'", msg)


def test_bad_qrels_columns_and_utf8(tmp_path):
    root = _beir(tmp_path / "b", qrels=["q1\td1"])
    _raises(lambda: load_beir(root), "test.tsv", "line 2", "3 tab-separated columns")
    (root / "queries.jsonl").write_bytes(b'{"_id": "q1", "text": "ok"}\n{"_id": "q2", "text": "\xff"}\n')
    _raises(lambda: load_beir(root), "queries.jsonl", "line 2", "UTF-8")


def test_gz_files_and_errors_in_them(tmp_path):
    root = _beir(tmp_path / "b")
    data = (root / "corpus.jsonl").read_bytes()
    (root / "corpus.jsonl").unlink()
    with gzip.open(root / "corpus.jsonl.gz", "wb") as f:
        f.write(data + b'{"_id": "d3"}\n')
    _raises(lambda: load_beir(root), "corpus.jsonl.gz", "line 3", "field 'text'")


def test_missing_files_and_folders(tmp_path):
    _raises(lambda: load_beir(tmp_path / "nope"), "nope", "does not exist")
    root = _beir(tmp_path / "b")
    (root / "queries.jsonl").unlink()
    _raises(lambda: load_beir(root), "missing queries.jsonl")


# pair files: the same checks, by line (text files) or row (parquet)

def test_pair_file_empty_cell_names_line_and_column(tmp_path):
    p = _lines(tmp_path / "p.jsonl", [{"query": "a", "answer": "b"}, {"query": " ", "answer": "c"}])
    _raises(lambda: load_pairs(p), "p.jsonl", "line 2", "field 'query'", "empty text")
    p = tmp_path / "p.csv"
    p.write_text("query,answer\na,b\nc,\n", encoding="utf-8")
    _raises(lambda: load_pairs(p), "p.csv", "line 3", "field 'answer'", "empty text")
    report = LoadReport()
    ds = load_pairs(p, skip_invalid=True, report=report)
    assert report.empty_docs == 1 and len(ds.queries) == 1


def test_pair_file_missing_column_and_wrong_type(tmp_path):
    p = _lines(tmp_path / "p.jsonl", [{"query": "a", "answer": "b"}, {"question": "a", "answer": "b"}])
    _raises(lambda: load_pairs(p), "p.jsonl", "line 2", "field 'query'", "missing column")
    p = _lines(tmp_path / "q.jsonl", [{"query": "a", "answer": ["b"]}])
    _raises(lambda: load_pairs(p), "q.jsonl", "line 1", "field 'answer'", "expected a string")
    p = tmp_path / "p.csv"
    p.write_text("q,answer\na,b\n", encoding="utf-8")
    _raises(lambda: load_pairs(p), "p.csv", "line 1", "field 'query'", "columns: q, answer")
    _raises(lambda: load_pairs(p, query_column="q", answer_column="text"), "field 'text'")


def test_parquet_row_numbers(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "p.parquet"
    pq.write_table(pa.table({"query": ["a", "b", None], "answer": ["x", "y", "z"]}), p)
    _raises(lambda: load_pairs(p), "p.parquet", "row 3", "field 'query'", "empty text")
    (tmp_path / "bad.parquet").write_text("not parquet")
    _raises(lambda: load_pairs(tmp_path / "bad.parquet"), "bad.parquet", "cannot read parquet")


def test_unknown_sources(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    _raises(lambda: load_data(tmp_path / "x.txt"), "x.txt", "unknown file type")
    _raises(lambda: load_data(tmp_path), str(tmp_path), "neither a BEIR dataset")
    _raises(lambda: load_data(tmp_path / "missing.jsonl"), "missing.jsonl", "no such file")


def test_hub_name_that_cannot_load_is_a_data_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the real hub path runs, and fails as it would offline
    _raises(lambda: load_data("nobody-here/no-such-pairs", "train"), "nobody-here/no-such-pairs", "from the hub")
