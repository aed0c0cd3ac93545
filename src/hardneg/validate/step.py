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
from hardneg.types import Dataset
from hardneg.types import Candidates
from hardneg.types import Selection
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


def relabelled(res: ValidationResult, ordered: Candidates) -> tuple[np.ndarray, np.ndarray]:
    """(int64 rows, float32 miner scores) [Q, R] of each query's relabelled candidates, -1 / NaN pad."""
    cols = res.relabelled_cols()
    ok = cols >= 0
    at = np.maximum(cols, 0)
    rows = np.where(ok, np.take_along_axis(ordered.rows, at, 1), -1).astype(np.int64)
    return rows, np.where(ok, np.take_along_axis(ordered.scores, at, 1), np.nan).astype(np.float32)


def write_qrels_delta(path: str | Path, query_ids: list[str], rows: np.ndarray, doc_ids: list[str]) -> Path:
    """A BEIR qrels file (query-id, corpus-id, score 1) of the relabelled pairs, written atomically."""
    from hardneg.data.jsonl import atomic_write

    with atomic_write(path) as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for q, j in zip(*np.nonzero(rows >= 0)):
            f.write(f"{query_ids[q]}\t{doc_ids[rows[q, j]]}\t1\n")
    return Path(path)


def apply_result(sel: Selection, res: ValidationResult, ordered: Candidates, ranks: np.ndarray) -> Selection:
    """The Selection after validation: kept negatives (miner scores and ranks), relabelled candidates as extra
    positives, dropped queries no longer kept."""
    at = np.maximum(res.neg_cols, 0)
    ok = res.neg_cols >= 0
    keep = sel.keep & ~res.queries_dropped
    still = ~ok.all(axis=1) & keep
    rows, scores = relabelled(res, ordered)
    return replace(sel, rows=res.negatives, keep=keep,
                   scores=np.where(ok, np.take_along_axis(ordered.scores, at, 1), np.nan).astype(np.float32),
                   ranks=np.where(ok, np.take_along_axis(ranks, at, 1), 0).astype(np.int32),
                   still_short=int(still.sum()), dropped=sel.dropped + int((sel.keep & res.queries_dropped).sum()),
                   positives=rows if rows.shape[1] else None, positive_scores=scores if rows.shape[1] else None)


def validate_selection(ds: Dataset, cands: Candidates, sel: Selection, judges: Sequence, rules: Sequence = (),
                       combine: str = "any", pos_agg: str = "min", out: str | Path | None = None,
                       split: str = "train", **options) -> tuple[Selection, ValidationResult]:
    """Validate a mine Selection: judge its picks, act by the policy, refill from below its last pick.

    Returns the validated Selection (miner scores and ranks kept) and the ValidationResult; with `out`,
    writes the audit into out/validation/ and relabelled pairs into out/qrels/<split>.relabelled.tsv.
    `options` go to validate() (policy, drop_query, cascade, target_fn_rate, labels, ...).
    """
    ordered, ranks = selection_order(cands, sel)
    n = sel.rows.shape[1]
    res = validate(ordered, ds, judges, rules, num_negatives=n, combine=combine, pos_agg=pos_agg, **options)
    new = apply_result(sel, res, ordered, ranks)
    if out:
        write_outputs(out, res, ordered, ds, split)
    return new, res


def write_outputs(out: str | Path, res: ValidationResult, ordered: Candidates, ds: Dataset, split: str) -> dict:
    """out/validation/ (audit, summary) and, when something was relabelled, out/qrels/<split>.relabelled.tsv."""
    from hardneg.validate.audit import write_audit

    summ = write_audit(Path(out) / "validation", res, ordered, ds)
    if res.relabelled.any():
        rows, _ = relabelled(res, ordered)
        write_qrels_delta(Path(out) / "qrels" / f"{split}.relabelled.tsv", res.query_ids, rows, ds.corpus.ids)
    return summ


