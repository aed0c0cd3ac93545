"""LLM judge on the embedded SmolLM2: throughput (pairs/s) and AUC against TREC DL 2019 graded qrels.

Pairs: the official BM25 top-100 pool (bm25_top100.run.trec) restricted to judged passages, a seeded sample
(stratified: half relevant at grade >= 2 where possible). AUC of P(yes) is reported for relevance = grade >= 2
and grade >= 1. Reference: the same pairs scored by BM25 (the run's own score), AUC with the same labels.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_llm_judge.py [--pairs 200] [--parallel 2] [--model smollm2]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties at average rank; NaN scores count as 0.5 ties."""
    from scipy.stats import rankdata

    s = np.where(np.isnan(scores), np.nanmedian(scores), scores)
    pos, neg = labels.sum(), (~labels).sum()
    if not pos or not neg:
        return float("nan")
    r = rankdata(s)
    return float((r[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets",
                                                   "trec-dl-2019-passage-bm25top100"))
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--parallel", type=int, default=2, help="llama.cpp slots (concurrent requests)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default="smollm2", help="smollm2, gemma or a .gguf path")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from hardneg.data.beir import load_beir
    from hardneg.llm.local import LocalLLM
    from hardneg.validate.core import doc_texts
    from hardneg.validate.judges.llm import LLMJudge

    ds = load_beir(args.data, "test-in-corpus")
    pool = []
    with open(os.path.join(args.data, "bm25_top100.run.trec"), encoding="utf-8") as f:
        for line in f:
            qid, _, did, _, score, _ = line.split()
            grade = ds.qrels.get(qid, {}).get(did)
            if grade is not None and did in ds.corpus and qid in ds.queries:
                pool.append((qid, did, grade, float(score)))
    rng = np.random.default_rng(args.seed)
    grades = np.array([p[2] for p in pool])
    rel, non = np.nonzero(grades >= 2)[0], np.nonzero(grades < 2)[0]
    half = min(len(rel), args.pairs // 2)
    pick = np.sort(np.concatenate([rng.choice(rel, half, replace=False),
                                   rng.choice(non, min(len(non), args.pairs - half), replace=False)]))
    sample = [pool[i] for i in pick]
    q = [ds.queries.text(s[0]) for s in sample]
    d = doc_texts(ds.corpus, np.array([ds.corpus.index(s[1]) for s in sample]))
    g = np.array([s[2] for s in sample])
    bm25 = np.array([s[3] for s in sample], np.float32)

    t = time.perf_counter()
    llm = LocalLLM(args.model, parallel=args.parallel, threads=args.threads, n_ctx=1024)
    judge = LLMJudge(llm=llm, cache=False, batch_size=32)
    load_s = time.perf_counter() - t
    judge.score_pairs(q[:2], d[:2])  # warm up
    t = time.perf_counter()
    p = judge.score_pairs(q, d)
    secs = time.perf_counter() - t
    print(f"model {llm.name}")
    print(f"pool_judged_pairs {len(pool)}")
    print(f"sample_pairs {len(sample)}")
    print(f"sample_grade_ge2 {int((g >= 2).sum())}")
    print(f"sample_grade_ge1 {int((g >= 1).sum())}")
    print(f"load_s {load_s:.2f}")
    print(f"judge_s {secs:.2f}")
    print(f"pairs_per_s {len(sample) / secs:.2f}")
    print(f"malformed {judge.malformed}")
    print(f"p_yes_mean_rel2 {np.nanmean(p[g >= 2]):.4f}")
    print(f"p_yes_mean_nonrel2 {np.nanmean(p[g < 2]):.4f}")
    for thr in (2, 1):
        a_llm, a_bm25 = auc(p, g >= thr), auc(bm25, g >= thr)
        print(f"auc_llm_grade_ge{thr} {a_llm:.4f}")
        print(f"auc_bm25_grade_ge{thr} {a_bm25:.4f}")
        print(f"ratio_auc_llm_over_bm25_grade_ge{thr} {a_llm / a_bm25:.3f}")


if __name__ == "__main__":
    main()
