"""A UTF-8 byte-order mark at the start of any input file is accepted; a corrupt .gz is one DataError naming it."""

import codecs
import gzip
import json

import pytest

from hardneg.data.errors import DataError
from hardneg.data.load import load_data

BOM = codecs.BOM_UTF8
ROWS = [("which animals purr", "Cats purr."), ("capital of France", "Paris is the capital of France.")]


def _write(path, text: str, gz: bool = False) -> None:
    data = BOM + text.encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)


@pytest.mark.parametrize("name", ["p.jsonl", "p.json", "p.csv", "p.tsv", "p.jsonl.gz", "p.csv.gz"])
def test_pair_files_with_a_bom(tmp_path, name):
    f = tmp_path / name
    if ".json" in name:
        text = "".join(json.dumps({"query": q, "answer": a}) + "\n" for q, a in ROWS)
    else:
        d = "\t" if ".tsv" in name else ","
        text = f"query{d}answer\n" + "".join(f"{q}{d}{a}\n" for q, a in ROWS)
    _write(f, text, gz=name.endswith(".gz"))
    ds = load_data(f)
    assert ds.queries.texts == [q for q, _ in ROWS]
    assert ds.corpus.texts == [a for _, a in ROWS]


def test_beir_files_with_a_bom(tmp_path, tiny_beir):
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/train.tsv"):
        p = tiny_beir / name
        p.write_bytes(BOM + p.read_bytes())
    ds = load_data(tiny_beir, "train")
    assert ds.corpus.ids[0] == "d1" and ds.queries.ids[0] == "q1" and "q1" in ds.qrels


@pytest.mark.parametrize("name", ["p.jsonl.gz", "p.csv.gz"])
@pytest.mark.parametrize("damage", ["not-gzip", "truncated"])
def test_corrupt_gzip_is_one_data_error_naming_the_file(tmp_path, name, damage):
    f = tmp_path / name
    good = gzip.compress(("query,answer\n" + "a,b\n" * 2000).encode() if "csv" in name else
                         "".join(json.dumps({"query": f"q{i}", "answer": "b"}) + "\n" for i in range(2000)).encode())
    f.write_bytes(b"this is not gzip" if damage == "not-gzip" else good[: len(good) // 2])
    with pytest.raises(DataError) as e:
        load_data(f)
    assert str(f) in str(e.value) and "corrupt gzip file" in str(e.value)


def test_corrupt_gzip_in_a_beir_folder(tiny_beir):
    (tiny_beir / "corpus.jsonl").unlink()
    (tiny_beir / "corpus.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(DataError, match="corrupt gzip file"):
        load_data(tiny_beir, "train")