def judge_margins(m, spec, **options):
    """The Mined set with a judge's scores of its (query, positive) and (query, negative) pairs: what a
    marginmse export takes its labels from. `spec`: a spec string, a JudgeSpec or a ready judge with a `spec`
    (an engine's, e.g. a Ray actor). Teacher scores go through the embedding cache, cross-encoder scores
    through the pair cache."""
    from hardneg.validate.judges import make_judge

    j = spec if hasattr(spec, "score_pairs") else make_judge(spec, **options)
    text = spec if isinstance(spec, str) else getattr(spec, "text", "") or spec.spec.text
    out = {}
    for name, rows in (("pos", m.pos_rows), ("neg", m.neg_rows)):
        qi, ci = np.nonzero(rows >= 0)
        s = np.full(rows.shape, np.nan, np.float32)
        if len(qi):
            s[qi, ci] = j.score_pairs(m.queries(qi), m.texts(rows[qi, ci]))
        out[name] = s
    return replace(m, judge_pos=out["pos"], judge_neg=out["neg"], judge=text)


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


def save_selection(path: str | Path, sel: Selection, meta: dict | None = None) -> Path:
    """A Selection (rows, scores, ranks, keep, relabelled positives if any) as one .npz, atomically; the query
    ids are the candidates' (candidates.npz), `meta` is stored as JSON."""
    extra = {} if sel.positives is None else {"positives": sel.positives, "positive_scores": sel.positive_scores}
    return write_npz(path, rows=sel.rows, scores=sel.scores, ranks=sel.ranks, keep=sel.keep,
                     meta=np.asarray(json.dumps(meta or {}, sort_keys=True)), **extra)


def load_selection(path: str | Path, query_ids: list[str], stats: dict | None = None) -> tuple[Selection, dict]:
    """(Selection, meta) from a file written by save_selection; `stats` (skipped, short, ...) default to
    meta["selection"]."""
    path = Path(path)
    try:
        z = np.load(path, allow_pickle=False)
        meta = json.loads(str(z["meta"]))
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"not a selection file ({e})", path) from None
    pos = {"positives": z["positives"], "positive_scores": z["positive_scores"]} if "positives" in z.files else {}
    sel = Selection(list(query_ids), z["rows"], z["scores"], z["ranks"], z["keep"],
                    **(stats if stats is not None else meta.get("selection", {})), **pos)
    return sel, meta


SELECTED = "steps/select.npz"  # the selection before validation (the pipeline's select step)


def load_run(run_dir: str | Path) -> tuple[Candidates, Selection | None, dict]:
    """(Candidates, the selection before validation or None, meta) of a run folder: candidates.npz, and the
    selection from steps/select.npz (or from candidates.npz when it holds one, as save_candidates can)."""
    run_dir = Path(run_dir)
    cands, sel, meta = load_candidates(run_dir / CANDIDATES)
    if sel is None and (run_dir / SELECTED).exists():
        sel, _ = load_selection(run_dir / SELECTED, cands.query_ids)
    return cands, sel, meta


def top_selection(cands: Candidates, n: int) -> Selection:
    """The first n candidates of each query, in miner order (what validation judges without a selection)."""
    rows = np.full((len(cands.query_ids), n), -1, np.int64)
    scores = np.full(rows.shape, np.nan, np.float32)
    w = min(n, cands.rows.shape[1])
    rows[:, :w], scores[:, :w] = cands.rows[:, :w], cands.scores[:, :w]
    ok = rows >= 0
    return Selection(list(cands.query_ids), rows, np.where(ok, scores, np.nan).astype(np.float32),
                     np.where(ok, np.arange(1, n + 1)[None, :], 0).astype(np.int32), np.ones(len(rows), bool))


def short_for_depth(cands: Candidates, sel: Selection, res: ValidationResult) -> np.ndarray:
    """bool [Q]: queries validation left short although it judged every candidate they had (a deeper search
    would help them; see hardneg.validate.budget)."""
    pool = selection_order(cands, sel)[0].valid
    return res.short & ~(pool & ~res.judged).any(axis=1)
