"""Train a small cross-encoder judge on TREC DL 2019 passages (disjoint from SciFact and Cranfield).

Starts from the packaged all-MiniLM-L6-v2 weights with a fresh one-logit head, trains it with
hardneg.train.trainer.train_cross_encoder (sentence-transformers CrossEncoderTrainer, BCE) on the graded NIST
judgments of the BM25 top-100 pool: grade >= 2 is a positive; grade 0 and unjudged pool passages are negatives
(`--negatives` per positive, seeded). A few queries are held out and re-ranked (nDCG@10 on the graded qrels, by
ranx) against the BM25 order, as a sanity check. The model is saved under the hardneg cache
(`cache_dir("models", "ce-minilm-trecdl19")`) unless --out is given; the path is printed last.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/build_cross_encoder.py [--epochs 1] [--heldout 8]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets")


def read_run(path: Path) -> dict[str, list[str]]:
    """TREC run file -> {query id: doc ids in rank order}."""
    out: dict[str, list[tuple[int, str]]] = {}
    for line in path.read_text().splitlines():
        q, _, d, rank, *_ = line.split()
        out.setdefault(q, []).append((int(rank), d))
    return {q: [d for _, d in sorted(v)] for q, v in out.items()}


def build_groups(ds, run: dict[str, list[str]], qids: list[str], negatives: int, seed: int):
    """Groups: one per grade >= 2 passage, with `negatives` passages drawn from the query's grade-0 and unjudged
    pool passages."""
    from hardneg.types import Groups

    rng = random.Random(seed)
    texts = ds.corpus.full_texts()
    g = Groups()
    for q in qids:
        judged = ds.qrels.get(q, {})
        pos = [d for d, s in judged.items() if s >= 2]
        pool = [d for d in run.get(q, []) if judged.get(d, 0) == 0 and d in ds.corpus]
        for d in pos:
            negs = rng.sample(pool, min(negatives, len(pool)))
            g.add(ds.queries.text(q), texts[ds.corpus.index(d)], [texts[ds.corpus.index(n)] for n in negs])
    return g


def rerank_ndcg(model_path: str, ds, run: dict[str, list[str]], qids: list[str]) -> dict[str, float]:
    """nDCG@10 of the BM25 order and of the cross-encoder's re-ranking of the BM25 top 100 (graded qrels)."""
    from ranx import Qrels, Run, evaluate

    from hardneg.validate.judges.cross import CrossEncoderJudge

    judge = CrossEncoderJudge(model_path, cache=False)
    texts = ds.corpus.full_texts()
    qs, docs, pairs = [], [], []
    for q in qids:
        for d in run[q]:
            if d in ds.corpus:
                qs.append(ds.queries.text(q))
                docs.append(texts[ds.corpus.index(d)])
                pairs.append((q, d))
    s = judge.score_pairs(qs, docs)
    ce: dict[str, dict[str, float]] = {}
    for (q, d), v in zip(pairs, s):
        ce.setdefault(q, {})[d] = float(v)
    bm = {q: {d: float(len(run[q]) - i) for i, d in enumerate(run[q])} for q in qids}
    qrels = Qrels({q: {d: int(v) for d, v in ds.qrels[q].items()} for q in qids})
    return {"bm25": float(evaluate(qrels, Run(bm), "ndcg@10")), "cross-encoder": float(evaluate(qrels, Run(ce),
                                                                                                   "ndcg@10"))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.path.join(SHARED, "trec-dl-2019-passage-bm25top100"))
    ap.add_argument("--out", default=None, help="model folder (default: the hardneg cache)")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--negatives", type=int, default=2, help="negatives per positive")
    ap.add_argument("--heldout", type=int, default=8, help="queries kept out of training for the sanity check")
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    import torch

    from hardneg.data.beir import load_beir
    from hardneg.paths import cache_dir
    from hardneg.train.trainer import TrainConfig, train_cross_encoder

    torch.manual_seed(args.seed)
    root = Path(args.data)
    ds = load_beir(root, "test-in-corpus")
    run = read_run(root / "bm25_top100.run.trec")
    qids = sorted(q for q in ds.queries.ids if q in run)
    random.Random(args.seed).shuffle(qids)
    held, train_q = sorted(qids[:args.heldout]), sorted(qids[args.heldout:])
    groups = build_groups(ds, run, train_q, args.negatives, args.seed)
    out = Path(args.out) if args.out else cache_dir("models", "ce-minilm-trecdl19")
    cfg = TrainConfig(model="minilm", loss="bce", epochs=args.epochs, batch_size=16, learning_rate=5e-5,
                      max_seq_length=args.max_length, seed=args.seed)
    t0 = time.perf_counter()
    res = train_cross_encoder(groups, cfg, out)
    secs = time.perf_counter() - t0
    print(f"trained on {len(train_q)} queries, {res.rows} pairs, {secs:.1f} s", flush=True)
    if held:
        nd = rerank_ndcg(str(out), ds, run, held)
        print(f"held-out {len(held)} queries, nDCG@10 of the BM25 top 100: bm25 {nd['bm25']:.4f}, "
              f"re-ranked by the cross-encoder {nd['cross-encoder']:.4f}")
    print(out)


if __name__ == "__main__":
    main()
