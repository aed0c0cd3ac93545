"""(query, answer) pairs -> Dataset: jsonl/csv/tsv/parquet files and Hugging Face datasets.

Ids are text hashes; repeated query texts pool into one query with several positives and repeated
answer texts into one document, so every row adds one qrel of grade 1.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from pathlib import Path
from typing import Iterable, Iterator

from hardneg.data.beir import LoadReport
from hardneg.data.errors import DataError
from hardneg.data.jsonl import gzip_errors, open_text, read_jsonl
from hardneg.types import Corpus, Dataset, Qrels, Queries

log = logging.getLogger(__name__)

PAIR_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet")
# (where, row number, query, answer); `where` is "line" for text files, "row" for tables
Row = tuple[str, int, object, object]


def text_id(text: str, prefix: str) -> str:
    """A stable id for a text: prefix + first 16 hex digits of its SHA-1."""
    return prefix + hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def pairs_to_dataset(rows: Iterable[Row], source: str | Path, query_column: str, answer_column: str,
                     skip_invalid: bool = False, report: LoadReport | None = None, name: str = "") -> Dataset:
    """Pool (query, answer) rows into a Dataset; empty or non-string cells are errors unless skip_invalid."""
    report = report if report is not None else LoadReport()
    q_ids: dict[str, str] = {}  # text -> id
    d_ids: dict[str, str] = {}
    q_text: dict[str, str] = {}  # id -> text, to catch hash collisions
    d_text: dict[str, str] = {}
    qrels: Qrels = {}
    for where, n, query, answer in rows:
        loc = {"line": n} if where == "line" else {"row": n}
        bad = None
        for col, val, kind in ((query_column, query, "empty_queries"), (answer_column, answer, "empty_docs")):
            if val is not None and not isinstance(val, str):
                raise DataError(f"expected a string, got {type(val).__name__}", source, field=col, **loc)
            if bad is None and (val is None or not val.strip()):
                bad = (col, kind)
        if bad:
            if not skip_invalid:
                raise DataError("empty text (--skip-invalid, or skip_invalid=True in Python, skips it)", source, field=bad[0], **loc)
            report.note(bad[1], f"{source}:{where} {n} empty {bad[0]}")
            continue
        qid = q_ids.get(query) or _new_id(query, "q", q_ids, q_text, source, query_column, loc)
        did = d_ids.get(answer) or _new_id(answer, "d", d_ids, d_text, source, answer_column, loc)
        qrels.setdefault(qid, {})[did] = 1
    if not qrels:
        raise DataError("no usable (query, answer) rows", source)
    if report.empty_queries or report.empty_docs:
        log.warning("%s: skipped %d rows with an empty query and %d with an empty answer",
                    source, report.empty_queries, report.empty_docs)
    corpus = Corpus(list(d_text), [""] * len(d_text), list(d_text.values()))
    return Dataset(corpus, Queries(list(q_text), list(q_text.values())), qrels, name=name)


def _new_id(text: str, prefix: str, ids: dict, texts: dict, source, column: str, loc: dict) -> str:
    i = text_id(text, prefix)
    if i in texts:  # a 64-bit hash collision between two different texts
        raise DataError(f"hash id '{i}' collides with another text", source, field=column, **loc)
    ids[text], texts[i] = i, text
    return i


def _columns_error(path, have: Iterable[str], want: Iterable[str], **loc) -> DataError:
    missing = [c for c in want if c not in set(have)]
    return DataError(f"missing column(s) {', '.join(missing)} (columns: {', '.join(have)})", path,
                     field=missing[0], **loc)


def _jsonl_rows(path: Path, qc: str, ac: str) -> Iterator[Row]:
    for n, obj in read_jsonl(path):
        if qc not in obj or ac not in obj:
            raise _columns_error(path, list(obj), (qc, ac), line=n)
        yield "line", n, obj[qc], obj[ac]


def _csv_rows(path: Path, qc: str, ac: str) -> Iterator[Row]:
    delim = "\t" if path.name.removesuffix(".gz").endswith(".tsv") else ","
    with gzip_errors(path), open_text(path) as f:
        reader = csv.DictReader(f, delimiter=delim)
        try:
            header = reader.fieldnames or []
            if qc not in header or ac not in header:
                raise _columns_error(path, header, (qc, ac), line=1)
            for row in reader:
                # a short row fills missing cells with None, which then reads as empty text
                yield "line", reader.line_num, row[qc], row[ac]
        except csv.Error as e:
            raise DataError(f"malformed CSV ({e})", path, reader.line_num) from None
        except UnicodeDecodeError as e:
            raise DataError(f"not valid UTF-8 ({e.reason})", path, reader.line_num + 1) from None


def _parquet_rows(path: Path, qc: str, ac: str) -> Iterator[Row]:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as e:  # pyarrow raises several types for a file that is not parquet
        raise DataError(f"cannot read parquet ({e})", path) from None
    if qc not in schema.names or ac not in schema.names:
        raise _columns_error(path, schema.names, (qc, ac))
    table = pq.read_table(path, columns=[qc, ac])
    for n, (q, a) in enumerate(zip(table.column(qc).to_pylist(), table.column(ac).to_pylist()), 1):
        yield "row", n, q, a


def load_pairs(path: str | Path, query_column: str = "query", answer_column: str = "answer",
               skip_invalid: bool = False, report: LoadReport | None = None) -> Dataset:
    """Load a jsonl/csv/tsv/parquet pair file (plain or .gz for the text formats)."""
    path = Path(path)
    suffix = Path(path.name.removesuffix(".gz")).suffix
    if suffix in (".jsonl", ".json"):
        rows = _jsonl_rows(path, query_column, answer_column)
    elif suffix in (".csv", ".tsv"):
        rows = _csv_rows(path, query_column, answer_column)
    elif suffix == ".parquet":
        rows = _parquet_rows(path, query_column, answer_column)
    else:
        raise DataError(f"unknown pair-file type (expected one of {', '.join(PAIR_SUFFIXES)})", path)
    return pairs_to_dataset(rows, path, query_column, answer_column, skip_invalid, report,
                            name=path.name.split(".")[0])


def load_hf(source: str | Path, split: str = "train", query_column: str = "query", answer_column: str = "answer",
            skip_invalid: bool = False, report: LoadReport | None = None) -> Dataset:
    """Load pairs from a `save_to_disk` folder, or else by hub name via `datasets.load_dataset(name, split=...)`."""
    import datasets

    if Path(source).is_dir():
        ds = datasets.load_from_disk(str(source))
        if isinstance(ds, datasets.DatasetDict):
            if split not in ds:
                raise DataError(f"split '{split}' does not exist (available: {', '.join(ds)})", source)
            ds = ds[split]
    else:
        try:
            ds = datasets.load_dataset(str(source), split=split)
        except Exception as e:  # unknown split (ValueError), unknown or unreachable dataset (OSError, ...)
            raise DataError(f"cannot load split '{split}' from the hub ({type(e).__name__}: {e})", source) from None
    if query_column not in ds.column_names or answer_column not in ds.column_names:
        raise _columns_error(source, ds.column_names, (query_column, answer_column))
    cols = ds.select_columns([query_column, answer_column]).to_dict()
    rows = (("row", n, q, a) for n, (q, a) in enumerate(zip(cols[query_column], cols[answer_column]), 1))
    name = Path(str(source)).name
    return pairs_to_dataset(rows, source, query_column, answer_column, skip_invalid, report, name=name)
