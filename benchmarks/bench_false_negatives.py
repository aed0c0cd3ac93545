"""False negatives caught by validation, on queries with >= 2 positives whose extra positives are hidden.

Keep each query's most relevant positive, hide the rest, mine top-N negatives with MiniLM (hardneg mine), then validate
with each setting. Prints, per setting: share of kept negatives that are hidden positives (fn_share), share of
queries still holding N negatives (full), mean miner rank of kept negatives (rank; 1 = hardest), seconds, and for
relabel the share of relabelled candidates that are hidden positives (relabel precision).

Calibrated settings are cross-fitted in two folds so that no query is calibrated on its own hidden positives:
for fold f, the queries of the other fold keep all their positives (the calibration reads them as held-out
labels, as it would on a user's data), fold f keeps only its most relevant positive and is measured.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_false_negatives.py [--data DIR] [--split train]
        [--teacher teacher:mpnet:256] [--cross-encoder PATH | --cheap-judge teacher:minilm] [--with-llm] [--with-st]
"""

from __future__ import annotations

import argparse
import logging
import os
import time

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets")


def hidden_dataset(root: str, split: str = "train", reveal: set[str] = frozenset()):
    """(dataset of the queries with >= 2 positives, one positive kept for each except those in `reveal`,
    {qid: hidden positive ids}, the query ids). The kept positive is the most relevant one (the highest
    grade, then qrels order), as the one document a user would have labelled; graded sets such as Cranfield
    list weakly relevant documents first."""
    from hardneg.data.beir import load_beir
    from hardneg.types import Dataset

    ds = load_beir(root, split, skip_invalid=True)  # Cranfield has a few empty documents
    pos = {q: sorted(ds_pos, key=lambda d, q=q: -ds.qrels[q][d]) for q, ds_pos in ds.positives().items()}
    multi = [q for q in ds.queries.ids if len(pos.get(q, [])) >= 2]
    qrels = {q: {d: 1 for d in pos[q]} if q in reveal else {pos[q][0]: 1} for q in multi}
    hidden = {q: set(pos[q][1:]) for q in multi}
    return Dataset(ds.corpus, ds.queries.subset(multi), qrels, name=f"{ds.name}-hidden"), hidden, multi


def measure(name: str, qids: list[str], rows: np.ndarray, ranks: np.ndarray, doc_ids: list[str],
            hidden: dict[str, set], n: int, secs: float, extra=None) -> dict:
    ok = rows >= 0
    fn = sum(doc_ids[r] in hidden[q] for q, rr in zip(qids, rows) for r in rr if r >= 0)
    out = {"setting": name, "fn_share": fn / max(ok.sum(), 1), "fn": int(fn), "negatives": int(ok.sum()),
           "full": float((ok.sum(1) >= n).mean()), "rank": float(ranks[ok & (ranks > 0)].mean()), "secs": secs,
           "relabel_prec": float("nan"), "relabel_rec": float("nan"), "relabelled": 0}
    if extra is not None:  # relabelled rows [Q, R]
        rel = [(q, r) for q, rr in zip(qids, extra) for r in rr if r >= 0]
        hit = sum(doc_ids[r] in hidden[q] for q, r in rel)
        out["relabelled"] = len(rel)
        out["relabel_prec"] = hit / max(len(rel), 1)
        out["relabel_rec"] = hit / max(sum(len(hidden[q]) for q in qids), 1)
    return out


def st_reference(ds, hidden, n: int, model_path: str) -> dict:
    """sentence-transformers' mine_hard_negatives, same MiniLM, relative_margin=0.05, top-n negatives."""
    from datasets import Dataset as HFDataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives

    texts = ds.corpus.full_texts()
    qids = ds.queries.ids
    pos_text = [texts[ds.corpus.index(next(iter(ds.qrels[q])))] for q in qids]
    pairs = HFDataset.from_dict({"query": ds.queries.texts, "positive": pos_text})
    model = SentenceTransformer(model_path)
    t0 = time.perf_counter()
    out = mine_hard_negatives(pairs, model, corpus=texts, num_negatives=n, range_max=40, relative_margin=0.05,
                              sampling_strategy="top", output_format="n-tuple", batch_size=64, verbose=False)
    secs = time.perf_counter() - t0
    by_text = {t: i for i, t in enumerate(texts)}
    q_of = {t: i for i, t in enumerate(ds.queries.texts)}
    rows = np.full((len(qids), n), -1, np.int64)
    for rec in out:
        cols = [by_text[rec[f"negative_{j}"]] for j in range(1, n + 1)]
        rows[q_of[rec["query"]]] = cols
    r = measure("st.mine_hard_negatives rel_margin=0.05", qids, rows, np.ones_like(rows, np.int32),
                ds.corpus.ids, hidden, n, secs)
    return r | {"rank": float("nan")}  # ST does not report candidate ranks


