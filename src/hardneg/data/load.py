"""One entry point for every data source: BEIR folder, pair file, HF dataset (disk or hub), dataset name."""

from __future__ import annotations

from pathlib import Path

from hardneg.data.beir import LoadReport, load_beir
from hardneg.data.errors import DataError
from hardneg.data.fetch import BEIR_NAMES, resolve_dataset
from hardneg.data.jsonl import find
from hardneg.types import Dataset
from hardneg.data.pairs import PAIR_SUFFIXES, load_hf, load_pairs


def source_kind(source: str | Path) -> str:
    """'beir', 'pairs', 'hf-disk', 'name' (a BEIR/shared dataset name) or 'hf-hub'."""
    p = Path(source)
    if p.is_dir():
        if find(p / "corpus.jsonl"):
            return "beir"
        if any((p / f).exists() for f in ("dataset_info.json", "dataset_dict.json", "state.json")):
            return "hf-disk"
        raise DataError("folder is neither a BEIR dataset (corpus.jsonl) nor a saved HF dataset", p)
    if p.is_file():
        if Path(p.name.removesuffix(".gz")).suffix in PAIR_SUFFIXES:
            return "pairs"
        raise DataError(f"unknown file type (expected a folder or one of {', '.join(PAIR_SUFFIXES)})", p)
    name = str(source)
    if name in BEIR_NAMES or ("/" not in name and _shared_or_cached(name)):
        return "name"
    if name.count("/") == 1 and not name.startswith((".", "/")) and not p.suffix:
        return "hf-hub"
    raise DataError("no such file or folder", p)


def _shared_or_cached(name: str) -> bool:
    try:
        resolve_dataset(name)
        return True
    except DataError:
        return False


def load_data(source: str | Path, split: str = "test", *, query_column: str = "query",
              answer_column: str = "answer", skip_invalid: bool = False,
              report: LoadReport | None = None) -> Dataset:
    """Load a Dataset from whatever `source` is; skipped rows are counted in `report` when skip_invalid is set.

    Pair sources (files, HF datasets) have one positive of grade 1 per row; `split` picks the HF split.
    """
    report = report if report is not None else LoadReport()
    kind = source_kind(source)
    if kind == "beir":
        return load_beir(source, split, skip_invalid, report)
    if kind == "name":
        return load_beir(resolve_dataset(source), split, skip_invalid, report)
    if kind == "pairs":
        return load_pairs(source, query_column, answer_column, skip_invalid, report)
    return load_hf(source, split, query_column, answer_column, skip_invalid, report)
