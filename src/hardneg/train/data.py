"""Training data: read exported files into query groups, then lay them out as each loss expects."""

from __future__ import annotations

import logging
import math
from pathlib import Path

from hardneg.data.errors import DataError
from hardneg.types import Dataset
from hardneg.types import Groups

log = logging.getLogger(__name__)

SCORE_COLS = ("scores", "score")
LABEL_COLS = ("label", "labels", "margin")
# extra columns of hardneg's full export tables (<fmt>.parquet): ids and per-side miner scores
META_COLS = ("query_id", "pos_id", "neg_id", "doc_id", "neg_ids", "doc_ids", "scorer", "pos_score", "neg_score",
             "neg_scores")


def pairs_from_dataset(ds: Dataset) -> Groups:
    """(query, positive document) pairs of a split, no negatives; documents as 'title text'."""
    texts = ds.corpus.full_texts()
    g = Groups()
    for qid, docs in ds.positives().items():
        if qid not in ds.queries:
            continue
        for did in docs:
            g.add(ds.queries.text(qid), texts[ds.corpus.index(did)], [])
    return g


def groups_from_mined(m) -> Groups:
    """Groups from the mining stage's `Mined` (export view): one per (query, positive), miner scores kept."""
    g = Groups()
    for i in range(len(m.query_ids)):
        nmask = m.neg_rows[i] >= 0
        negs = m.texts(m.neg_rows[i][nmask])
        nsc = [float(x) for x in m.neg_scores[i][nmask]]
        for j in (m.pos_rows[i] >= 0).nonzero()[0]:
            g.add(m.query_texts[i], m.doc_texts[m.pos_rows[i, j]], negs, float(m.pos_scores[i, j]), nsc)
    return g


def _table(path: Path):
    """An HF dataset from a saved folder, parquet, jsonl or csv file."""
    import datasets

    if path.is_dir():
        if (path / "dataset_info.json").exists() or (path / "state.json").exists():
            return datasets.load_from_disk(str(path))
        files = sorted(path.glob("*.parquet"))
        if not files:
            raise DataError("folder holds neither a saved HF dataset nor parquet files", path)
        return datasets.Dataset.from_parquet([str(f) for f in files])
    if not path.exists():
        raise DataError("training data file does not exist", path)
    kind = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".csv": "csv"}.get(path.suffix)
    if kind is None:
        raise DataError("unknown training data format (use a saved HF dataset, .parquet, .jsonl or .csv)", path)
    return getattr(datasets.Dataset, f"from_{kind}")(str(path))


def _check_str(v, path: Path, row: int, col: str) -> str:
    if not isinstance(v, str):
        raise DataError(f"expected a string, got {type(v).__name__}", path, row + 1, col)
    return v


def _finite(v, path: Path, row: int, col: str, allow_none: bool = False) -> float | None:
    """A label or score as a float; a non-finite or non-numeric one raises DataError naming file, row and column."""
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise DataError(f"expected a number, got {type(v).__name__}", path, field=col, row=row + 1)
    if not math.isfinite(v):
        raise DataError(f"non-finite value {v} (labels and scores must be finite numbers)", path, field=col,
                        row=row + 1)
    return float(v)


def read_groups(path: str | Path) -> Groups:
    """Read ST-style training data: pair, triplet, n-tuple, labeled-pair, labeled-list, or MarginMSE rows.

    Columns are positional as in sentence-transformers: anchor, positive, negatives...; a `label` column marks
    labeled pairs (1/0), or a margin when the row also has a negative; `scores` lists [positive, negatives...].
    Rows with the same anchor and positive are merged. Row numbers in errors are 1-based.
    """
    path = Path(path)
    return groups_from_table(_table(path), path)


def groups_from_table(tab, path: str | Path = "<table>") -> Groups:
    """Groups from an in-memory HF dataset laid out as read_groups describes."""
    path = Path(path)
    cols = list(tab.column_names)
    text_cols = [c for c in cols if c not in SCORE_COLS + LABEL_COLS + META_COLS]
    side = "pos_score" in cols and ("neg_score" in cols or "neg_scores" in cols)
    label_col = next((c for c in LABEL_COLS if c in cols), None)
    score_col = next((c for c in SCORE_COLS if c in cols), None)
    if len(text_cols) < 2:
        raise DataError(f"need at least an anchor and a positive column, found {cols}", path)
    g = Groups()
    where: dict[tuple[str, str], int] = {}
    labeled = label_col is not None and len(text_cols) == 2
    pending: dict[str, list[tuple[str, float]]] = {}
    for i, row in enumerate(tab):
        anchor = _check_str(row[text_cols[0]], path, i, text_cols[0])
        second = row[text_cols[1]]
        if labeled and isinstance(second, list):  # labeled-list: (query, [docs], [labels])
            labels = row[label_col]
            if not isinstance(labels, list) or len(labels) != len(second):
                raise DataError("labels must be a list as long as the documents", path, i + 1, label_col)
            docs = [_check_str(d, path, i, text_cols[1]) for d in second]
            labels = [_finite(y, path, i, label_col) for y in labels]
            pos = [d for d, y in zip(docs, labels) if y and y > 0]
            neg = [d for d, y in zip(docs, labels) if not y or y <= 0]
            for p in pos:
                g.add(anchor, p, neg)
            continue
        if labeled:  # labeled-pair: (query, doc, 1|0)
            y = _finite(row[label_col], path, i, label_col)
            pending.setdefault(anchor, []).append((_check_str(second, path, i, text_cols[1]), y))
            continue
        positive = _check_str(second, path, i, text_cols[1])
        negs = [_check_str(row[c], path, i, c) for c in text_cols[2:] if row[c] is not None]
        scores = row[score_col] if score_col else None
        pos_s, neg_s = None, None
        if label_col is not None and negs:  # MarginMSE row: margin = score(pos) - score(neg); checked first
            if len(negs) != 1:
                raise DataError("a margin row needs one negative and a numeric margin", path, i + 1, label_col)
            pos_s, neg_s = 0.0, [-_finite(row[label_col], path, i, label_col)]
        if side:  # hardneg full table: per-side scores (null = unknown: no scores for this row)
            ns = row.get("neg_score", row.get("neg_scores"))
            ns = ns if isinstance(ns, list) else [ns]
            ps = _finite(row["pos_score"], path, i, "pos_score", allow_none=True)
            nsf = [_finite(x, path, i, "neg_score", allow_none=True) for x in ns]
            if ps is not None and None not in nsf:
                pos_s, neg_s = ps, nsf
        elif scores is not None and label_col is None:
            if not isinstance(scores, list) or len(scores) != 1 + len(text_cols) - 2:
                raise DataError("scores must list the positive's then each negative's score", path, i + 1, score_col)
            pos_s, neg_s = (_finite(scores[0], path, i, score_col),
                            [_finite(x, path, i, score_col) for x in scores[1:1 + len(negs)]])
        key = (anchor, positive)
        if key in where:
            j = where[key]
            g.negatives[j].extend(negs)
            if neg_s is not None and g.neg_scores[j] is not None:
                g.neg_scores[j].extend(neg_s)
        else:
            where[key] = len(g)
            g.add(anchor, positive, negs, pos_s, neg_s)
    for anchor, docs in pending.items():
        neg = [d for d, y in docs if y <= 0]
        for d, y in docs:
            if y > 0:
                g.add(anchor, d, neg)
    if not len(g):
        raise DataError("no (anchor, positive) rows found", path)
    log.info("read %d groups with %d negatives from %s", len(g), g.n_negatives(), path)
    return g
