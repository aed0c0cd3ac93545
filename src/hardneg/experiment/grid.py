"""`hardneg experiment CONFIG.yaml`: a grid of data recipes x losses x models, trained alike and scored on test."""

from __future__ import annotations

import functools
import itertools
import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hardneg.data.beir import load_beir
from hardneg.data.errors import DataError
from hardneg.io import atomic_write, clear, done_path, fingerprint, is_done, mark_done
from hardneg.types import Dataset, Qrels
from hardneg.train.losses import get_loss
from hardneg.experiment.recipes import Recipe, build, load_groups, save_groups
from hardneg.train.trainer import TrainConfig, train_bi_encoder, train_cross_encoder

log = logging.getLogger(__name__)

METRICS = ("ndcg@10", "mrr@10", "recall@1", "recall@3", "recall@10", "recall@100")
TOP = {"name", "dataset", "train_split", "test_split", "models", "recipes", "losses", "cells", "train", "quick",
       "rerankers", "rerank_top"}
QUICK = {"train_queries": 64, "test_queries": 50, "corpus_docs": 800, "max_seq_length": 128, "epochs": 1}


@dataclass
class Cell:
    """One training run: a model trained with a loss on a recipe's data (cross=True: a reranker)."""

    model: str
    recipe: str
    loss: str
    cross: bool = False

    @property
    def key(self) -> str:
        name = f"{'rerank' if self.cross else 'bi'}__{self.model}__{self.recipe}__{self.loss}"
        return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


@dataclass
class Experiment:
    """A parsed config (see examples/*.yaml)."""

    name: str
    dataset: str
    recipes: dict[str, Recipe]
    cells: list[Cell]
    train: dict
    train_split: str = "train"
    test_split: str = "test"
    quick: dict = field(default_factory=lambda: dict(QUICK))
    rerank_top: int = 100
    raw: dict = field(default_factory=dict)


def _need(cfg: dict, key: str, typ, where: str = ""):
    if key not in cfg:
        raise DataError("missing", field=f"{where}{key}")
    if not isinstance(cfg[key], typ):
        raise DataError(f"expected {typ.__name__ if isinstance(typ, type) else typ[0].__name__}",
                        field=f"{where}{key}")
    return cfg[key]


def parse(raw: dict, base: Path = Path(".")) -> Experiment:
    """Validate a config dict; every error names the field (e.g. `recipes[2].kind`, `train.batch_size`)."""
    if not isinstance(raw, dict):
        raise DataError("the config must be a mapping")
    unknown = set(raw) - TOP
    if unknown:
        raise DataError(f"unknown key(s) {sorted(unknown)} (valid: {sorted(TOP)})", field=sorted(unknown)[0])
    ds = _need(raw, "dataset", str)
    recipes: dict[str, Recipe] = {}
    for i, r in enumerate(_need(raw, "recipes", list)):
        if not isinstance(r, dict) or "name" not in r:
            raise DataError("each recipe needs a name", field=f"recipes[{i}]")
        try:
            rec = Recipe(**r)
        except TypeError as e:
            raise DataError(str(e).replace("Recipe.__init__() ", ""), field=f"recipes[{i}]") from None
        if rec.path and not Path(rec.path).is_absolute():
            rec.path = str(base / rec.path)
        recipes[rec.name] = rec
    train = dict(raw.get("train") or {})
    try:
        TrainConfig(**{k: v for k, v in train.items() if k != "model"})
    except TypeError as e:
        raise DataError(str(e).replace("TrainConfig.__init__() ", ""), field="train") from None
    except DataError as e:
        raise DataError(str(e).split(": ", 1)[-1], field=f"train.{e.field}") from None
    models = raw.get("models") or ["minilm"]
    cells: list[Cell] = []
    if "cells" in raw:  # an explicit list, possibly empty (a rerankers-only experiment)
        for i, c in enumerate(_need(raw, "cells", list)):
            if not isinstance(c, dict):
                raise DataError("expected a mapping with recipe and loss", field=f"cells[{i}]")
            cells.append(Cell(c.get("model", models[0]), _need(c, "recipe", str, f"cells[{i}]."),
                              _need(c, "loss", str, f"cells[{i}].")))
    else:
        losses = _need(raw, "losses", list)
        cells = [Cell(m, r, loss) for m, r, loss in itertools.product(models, recipes, losses)]
    rr = raw.get("rerankers") or []
    for i, c in enumerate(rr):
        cells.append(Cell(c.get("model", models[0]), _need(c, "recipe", str, f"rerankers[{i}]."),
                          c.get("loss", "bce"), cross=True))
    if not cells:
        raise DataError("nothing to train: give cells, losses or rerankers", field="cells")
    n_bi = sum(not c.cross for c in cells)
    for i, c in enumerate(cells):
        where = f"rerankers[{i - n_bi}]" if c.cross else f"cells[{i}]"
        spec = get_loss(c.loss, field=f"{where}.loss")
        if spec.cross != c.cross:
            raise DataError(f"loss '{c.loss}' is a {'cross' if spec.cross else 'bi'}-encoder loss",
                            field=f"{where}.loss")
        if c.recipe not in recipes:
            raise DataError(f"unknown recipe '{c.recipe}' (defined: {', '.join(recipes)})", field=f"{where}.recipe")
        if spec.needs_negatives and recipes[c.recipe].kind == "in-batch":
            raise DataError(f"loss '{c.loss}' needs negatives; recipe '{c.recipe}' has none", field=f"{where}.recipe")
    quick = {**QUICK, **(raw.get("quick") or {})}
    if not Path(ds).is_absolute() and ((base / ds).exists() or "/" in ds):
        ds = str(base / ds)  # a path relative to the config file; a bare name is looked up by resolve_dataset
    return Experiment(raw.get("name", "experiment"), ds,
                      recipes, cells, train, raw.get("train_split", "train"), raw.get("test_split", "test"),
                      quick, int(raw.get("rerank_top", 100)), raw)