def cross_fit(args, name: str, judges: list[str], rules: list[str], n: int, depth: int, **opts) -> dict:
    """Two folds: calibrate on the other fold's queries (all positives known), measure this fold's."""
    from hardneg.pipeline import from_dict, run
    from hardneg.validate.step import validate_selection

    _, hidden, multi = hidden_dataset(args.data, args.split)
    parts, secs, values, scored = [], 0.0, [], {}
    for f in (0, 1):
        reveal = {q for i, q in enumerate(multi) if i % 2 != f}
        ds, _, _ = hidden_dataset(args.data, args.split, reveal)
        res = run(from_dict({"select": {"num_negatives": n}, "retrieve": {"depth": depth}}), ds)
        t = time.perf_counter()
        new, vres = validate_selection(ds, res.candidates, res.selection, judges, rules, split=args.split, **opts)
        secs += time.perf_counter() - t
        values.append({j: c.get("value") for j, c in vres.calibration.items()}
                      | {f"{j}.relabel": c["relabel"].get("value") for j, c in vres.calibration.items()
                         if "relabel" in c})
        for j, v in vres.scored.items():
            scored[j] = scored.get(j, 0) + v
        idx = np.array([i for i, q in enumerate(new.query_ids) if q not in reveal])
        extra = None if new.positives is None else new.positives[idx]
        if extra is None and "relabel" in str(opts.get("policy")):
            extra = np.full((len(idx), 1), -1)  # nothing relabelled
        parts.append((idx, new, extra))
        print(f"fold {f} {name}: calibration {[(j, c.get('value'), c['reason']) for j, c in vres.calibration.items()]}",
              flush=True)
    qids = [q for idx, new, _ in parts for q in (new.query_ids[i] for i in idx)]
    rows = np.concatenate([new.rows[idx] for idx, new, _ in parts])
    ranks = np.concatenate([new.ranks[idx] for idx, new, _ in parts])
    extra = None
    if any(e is not None for _, _, e in parts):
        w = max(e.shape[1] for _, _, e in parts if e is not None)
        extra = np.concatenate([np.pad(e, ((0, 0), (0, w - e.shape[1])), constant_values=-1) if e is not None
                                else np.full((len(idx), w), -1) for idx, _, e in parts])
    ds_full = hidden_dataset(args.data, args.split)[0]
    r = measure(name, qids, rows, ranks, ds_full.corpus.ids, hidden, n, secs, extra)
    r["values"], r["scored"] = values, scored
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.path.join(SHARED, "scifact"))
    ap.add_argument("--split", default="train")
    ap.add_argument("-n", type=int, default=10)
    ap.add_argument("--depth", type=int, default=120, help="candidates per query (validation refills from these)")
    ap.add_argument("--target", type=float, default=0.01, help="target false-negative rate for calibration")
    ap.add_argument("--teacher", default="teacher:mpnet:256", help="teacher judge spec")
    ap.add_argument("--cross-encoder", default=None, help="cross-encoder checkpoint for the cascade row")
    ap.add_argument("--cheap-judge", default=None, help="with no --cross-encoder: a cascade row from this judge (e.g. "
                                                        "teacher:minilm) to --teacher")
    ap.add_argument("--calibrated-rule", default=None, help="rule whose value the calibrated row tunes, e.g. "
                    "margin:0.1 or abs:0.8 (default: the judge's default rule, perc)")
    ap.add_argument("--band", type=float, default=0.05, help="cascade band around the teacher's cut (perc units)")
    ap.add_argument("--relabel-precision", type=float, default=0.9, help="relabel precision the relabel row "
                    "calibrates to")
    ap.add_argument("--with-llm", action="store_true", help="also run llm:local settings (slow on CPU)")
    ap.add_argument("--skip-llm", action="store_true", help="LLM settings are skipped unless --with-llm (accepted "
                    "for older command lines)")
    ap.add_argument("--with-st", action="store_true", help="also run the ST reference (re-encodes the corpus)")
    ap.add_argument("--rows", default="none,fixed,calibrated,cascade,relabel",
                    help="comma-separated rows to run (none, fixed, calibrated, cascade, relabel)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from rich.console import Console
    from rich.table import Table

    from hardneg.pipeline import from_dict, run
    from hardneg.validate.step import validate_selection

    n, tj = args.n, args.teacher
    ds, hidden, _ = hidden_dataset(args.data, args.split)
    t0 = time.perf_counter()
    res = run(from_dict({"select": {"num_negatives": n}, "retrieve": {"depth": args.depth}}), ds)
    mine_s = time.perf_counter() - t0
    cands, sel = res.candidates, res.selection
    qids = list(cands.query_ids)
    results = [measure(f"none (MiniLM top-{n})", qids, sel.rows, sel.ranks, ds.corpus.ids, hidden, n, mine_s)]
    print("partial", results[-1], flush=True)
    fixed = [("dup:jaccard:0.8", ["dup:jaccard:0.8"], []), (f"{tj} perc:0.95", [tj], ["perc:0.95"])]
    if args.with_llm:
        fixed.append(("llm:local (SmolLM2) abs:0.5", ["llm:local"], ["abs:0.5"]))
    rows = set(args.rows.split(","))
    for name, judges, rules in fixed if "fixed" in rows else []:
        t = time.perf_counter()
        new, _ = validate_selection(ds, cands, sel, judges, rules)
        results.append(measure(name, qids, new.rows, new.ranks, ds.corpus.ids, hidden, n, time.perf_counter() - t))
        print("partial", results[-1], flush=True)
    cal = {"target_fn_rate": args.target}
    if "calibrated" in rows:
        rule = [f"teacher={args.calibrated_rule}"] if args.calibrated_rule else []
        label = f" ({args.calibrated_rule.split(':')[0]} rule)" if args.calibrated_rule else ""
        results.append(cross_fit(args, f"{tj} calibrated to {args.target:g}{label}", [tj], rule, n, args.depth,
                                 **cal))
        print("partial", results[-1], flush=True)
    if "cascade" not in rows:
        pass
    elif args.cross_encoder:
        ce = f"cross-encoder:{args.cross_encoder}"
        r = cross_fit(args, f"cascade {tj} -> cross-encoder (band {args.band:g}, drop=all)", [tj, ce], [], n,
                      args.depth, cascade=args.band, combine="all", **cal)
        results.append(r)
        print("partial", r, flush=True)
    elif args.cheap_judge:
        r = cross_fit(args, f"cascade {args.cheap_judge} -> {tj} (band {args.band:g}, drop=all)", [args.cheap_judge, tj],
                      [], n, args.depth, cascade=args.band, combine="all", **cal)
        results.append(r)
        print("partial", r, flush=True)
    else:
        print("skipped: cascade teacher -> cross-encoder (no cross-encoder checkpoint ships offline; pass "
              "--cross-encoder PATH, or --cheap-judge SPEC for a cascade of that judge into --teacher)", flush=True)
    if "relabel" in rows:  # relabel at the positive's level (the default relabel rule), then calibrated
        t = time.perf_counter()
        new, _ = validate_selection(ds, cands, sel, [tj], ["perc:0.95"], policy="relabel=all,drop=any")
        extra = new.positives if new.positives is not None else np.full((len(qids), 1), -1)
        results.append(measure(f"{tj} perc:0.95, relabel=all,drop=any (relabel at the positive's level)", qids,
                               new.rows, new.ranks, ds.corpus.ids, hidden, n, time.perf_counter() - t, extra))
        print("partial", results[-1], flush=True)
        results.append(cross_fit(args, f"{tj} calibrated to {args.target:g}, relabel=all,drop=any (relabel "
                                 f"precision {args.relabel_precision:g})", [tj], [], n, args.depth,
                                 policy="relabel=all,drop=any", relabel_precision=args.relabel_precision, **cal))
        print("partial", results[-1], flush=True)
    if args.with_st:
        from hardneg.models.load import resolve_model

        results.append(st_reference(ds, hidden, n, resolve_model("minilm")))
    table = Table(title=f"false negatives: {ds.name} {args.split}, {len(qids)} queries with >= 2 positives, "
                        f"{sum(map(len, hidden.values()))} hidden positives, top-{n}, depth {args.depth}")
    for col in ("setting", "fn_share", "fn", "negatives", "full", "mean rank", "relabelled (prec, rec)",
                "pairs scored", "secs"):
        table.add_column(col, justify="left" if col == "setting" else "right")
    for r in results:
        rel = (f"{r['relabelled']} ({r['relabel_prec']:.2f}, {r['relabel_rec']:.2f})" if r["relabelled"] else
               "0" if r["relabel_rec"] == r["relabel_rec"] else "-")
        sc = ", ".join(f"{j} {v}" for j, v in r.get("scored", {}).items()) or "-"
        table.add_row(r["setting"], f"{r['fn_share']:.4f}", str(r["fn"]), str(r["negatives"]), f"{r['full']:.3f}",
                      f"{r['rank']:.2f}", rel, sc, f"{r['secs']:.1f}")
    Console(width=160).print(table)
    for r in results:
        print(f"fn_share[{r['setting']}] {r['fn_share']:.4f} full[{r['setting']}] {r['full']:.4f} "
              f"mean_rank[{r['setting']}] {r['rank']:.3f}" + (f" values {r['values']}" if "values" in r else "")
              + (f" scored {r['scored']}" if r.get("scored") else ""))


if __name__ == "__main__":
    main()
