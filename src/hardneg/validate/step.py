"""Validation as a step of `mine`, and the run-folder files that `hardneg validate RUN_DIR` reads."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np

from hardneg.data.errors import DataError
from hardneg.io import write_npz
from hardneg.data.model import Dataset
from hardneg.select.candidates import Candidates
from hardneg.select.negatives import Selection
from hardneg.validate.core import ValidationResult, validate

log = logging.getLogger(__name__)
CANDIDATES = "candidates.npz"


def selection_order(cands: Candidates, sel: Selection) -> tuple[Candidates, np.ndarray]:
    """Candidates in the order the selection prefers them: its picks first, then the candidates below its last
    pick in miner order (the refill pool). Also returns int32 [Q, K'] 1-based miner ranks (0 = not a candidate)."""
    q, n = sel.rows.shape
    picks = sel.rows >= 0
    last = np.where(picks & (sel.ranks > 0), sel.ranks, 0).max(axis=1) if n else np.zeros(q, np.int32)
    cols = np.arange(cands.rows.shape[1])[None, :]
    pool = cands.valid & (cols >= last[:, None]) & ~_picked(cands.rows, sel.rows)
    order = np.argsort(~pool, axis=1, kind="stable")  # pool columns first, in miner order
    pool_sorted = np.take_along_axis(pool, order, 1)

    def gather(a: np.ndarray, fill) -> np.ndarray:
        return np.where(pool_sorted, np.take_along_axis(a, order, 1), fill)

    pick_ranks = np.where(picks, sel.ranks, 0).astype(np.int32)
    at = np.maximum(pick_ranks - 1, 0)
    rows = np.concatenate([np.where(picks, sel.rows, -1), gather(cands.rows, -1)], 1)
    scores = np.concatenate([np.where(picks, sel.scores, -np.inf), gather(cands.scores, -np.inf)], 1)
    ranks = np.concatenate([pick_ranks, np.where(pool_sorted, order + 1, 0)], 1).astype(np.int32)
    rs = {k: np.concatenate([np.where(pick_ranks > 0, np.take_along_axis(v, at, 1), np.nan), gather(v, np.nan)], 1)
          .astype(np.float32) for k, v in cands.retriever_scores.items()}
    rr = {k: np.concatenate([np.where(pick_ranks > 0, np.take_along_axis(v, at, 1), 0), gather(v, 0)], 1)
          .astype(np.int32) for k, v in cands.retriever_ranks.items()}
    out = Candidates(list(cands.query_ids), rows.astype(np.int64), scores.astype(np.float32), cands.pos_rows,
                     cands.pos_scores, rs, rr)
    return out, ranks


def _picked(rows: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """bool [Q, K]: rows[q, k] is one of picks[q] (small N: a loop over N columns, vectorised over queries)."""
    out = np.zeros(rows.shape, dtype=bool)
    for j in range(picks.shape[1]):
        out |= (rows == picks[:, j:j + 1]) & (picks[:, j:j + 1] >= 0)
    return out


def validate_selection(ds: Dataset, cands: Candidates, sel: Selection, judges: Sequence, rules: Sequence = (),
                       combine: str = "any", pos_agg: str = "min", out: str | Path | None = None,
                       **options) -> tuple[Selection, ValidationResult]:
    """Validate a mine Selection: judge its picks, drop by the rules, refill from below its last pick.

    Returns the validated Selection (miner scores and ranks kept) and the ValidationResult; with `out`,
    writes the audit into out/validation/.
    """
    ordered, ranks = selection_order(cands, sel)
    n = sel.rows.shape[1]
    res = validate(ordered, ds, judges, rules, num_negatives=n, combine=combine, pos_agg=pos_agg, **options)
    at = np.maximum(res.neg_cols, 0)
    ok = res.neg_cols >= 0
    still = ~ok.all(axis=1) & sel.keep
    new = replace(sel, rows=res.negatives,
                  scores=np.where(ok, np.take_along_axis(ordered.scores, at, 1), np.nan).astype(np.float32),
                  ranks=np.where(ok, np.take_along_axis(ranks, at, 1), 0).astype(np.int32),
                  still_short=int(still.sum()))
    if out:
        from hardneg.validate.audit import write_audit

        write_audit(Path(out) / "validation", res, ordered, ds)
    return new, res


def save_candidates(path: str | Path, cands: Candidates, sel: Selection | None = None, meta: dict | None = None
                    ) -> Path:
    """Candidates (and optionally the Selection) as one .npz, written atomically; `meta` is stored as JSON."""
    path = Path(path)
    arrays = {"query_ids": np.asarray(cands.query_ids, dtype=str), "rows": cands.rows, "scores": cands.scores,
              "pos_rows": cands.pos_rows, "pos_scores": cands.pos_scores,
              "meta": np.asarray(json.dumps(meta or {}, sort_keys=True))}
    for k, v in cands.retriever_scores.items():
        arrays[f"rscore::{k}"] = v
    for k, v in cands.retriever_ranks.items():
        arrays[f"rrank::{k}"] = v
    if sel is not None:
        arrays.update({"sel_rows": sel.rows, "sel_scores": sel.scores, "sel_ranks": sel.ranks, "sel_keep": sel.keep})
    return write_npz(path, **arrays)


def load_candidates(path: str | Path) -> tuple[Candidates, Selection | None, dict]:
    """(Candidates, Selection or None, meta) from a file written by save_candidates."""
    path = Path(path)
    if not path.exists():
        raise DataError("no candidates file (run `hardneg mine` first, or call save_candidates)", path)
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DataError(f"not a candidates file ({e})", path) from None
    for key in ("query_ids", "rows", "scores", "pos_rows", "pos_scores"):
        if key not in z.files:
            raise DataError("missing array", path, field=key)
    rs = {k.split("::", 1)[1]: z[k] for k in z.files if k.startswith("rscore::")}
    rr = {k.split("::", 1)[1]: z[k] for k in z.files if k.startswith("rrank::")}
    try:
        cands = Candidates(z["query_ids"].tolist(), z["rows"], z["scores"], z["pos_rows"], z["pos_scores"], rs, rr)
    except ValueError as e:
        raise DataError(str(e), path) from None
    sel = None
    if "sel_rows" in z.files:
        keep = z["sel_keep"]
        sel = Selection(list(cands.query_ids), z["sel_rows"], z["sel_scores"], z["sel_ranks"], keep)
    meta = json.loads(str(z["meta"])) if "meta" in z.files else {}
    return cands, sel, meta


def mine_step(judges: Sequence = (), rules: Sequence = (), combine: str = "any", pos_agg: str = "min",
              out: str | Path | None = None, meta: dict | None = None, **options):
    """The `validate` hook for hardneg.pipeline.mine.mine(dataset, cfg, validate=...).

    With `out`, saves out/candidates.npz (candidates + the selection before validation + `meta`, e.g. the
    data source and split) so `hardneg validate out` can run later; with judges, validates the selection
    and writes out/validation/. Returns the selection to export.
    """
    def step(ds: Dataset, cands: Candidates, sel: Selection) -> Selection:
        if out:
            save_candidates(Path(out) / CANDIDATES, cands, sel, meta)
        if not judges:
            return sel
        new, step.result = validate_selection(ds, cands, sel, judges, rules, combine, pos_agg, out=out, **options)
        if out and options.get("review"):
            from hardneg.review.labels import write_relabelled

            write_relabelled(Path(out) / "qrels" / f"{(meta or {}).get('split', 'train')}.relabelled.tsv",
                             options["review"], step.result.query_ids, ds.corpus.ids)
        return new

    step.result = None  # the last ValidationResult, for the caller's counts
    return step
