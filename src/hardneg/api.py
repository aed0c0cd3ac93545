"""hardneg.mine(): the Python front door, shaped like sentence-transformers' `mine_hard_negatives`.

It runs hardneg.pipeline.run (the same pipeline as `hardneg mine`) and returns the result in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from hardneg.types import Corpus, Dataset
from hardneg.pipeline.pipeline_config import PipelineConfig
from hardneg.pipeline.result import MineResult


@dataclass
class MinedData:
    """What hardneg.mine() returns: the mined data in memory, its summary (counts, scores, timings in seconds)."""

    result: MineResult
    config: PipelineConfig
    columns: tuple[str, str] = ("query", "positive")  # a datasets.Dataset input's (anchor, positive) names

    @property
    def summary(self) -> dict:
        return self.result.summary

    def to_dataset(self, format: str = "triplet", full: bool = False):
        """A `datasets.Dataset` in one export format (triplet, n-tuple, labeled-pair, labeled-list, marginmse, flag).

        The loss-ready columns by default, named as mine_hard_negatives names them (the input's anchor and
        positive column names); `full=True` adds ids and miner scores.
        """
        import datasets

        from hardneg.export.formats import ST_FORMATS, flag_rows
        from hardneg.export.write import parse_formats

        fmt = parse_formats(format)
        if len(fmt) != 1:
            raise ValueError(f"to_dataset takes one format, got '{format}'")
        if fmt[0] == "flag":
            return datasets.Dataset.from_list(list(flag_rows(self.result.mined)))
        base, whole = ST_FORMATS[fmt[0]](self.result.mined)
        table = whole if full else base
        names = dict(zip(("query", "positive"), self.columns))
        table = table.rename_columns([names.get(c, c) for c in table.column_names])
        return datasets.Dataset(datasets.table.InMemoryTable(table))

    def save(self, out: str | Path, formats: Sequence[str] | str | None = None) -> dict[str, dict]:
        """Write the formats (default: those mined with) and summary.json under `out`; returns {format: files}."""
        from hardneg.export.write import export
        from hardneg.pipeline.result import write_summary

        fmts = [formats] if isinstance(formats, str) else list(formats or self.config.export.formats)
        cfg = replace(self.config, out=str(out), export=replace(self.config.export, formats=fmts))
        self.result.exported = export(self.result.mined, out, fmts)
        write_summary(self.result, cfg)
        return self.result.exported


def _from_hf(ds, anchor: str | None, positive: str | None) -> Dataset:
    """(anchor, positive) rows of a datasets.Dataset; the first two columns unless named (as sentence-transformers)."""
    from hardneg.data.pairs import pairs_to_dataset

    cols = ds.column_names
    a, p = anchor or cols[0], positive or cols[1]
    rows = (("row", n, q, d) for n, (q, d) in enumerate(zip(ds[a], ds[p]), 1))
    return pairs_to_dataset(rows, "dataset", a, p, name="dataset")


def with_corpus(ds: Dataset, texts: Sequence[str]) -> Dataset:
    """`ds` with extra documents (texts not already in its corpus), which can be mined as negatives."""
    from hardneg.data.pairs import text_id

    have = set(ds.corpus.texts)
    new = list(dict.fromkeys(t for t in texts if t and t not in have))
    c = ds.corpus
    corpus = Corpus(c.ids + [text_id(t, "d") for t in new], c.titles + [""] * len(new), c.texts + new)
    return replace(ds, corpus=corpus)


def to_hardneg(data: Any, corpus: Sequence[str] | None = None, *, anchor_column: str | None = None,
               positive_column: str | None = None, split: str = "train", skip_invalid: bool = False) -> Dataset:
    """A hardneg Dataset from a datasets.Dataset of pairs, a hardneg Dataset, or any `hardneg mine --data` source."""
    if isinstance(data, Dataset):
        ds = data
    elif hasattr(data, "column_names") and hasattr(data, "select_columns"):
        ds = _from_hf(data, anchor_column, positive_column)
    else:
        from hardneg.data.load import load_data

        ds = load_data(data, split, query_column=anchor_column or "query", answer_column=positive_column or "answer",
                       skip_invalid=skip_invalid)
    return with_corpus(ds, corpus) if corpus else ds


def strategy_spec(sampling: str, range_min: int, range_max: int | None, absolute_margin: float | None,
                  relative_margin: float | None) -> str:
    """mine_hard_negatives' selection arguments as a hardneg strategy spec (see hardneg.select.spec)."""
    if absolute_margin is not None and relative_margin is not None:
        raise ValueError("give absolute_margin or relative_margin, not both")
    if absolute_margin is not None:
        head = f"topk-marginpos:{absolute_margin:g}"
    elif relative_margin is not None:
        head = f"topk-percpos:{1.0 - relative_margin:g}"
    else:
        head = "top"
    opts = [sampling] if sampling != "top" else []
    if range_min or range_max is not None:
        opts.append(f"range={range_min}-{range_max if range_max is not None else 10 ** 9}")
    return head + (":" + ",".join(opts) if opts else "")


