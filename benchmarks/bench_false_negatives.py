"""False negatives caught by validation on SciFact train (queries with >= 2 positives).

Keep each query's first positive, hide the rest, mine top-10 negatives with MiniLM (hardneg mine), then validate
with each judge/rule. Prints, per setting: share of kept negatives that are hidden positives (fn_share), share of
queries still holding 10 negatives (full), mean miner rank of kept negatives (rank; 1 = hardest), seconds.
Reference: sentence-transformers mine_hard_negatives with the same MiniLM and relative_margin=0.05.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_false_negatives.py [--data DIR] [--skip-llm] [--with-st]
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from dataclasses import replace

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def hidden_dataset(root: str):
    """(dataset with one positive per multi-positive query, {qid: set of hidden positive ids})."""
    from hardneg.data.beir import load_beir
    from hardneg.data.model import Dataset

    ds = load_beir(root, "train")
    pos = ds.positives()
    multi = [q for q in ds.queries.ids if len(pos.get(q, [])) >= 2]
    qrels = {q: {pos[q][0]: 1} for q in multi}
    hidden = {q: set(pos[q][1:]) for q in multi}
    return Dataset(ds.corpus, ds.queries.subset(multi), qrels, name="scifact-hidden"), hidden


def measure(name: str, qids: list[str], rows: np.ndarray, ranks: np.ndarray, doc_ids: list[str],
            hidden: dict[str, set], n: int, secs: float) -> dict:
    ok = rows >= 0
    fn = sum(doc_ids[r] in hidden[q] for q, rr in zip(qids, rows) for r in rr if r >= 0)
    return {"setting": name, "fn_share": fn / max(ok.sum(), 1), "fn": int(fn), "negatives": int(ok.sum()),
            "full": float((ok.sum(1) >= n).mean()), "rank": float(ranks[ok & (ranks > 0)].mean()), "secs": secs}


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "scifact"))
    ap.add_argument("-n", type=int, default=10)
    ap.add_argument("--skip-llm", action="store_true")
    ap.add_argument("--llm-queries", type=int, default=0, help="run LLM settings on the first N queries only (0 = all)")
    ap.add_argument("--teacher-queries", type=int, default=0, help="run teacher settings on the first N queries only")
    ap.add_argument("--teacher", default="teacher:mpnet", help="teacher judge spec, e.g. teacher:mpnet:256")
    ap.add_argument("--with-st", action="store_true", help="also run the ST reference (re-encodes the corpus)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from rich.console import Console
    from rich.table import Table

    from hardneg.pipeline.config import MineConfig
    from hardneg.pipeline.mine import mine
    from hardneg.retrieve.models import resolve_model
    from hardneg.validate.step import validate_selection

    n = args.n
    ds, hidden = hidden_dataset(args.data)
    t0 = time.perf_counter()
    res = mine(ds, MineConfig(retrievers=["dense:minilm"], strategy="top", num_negatives=n, depth=40))
    mine_s = time.perf_counter() - t0
    cands, sel = res.candidates, res.selection
    qids = list(cands.query_ids)
    results = [measure("none (MiniLM top-10)", qids, sel.rows, sel.ranks, ds.corpus.ids, hidden, n, mine_s)]
    print("partial", results[-1], flush=True)
    cheap = [("dup:jaccard:0.8", ["dup:jaccard:0.8"], []), ("dup:minhash:0.5", ["dup:minhash:0.5"], [])]
    tj = args.teacher
    teacher = [(f"{tj} perc:0.95", [tj], ["perc:0.95"]),
               (f"{tj} perc:0.90", [tj], ["perc:0.90"]),
               (f"{tj} margin:0.05", [tj], ["margin:0.05"])]
    llm = [("llm:local (SmolLM2) abs:0.5", ["llm:local"], ["abs:0.5"]),
           ("llm:local (SmolLM2) perc:0.95", ["llm:local"], ["perc:0.95"]),
           ("any(teacher perc:0.95, dup, llm abs:0.5)", ["teacher:mpnet", "dup:jaccard:0.8", "llm:local"],
            ["teacher=perc:0.95", "llm=abs:0.5"])]
    groups = [(cheap, 0), (teacher, args.teacher_queries)] + ([] if args.skip_llm else [(llm, args.llm_queries)])
    for settings, limit in groups:
        idx = np.arange(min(limit or len(qids), len(qids)))  # a prefix of the queries where judging is slow
        c2 = cands.take(idx)
        s2 = replace(sel, query_ids=[qids[i] for i in idx], rows=sel.rows[idx], scores=sel.scores[idx],
                     ranks=sel.ranks[idx], keep=sel.keep[idx])
        tag = f" [first {len(idx)} queries]" if len(idx) < len(qids) else ""
        if tag:
            results.append(measure("none" + tag, c2.query_ids, s2.rows, s2.ranks, ds.corpus.ids, hidden, n, 0.0))
        for name, judges, rules in settings:
            t = time.perf_counter()
            new, _ = validate_selection(ds, c2, s2, judges, rules)
            results.append(measure(name + tag, c2.query_ids, new.rows, new.ranks, ds.corpus.ids, hidden, n,
                                   time.perf_counter() - t))
            print("partial", results[-1], flush=True)
    if args.with_st:
        results.append(st_reference(ds, hidden, n, resolve_model("minilm")))
    table = Table(title=f"false negatives: SciFact train, {len(qids)} queries with >= 2 positives, "
                        f"{sum(map(len, hidden.values()))} hidden positives, top-{n}")
    for col in ("setting", "fn_share", "fn", "negatives", "full", "mean rank", "secs"):
        table.add_column(col, justify="left" if col == "setting" else "right")
    for r in results:
        table.add_row(r["setting"], f"{r['fn_share']:.3f}", str(r["fn"]), str(r["negatives"]), f"{r['full']:.3f}",
                      f"{r['rank']:.2f}", f"{r['secs']:.1f}")
    Console().print(table)
    base = results[0]["fn_share"]
    for r in results:
        print(f"fn_share[{r['setting']}] {r['fn_share']:.4f}")
        print(f"full_share[{r['setting']}] {r['full']:.4f}")
        print(f"mean_rank[{r['setting']}] {r['rank']:.3f}")
        if base:
            print(f"fn_ratio_vs_none[{r['setting']}] {r['fn_share'] / base:.3f}")


if __name__ == "__main__":
    main()
