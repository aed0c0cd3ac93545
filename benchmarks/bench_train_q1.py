"""Q1: MiniLM fine-tuned on SciFact train with hardneg negatives vs the references, same seed and hyperparameters.

Runs examples/q1_minilm_scifact.yaml through `hardneg experiment` (done cells are reused from --out) and prints
`NAME value` lines: test nDCG@10 per cell, and the ratio of hardneg's recipe to each reference recipe, where the
reference `st-mine` is sentence_transformers.util.mine_hard_negatives at its recommended settings.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_train_q1.py [--quick] [--out runs/q1] [--data DIR]
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=str(ROOT / "examples" / "q1_minilm_scifact.yaml"))
    ap.add_argument("--out", default="runs/q1")
    ap.add_argument("--data", default=None)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from hardneg.experiment.grid import load_config, run_experiment

    exp = load_config(a.config)
    if a.data:
        exp.dataset = a.data
    rows = run_experiment(exp, a.out, quick=a.quick)
    bi = {r["recipe"]: r for r in rows if r["kind"] == "bi-encoder"}
    for r in rows:
        print(f"ndcg@10[{r['kind']}:{r['recipe']}:{r['loss']}] {r['ndcg@10']:.4f}")
        print(f"train_s[{r['kind']}:{r['recipe']}:{r['loss']}] {r['train_s']}")
    ours = [k for k in bi if k.startswith("hardneg")]
    for o in ours:
        for ref in ("zero-shot", "in-batch", "random", "st-mine"):
            if ref in bi and bi[ref]["ndcg@10"] > 0:
                print(f"ratio_ndcg@10[{o}/{ref}] {bi[o]['ndcg@10'] / bi[ref]['ndcg@10']:.4f}")
    rr = {r["recipe"]: r for r in rows if r["kind"] in ("reranker", "bm25")}
    if "zero-shot" in rr:
        for k, r in rr.items():
            if k != "zero-shot":
                print(f"ratio_ndcg@10[rerank:{k}/bm25] {r['ndcg@10'] / rr['zero-shot']['ndcg@10']:.4f}")


if __name__ == "__main__":
    main()
