"""Interchange with Argilla v2 and Label Studio: export the review queue, import their labels into review.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

from hardneg.data.errors import DataError
from hardneg.data.jsonl import atomic_write, read_jsonl
from hardneg.review.items import Item
from hardneg.review.labels import LABELS, decision

FORMATS = ("argilla", "label-studio")
QUESTION = "label"
SUGGEST = {"drop": "false_negative", "drop-query": "false_negative", "relabel": "relevant", "keep": "negative"}
LS_CONFIG = """<View>
  <Header value="Query"/>
  <Text name="query" value="$query"/>
  <Header value="Known positive"/>
  <Text name="positive" value="$positive"/>
  <Header value="Candidate"/>
  <Text name="document" value="$document"/>
  <Choices name="label" toName="document" choice="single" showInline="true">
    <Choice value="negative" hint="a true negative: keep it"/>
    <Choice value="false_negative" hint="relevant enough to be no negative: drop it"/>
    <Choice value="relevant" hint="a positive of this query: relabel it"/>
    <Choice value="skip"/>
  </Choices>
</View>
"""


def _metadata(it: Item) -> dict:
    """Flat metadata: ids, proposed action, miner rank and score, each judge's score and positive reference,
    each retriever's rank (score units are the judges' own)."""
    md = {"query_id": it.query_id, "doc_id": it.doc_id, "proposed": it.action, "decided_by": it.decided_by,
          "miner_rank": it.miner_rank, "miner_score": it.miner_score}
    for j, (s, p, _) in it.scores.items():
        md[f"score_{j}"], md[f"pos_{j}"] = s, p
    md.update({f"rank_{k}": v for k, v in it.ranks.items()})
    return md


def _suggestion_score(it: Item) -> float | None:
    """The highest voting judge's score when every voting judge scores in [0, 1] (probabilities,
    similarities); None otherwise (Argilla takes suggestion scores in [0, 1] only)."""
    s = [it.scores[j][0] for j in it.judges if j in it.scores and it.scores[j][0] is not None]
    return max(s) if s and all(0.0 <= x <= 1.0 for x in s) else None


def argilla_rows(items: list[Item]) -> list[dict]:
    """Flat Argilla v2 records (as `rg.Dataset.records.to_datasets()` writes them): fields query, document and
    positive, the metadata of _metadata, and the proposed label as the `label` question's suggestion."""
    out = []
    for it in items:
        row = {"id": json.dumps([it.query_id, it.doc_id]), "query": it.query, "document": it.doc,
               "positive": it.positive or ""}
        row.update(_metadata(it))
        row[f"{QUESTION}.suggestion"] = SUGGEST.get(it.action, "false_negative")
        row[f"{QUESTION}.suggestion.score"] = _suggestion_score(it)
        row[f"{QUESTION}.suggestion.agent"] = "hardneg:" + ("+".join(it.judges) or it.decided_by or "judges")
        out.append(row)
    return out


def export_argilla(items: list[Item], out: str | Path) -> Path:
    """A Hugging Face dataset (save_to_disk, written atomically, same bytes for the same audit) of argilla_rows,
    ready for push_to_hub + rg.Dataset.from_hub."""
    import pyarrow as pa

    from hardneg.export.mined import write_hf

    return write_hf(out, pa.Table.from_pylist(argilla_rows(items)))


def label_studio_tasks(items: list[Item]) -> list[dict]:
    """Label Studio tasks: data (texts, ids, scores) and the proposed label as a prediction."""
    tasks = []
    for it in items:
        pred = {"model_version": "hardneg", "result": [{"from_name": QUESTION, "to_name": "document", "type": "choices",
                                                       "value": {"choices": [SUGGEST.get(it.action, "false_negative")]}}]}
        if (s := _suggestion_score(it)) is not None:
            pred["score"] = s
        tasks.append({"data": {"query": it.query, "document": it.doc, "positive": it.positive or "",
                               **_metadata(it)}, "predictions": [pred]})
    return tasks