def load_config(path: str | Path) -> Experiment:
    import yaml

    path = Path(path)
    if not path.exists():
        raise DataError("config file does not exist", path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        raise DataError(f"bad YAML: {getattr(e, 'problem', e)}", path, None if line is None else line + 1) from None
    try:
        return parse(raw, path.parent)
    except DataError as e:
        raise DataError(str(e), path) from None


def _sample(qrels: Qrels, n: int, rng) -> Qrels:
    qs = sorted(qrels)
    keep = sorted(rng.choice(len(qs), size=min(n, len(qs)), replace=False))
    return {qs[i]: qrels[qs[i]] for i in keep}


def load_data(exp: Experiment, quick: bool, seed: int) -> tuple[Dataset, Dataset]:
    """Train and test splits over one corpus; quick mode samples queries and shrinks the corpus (positives kept)."""
    from hardneg.data.fetch import resolve_dataset

    root = resolve_dataset(exp.dataset)
    train = load_beir(root, exp.train_split)
    test = load_beir(root, exp.test_split, corpus=train.corpus)
    if not quick:
        return train, test
    rng = np.random.default_rng(seed)
    tq, sq = _sample(train.qrels, exp.quick["train_queries"], rng), _sample(test.qrels, exp.quick["test_queries"], rng)
    need = {d for qr in (tq, sq) for docs in qr.values() for d in docs}
    rows = sorted(train.corpus.indices(need))
    rest = np.setdiff1d(np.arange(len(train.corpus)), rows)
    fill = rng.choice(rest, size=max(0, min(len(rest), exp.quick["corpus_docs"] - len(rows))), replace=False)
    corpus = train.corpus.subset(sorted(rows + fill.tolist()))
    mk = lambda ds, qr: Dataset(corpus, ds.queries.subset(list(qr)), qr, ds.name)  # noqa: E731
    return mk(train, tq), mk(test, sq)


def evaluate_bi(model: str, test: Dataset, k: int = 100, max_seq_length: int | None = None) -> dict:
    """Dense retrieval over the test corpus, scored by hardneg.evaluate's one path (ranx); metrics in [0, 1].

    max_seq_length: encode at this length (quick mode scores every model at its short length alike).
    Scored at fp32, as rerankers are: a reduced precision (`auto` picks bf16 on AMX CPUs) would make the
    scores depend on the machine.
    """
    from hardneg.evaluate.retrieval import score_retriever
    from hardneg.models.load import seq_length
    from hardneg.retrieve.spec import make_retriever

    r = make_retriever(f"dense:{model}", show_progress=False, precision="fp32")
    with seq_length(r.model, max_seq_length):
        return score_retriever(r, test, METRICS, k)[0]


def evaluate_rerank(model: str | None, test: Dataset, top: int, save: Path | None = None) -> dict:
    """BM25 top-`top` re-ranked by the cross-encoder (None: BM25 alone); metrics in [0, 1].

    save: a JSON file that gets both runs, {"bm25": {qid: {doc: score}}, "reranker": {...}} (for fusion, audits).
    """
    from hardneg.evaluate.retrieval import score_reranker, score_retriever
    from hardneg.models.load import load_cross_encoder
    from hardneg.retrieve.spec import make_retriever

    bm = make_retriever("bm25")
    if model is None:
        return score_retriever(bm, test, METRICS, top)[0]
    metrics, run, out = score_reranker(load_cross_encoder(model, precision="fp32"), bm, test, top, METRICS)
    if save is not None:
        with atomic_write(save) as f:
            json.dump({"bm25": run.to_dict(), "reranker": out}, f)
    return metrics


def fusion_row(row: dict, runs_path: Path, test: Dataset, rrf_k: int = 60) -> dict:
    """The reranker's ranking fused with BM25's by reciprocal rank (ranx, k=60): a row beside the reranker's."""
    from ranx import Run as RRun, fuse

    from hardneg.evaluate.metrics import evaluate, quiet_ranx

    runs = json.loads(runs_path.read_text(encoding="utf-8"))
    with quiet_ranx():
        fused = fuse([RRun(runs["bm25"], name="bm25"), RRun(runs["reranker"], name="reranker")], method="rrf",
                     params={"k": rrf_k})
    metrics = evaluate(fused.to_dict(), test.qrels, METRICS)
    return {**row, "cell": f"{row['cell']}+bm25", "kind": "reranker+bm25 rrf",
            **{m: round(v, 4) for m, v in metrics.items()}}


def _rerank_top(exp: Experiment, overrides: dict) -> int:
    return int(overrides.get("rerank_top", exp.rerank_top))


def _cell_config(exp: Experiment, cell: Cell, overrides: dict, quick: bool) -> dict:
    """Everything a cell's result depends on; a done cell is reused only while this is unchanged."""
    train_over = {k: v for k, v in overrides.items() if k in ("seed", "max_seq_length", "epochs")}
    tcfg = TrainConfig(**{**exp.train, **train_over, "model": cell.model, "loss": cell.loss})
    return {"train": tcfg.to_dict(), "recipe": exp.recipes[cell.recipe].to_dict(),
            "quick": exp.quick if quick else None,
            "eval_max_seq_length": overrides.get("eval_max_seq_length"),
            "rerank_top": _rerank_top(exp, overrides) if cell.cross else None,
            "dataset": _dataset_key(exp), "splits": [exp.train_split, exp.test_split]}


def _dataset_key(exp: Experiment) -> str:
    """The dataset as a fingerprint: a resolved path (so `a/../b` and `b` agree), else the name as given."""
    p = Path(exp.dataset)
    return str(p.resolve()) if p.exists() else exp.dataset


def _reusable(path: Path, config: dict, what: str) -> bool:
    """True when `path` is done with `config` (io done marker); a stale result is removed so it is redone."""
    if is_done(path, fingerprint(config)):
        log.info("skip %s (done)", what)
        return True
    if path.exists() or done_path(path).exists():
        log.warning("%s was done with another config; redoing it", what)
        clear(path)
    return False


def _write_row(path: Path, config: dict, row: dict) -> None:
    """The row, then its done marker (holding the config it was made with)."""
    with atomic_write(path) as f:
        f.write(json.dumps(row, indent=2) + "\n")
    mark_done(path, fingerprint(config), config=config)


def run_cell(exp: Experiment, cell: Cell, get_groups, test: Dataset, out: Path, overrides: dict,
             quick: bool = False) -> dict:
    """Train one cell (or reuse it when it is done with the same config); returns its results row.

    get_groups: called for the training data only when the cell is trained.
    """
    cdir = out / "cells" / cell.key
    done = cdir / "done.json"
    config = _cell_config(exp, cell, overrides, quick)
    if _reusable(done, config, cell.key):
        return json.loads(done.read_text(encoding="utf-8"))
    tcfg = TrainConfig(**config["train"])
    groups = get_groups()
    if cell.cross:
        res = train_cross_encoder(groups, tcfg, cdir / "model")
        metrics = evaluate_rerank(str(res.path), test, _rerank_top(exp, overrides), save=cdir / "runs.json")
    else:
        res = train_bi_encoder(groups, tcfg, cdir / "model")
        metrics = evaluate_bi(str(res.path), test, max_seq_length=overrides.get("eval_max_seq_length"))
    row = {"cell": cell.key, "kind": "reranker" if cell.cross else "bi-encoder", "model": cell.model,
           "recipe": cell.recipe, "loss": cell.loss, **{m: round(v, 4) for m, v in metrics.items()},
           "train_s": round(res.seconds, 1), "train_rows": res.rows}
    _write_row(done, config, row)
    return row


def baseline_rows(exp: Experiment, test: Dataset, out: Path, top: int, eval_len: int | None = None,
                  quick: dict | None = None) -> list[dict]:
    """Zero-shot rows for each model (and BM25 when rerankers are trained), cached under out/baselines."""
    rows = []
    todo = [("bi-encoder", m) for m in dict.fromkeys(c.model for c in exp.cells if not c.cross)]
    if any(c.cross for c in exp.cells):
        todo.append(("bm25", "bm25"))
    for kind, m in todo:
        path = out / "baselines" / (re.sub(r"[^A-Za-z0-9_.-]+", "-", m) + ".json")
        config = {"model": m, "eval_max_seq_length": eval_len, "rerank_top": top if kind == "bm25" else None,
                  "quick": quick, "dataset": _dataset_key(exp), "split": exp.test_split}
        if _reusable(path, config, f"zero-shot {m}"):
            rows.append(json.loads(path.read_text(encoding="utf-8")))
            continue
        if kind == "bi-encoder":
            met = evaluate_bi(m, test, max_seq_length=eval_len)
        else:
            met = evaluate_rerank(None, test, top)
        row = {"cell": f"zero-shot__{m}", "kind": kind, "model": m, "recipe": "zero-shot", "loss": "-",
               **{k: round(v, 4) for k, v in met.items()}, "train_s": 0.0, "train_rows": 0}
        _write_row(path, config, row)
        rows.append(row)
    return rows


def run_experiment(exp: Experiment, out: str | Path, quick: bool = False, seed: int | None = None,
                   on_cell=None) -> list[dict]:
    """Run every cell not yet done; writes results.csv/md, plots, config and versions into `out`."""
    from hardneg.experiment.report import write_outputs

    out = Path(out)
    seed = int(exp.train.get("seed", 42) if seed is None else seed)
    overrides = {"seed": seed}
    if quick:
        # models are scored at the short training length too, unless quick.eval_max_seq_length says (0 = native)
        eval_len = int(exp.quick.get("eval_max_seq_length", exp.quick["max_seq_length"])) or None
        overrides.update(max_seq_length=exp.quick["max_seq_length"], epochs=exp.quick["epochs"],
                         eval_max_seq_length=eval_len)
        if "rerank_top" in exp.quick:
            overrides["rerank_top"] = int(exp.quick["rerank_top"])
    train, test = load_data(exp, quick, seed)
    rows = baseline_rows(exp, test, out, _rerank_top(exp, overrides), overrides.get("eval_max_seq_length"),
                         exp.quick if quick else None)
    groups: dict[str, object] = {}

    def groups_of(name: str):  # built (or loaded) once, and only for a cell that trains
        if name not in groups:
            groups[name] = _recipe_groups(exp, name, train, out, seed, quick)
        return groups[name]

    failed = []
    for cell in exp.cells:
        if on_cell:
            on_cell(cell)
        try:
            rows.append(run_cell(exp, cell, functools.partial(groups_of, cell.recipe), test, out, overrides, quick))
            runs = out / "cells" / cell.key / "runs.json"
            if cell.cross and runs.exists():
                rows.append(fusion_row(rows[-1], runs, test))
        except Exception as e:  # one broken cell must not lose the others; it is re-tried on the next run
            if isinstance(e, DataError):
                raise
            log.exception("cell %s failed", cell.key)
            failed.append(f"{cell.key}: {type(e).__name__}: {e}")
    write_outputs(out, exp, rows, quick, seed)
    if failed:
        raise RuntimeError("cells failed (re-run to retry them):\n" + "\n".join(failed))
    return rows


def _recipe_groups(exp: Experiment, name: str, train: Dataset, out: Path, seed: int, quick: bool = False):
    """A recipe's groups, built once per output folder and config (saved under out/recipes)."""
    gpath = out / "recipes" / f"{name}.jsonl.gz"
    config = {"recipe": exp.recipes[name].to_dict(), "seed": seed, "quick": exp.quick if quick else None,
              "dataset": _dataset_key(exp), "split": exp.train_split}
    if _reusable(gpath, config, f"recipe {name}"):
        return load_groups(gpath)
    t0 = time.perf_counter()
    g = build(train, exp.recipes[name], seed, export_dir=out / "recipes" / name)
    log.info("recipe %s: %d groups, %d negatives, built in %.1fs", name, len(g), g.n_negatives(),
             time.perf_counter() - t0)
    save_groups(gpath, g)
    mark_done(gpath, fingerprint(config), config=config)
    return g