def _retriever(model: Any, batch_size: int) -> tuple[str, list | None]:
    """(retriever spec, ready retrievers or None) for a model name/spec or a loaded SentenceTransformer."""
    if isinstance(model, str):
        return (model if model == "bm25" or ":" in model and model.split(":")[0] in ("bm25", "dense")
                else f"dense:{model}"), None
    from hardneg.retrieve.dense import DenseRetriever

    card = getattr(model, "model_card_data", None)
    try:  # the folder or hub id the first module's transformer was loaded from
        path = model[0].auto_model.config._name_or_path
    except (AttributeError, IndexError, KeyError, TypeError):
        path = None
    name = str(getattr(card, "base_model", None) or path or "model")
    r = DenseRetriever(name, batch_size=batch_size, show_progress=False)
    r._model = model  # a loaded model: used as is, never reloaded
    return r.name, [r]


def mine(data: Any, model: Any = "minilm", corpus: Sequence[str] | None = None, *,
         anchor_column: str | None = None, positive_column: str | None = None, split: str = "train",
         num_negatives: int = 3, sampling: str = "top", range_min: int = 0, range_max: int | None = None,
         absolute_margin: float | None = None, relative_margin: float | None = None,
         min_score: float | None = None, max_score: float | None = None, strategy: str | None = None,
         formats: Sequence[str] = ("triplet",), judges: Sequence[Any] = (), rules: Sequence[str] = (),
         out: str | Path | None = None, overwrite: bool = False, skip_invalid: bool = False,
         batch_size: int = 32, seed: int = 0, **options) -> MinedData:
    """Mine hard negatives, as `sentence_transformers.util.mine_hard_negatives(dataset, model)` does.

    data: a datasets.Dataset of (anchor, positive) columns, a hardneg Dataset, a BEIR folder, a pair file or a
          dataset name. model: a SentenceTransformer, a model name (`minilm`, a path, a hub id) or a retriever
          spec (`bm25`, `dense:mpnet`). The selection arguments follow mine_hard_negatives (margins compare
          with the query's best positive); `strategy` (a hardneg spec) replaces them. `judges` validate the
          negatives: specs as `hardneg mine --judge`, or judge objects (a `name` and `score_pairs(queries,
          docs)`; see hardneg.validate.judges.base). Scores are the miner's (cosine for dense models).
          Other config keys go in `options` by their flat names (hardneg.pipeline.pipeline_config.FLAT:
          short, depth, search, backend, prompt, policy, target_fn_rate, ...).
    Returns a MinedData: `.to_dataset(format)`, `.save(dir)`, `.summary`; with `out` the files are written too
    (a folder holding another run is refused unless `overwrite`, as `hardneg mine --out`).
    """
    from hardneg.export.write import parse_formats
    from hardneg.pipeline.pipeline_config import FLAT, from_dict, nest
    from hardneg.pipeline.runner import run
    from hardneg.pipeline.runs import pipeline_plan

    spec, ready = _retriever(model, batch_size)
    where = data.name if isinstance(data, Dataset) else str(getattr(data, "_fingerprint", None) or data)
    flat = {"data": where, "split": split, "query_column": anchor_column or "query",
            "answer_column": positive_column or "answer", "skip_invalid": skip_invalid, "retrievers": [spec],
            "num_negatives": num_negatives, "min_score": min_score, "max_score": max_score,
            "strategy": strategy or strategy_spec(sampling, range_min, range_max, absolute_margin, relative_margin),
            "formats": list(formats), "out": str(out) if out else None, "batch_size": batch_size, "seed": seed,
            "judges": list(judges), "rules": list(rules),
            "pos_score": "max", **options}  # mine_hard_negatives compares with the best positive
    pcfg = from_dict(nest(flat), flags={v: k for k, v in FLAT.items()})
    # the out folder is planned before any data loads (refused if it holds another run)
    planned = pipeline_plan(pcfg, overwrite, check_data=isinstance(data, (str, Path))) if out else ("", "new")
    ds = to_hardneg(data, corpus, anchor_column=anchor_column, positive_column=positive_column, split=split,
                    skip_invalid=skip_invalid)
    cols = ("query", "positive")
    if hasattr(data, "column_names") and not isinstance(data, Dataset):
        cols = (anchor_column or data.column_names[0], positive_column or data.column_names[1])
    res = MinedData(run(pcfg, ds, retrievers=ready, planned=planned), pcfg, cols)
    if not out:  # rows per format as the files would hold them
        res.summary["exported"] = {f: len(res.to_dataset(f)) for f in parse_formats(pcfg.export.formats)}
    return res


def mine_ray(dataset: Dataset, config: PipelineConfig, opts=None, corpus_source: str | None = None,
             progress=None) -> MineResult:
    """hardneg.pipeline.run on a Ray cluster (exact search) for a PipelineConfig; returns the MineResult.

    opts: hardneg.scale.RayOptions (default: a local cluster). corpus_source: the corpus file/folder to shard
    (streamed), else the dataset's corpus is sharded.
    With config.out the run folder resumes like any pipeline run.
    """
    from hardneg.checks import check_pipeline
    from hardneg.pipeline.runner import run
    from hardneg.pipeline.runs import pipeline_plan
    from hardneg.scale.engine import RayEngine

    cfg = replace(config, retrieve=replace(config.retrieve, engine="ray"))
    check_pipeline(cfg)  # what the ray engine cannot do (faiss search, judge objects) is refused here
    eng = RayEngine(opts, (opts and opts.work_dir) or (Path(cfg.out) / "ray" if cfg.out else "hardneg-ray"),
                    corpus_source)
    planned = pipeline_plan(cfg, check_data=False) if cfg.out else ("", "new")
    return run(cfg, dataset, progress=progress, planned=planned, engine=eng)