def export_label_studio(items: list[Item], out: str | Path) -> Path:
    """OUT/tasks.json (import it into a Label Studio project) and OUT/label_config.xml (its labeling config)."""
    out = Path(out)
    with atomic_write(out / "tasks.json") as f:
        f.write(json.dumps(label_studio_tasks(items), indent=1, ensure_ascii=False) + "\n")
    with atomic_write(out / "label_config.xml") as f:
        f.write(LS_CONFIG)
    return out


def _records(path: Path) -> list[dict]:
    """Records of an export: a saved HF dataset folder, a JSON list, or JSONL."""
    if path.is_dir():
        import datasets

        try:
            return datasets.load_from_disk(str(path)).to_list()
        except (FileNotFoundError, ValueError) as e:
            raise DataError(f"not a saved Hugging Face dataset ({e})", path) from None
    if not path.exists():
        raise DataError("no such file", path)
    if path.suffix == ".jsonl":
        return [obj for _, obj in read_jsonl(path)]
    try:
        data = json.loads(path.read_text("utf-8"))
    except ValueError as e:
        raise DataError(f"malformed JSON ({e})", path) from None
    if not isinstance(data, list):
        raise DataError("expected a JSON list of tasks or records", path)
    return data


def _ls_label(task: dict) -> str | None:
    """The choice of the last annotation not cancelled (Label Studio's JSON export)."""
    for ann in reversed(task.get("annotations") or []):
        if ann.get("was_cancelled"):
            continue
        for r in ann.get("result") or []:
            if r.get("from_name") == QUESTION and r.get("type") == "choices":
                ch = (r.get("value") or {}).get("choices") or []
                if ch:
                    return ch[0]
    return None


def _argilla_label(rec: dict) -> str | None:
    """The last submitted response to `label`, flat (label.responses) or nested (responses: {label: [...]})."""
    flat = rec.get(f"{QUESTION}.responses")
    if flat is not None:
        status = rec.get(f"{QUESTION}.responses.status") or ["submitted"] * len(flat)
        vals = [v for v, s in zip(flat, status) if s in (None, "submitted")]
        return vals[-1] if vals else None
    nested = (rec.get("responses") or {}).get(QUESTION) or []
    vals = [r.get("value") for r in nested if r.get("status") in (None, "submitted")]
    return vals[-1] if vals else None


def read_labels(path: str | Path) -> list[tuple[str, str, str]]:
    """(query_id, doc_id, label) from a Label Studio JSON export or Argilla records (saved dataset, JSON or
    JSONL, flat or nested); records without a label are skipped. Bad records raise DataError naming them."""
    path = Path(path)
    out = []
    for n, rec in enumerate(_records(path), 1):
        if not isinstance(rec, dict):
            raise DataError("expected an object", path, row=n)
        is_ls = "data" in rec and isinstance(rec["data"], dict)
        md = rec["data"] if is_ls else {**(rec.get("metadata") or {}), **rec}
        label = _ls_label(rec) if is_ls else _argilla_label(rec)
        if label is None:
            continue
        if label not in LABELS:
            raise DataError(f"label must be one of {', '.join(LABELS)}, not '{label}'", path, row=n)
        for k in ("query_id", "doc_id"):
            if not isinstance(md.get(k), str):
                raise DataError("missing", path, row=n, field=k)
        out.append((md["query_id"], md["doc_id"], label))
    return out


def import_labels(path: str | Path, items: list[Item]) -> list[dict]:
    """Decisions (for hardneg.review.labels.append) from another tool's export; every pair must be in the
    audit, else DataError and nothing is returned."""
    proposed = {(it.query_id, it.doc_id): it.action for it in items}
    rows = read_labels(path)
    unknown = [(q, d) for q, d, _ in rows if (q, d) not in proposed]
    if unknown:
        raise DataError(f"{len(unknown)} labelled pairs are not in this run's audit (first: {unknown[0]})", path)
    return [decision(q, d, lab, proposed[(q, d)]) for q, d, lab in rows]
