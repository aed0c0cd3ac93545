"""Cross-encoder rescoring speed: hardneg's cross-encoder judge vs sentence-transformers mine_hard_negatives.

Both use one small real cross-encoder built here from the packaged MiniLM weights with a fresh one-label head
(speed does not need a trained head). ST mines with MiniLM, range_max=K, relative_margin=0.05 and the
cross-encoder; only its rescoring time counts: CrossEncoder.predict is wrapped with a timer (encoding and search
are excluded), and the wrapper records the exact (query, candidate) pairs ST rescored. hardneg then scores
(a) the same pairs in one batched call, (b) the same candidates through validate() (top N + refill margin
judged lazily, same relative margin as a perc rule). Disk caches are off, so both do the full work.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_rescore.py [--queries 100] [--k 30] [-n 5]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def build_cross_encoder(out_dir: str, max_length: int = 256) -> str:
    """MiniLM weights + a fresh seeded one-label head, saved as a CrossEncoder folder."""
    import torch
    from sentence_transformers import CrossEncoder

    from hardneg.models.load import resolve_model

    torch.manual_seed(0)
    ce = CrossEncoder(resolve_model("minilm"), num_labels=1, max_length=max_length)
    ce.save(out_dir)
    return out_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "scifact"))
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--k", type=int, default=30, help="range_max: candidates per query ST rescores")
    ap.add_argument("-n", type=int, default=5, help="negatives per query")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=256, help="cross-encoder max tokens per pair")
    ap.add_argument("--cross-encoder", default="", help="a trained cross-encoder folder or hub id to use instead "
                    "of the fresh-head MiniLM (the drop rate, and so validate()'s judged pairs, depend on it)")
    ap.add_argument("--corpus", type=int, default=2000, help="corpus slice (first docs + the positives) ST encodes")
    args = ap.parse_args()

    from datasets import Dataset as HFDataset
    from sentence_transformers import CrossEncoder, SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives

    from hardneg.data.beir import load_beir
    from hardneg.types import Dataset
    from hardneg.models.load import resolve_model
    from hardneg.types import Candidates
    from hardneg.validate import make_judge, validate

    full = load_beir(args.data, "test")
    pos = full.positives()
    qids = [q for q in full.queries.ids if pos.get(q)][:args.queries]
    keep = sorted(set(range(min(args.corpus, len(full.corpus)))) | {full.corpus.index(pos[q][0]) for q in qids})
    ds = Dataset(full.corpus.subset(keep), full.queries, full.qrels)
    texts = ds.corpus.full_texts()
    q_texts = [ds.queries.text(q) for q in qids]
    pos_rows = [ds.corpus.index(pos[q][0]) for q in qids]
    ce_dir = args.cross_encoder or build_cross_encoder(tempfile.mkdtemp(prefix="hardneg-ce-"), args.max_length)

    # --- sentence-transformers, rescoring time measured inside CrossEncoder.predict
    st_ce = CrossEncoder(ce_dir)
    seen: list[tuple[str, str]] = []
    spent = [0.0]
    orig = st_ce.predict

    def timed_predict(inputs, *a, **kw):
        t = time.perf_counter()
        out = orig(inputs, *a, **kw)
        spent[0] += time.perf_counter() - t
        seen.extend(tuple(p) for p in inputs)
        return out

    st_ce.predict = timed_predict
    pairs = HFDataset.from_dict({"query": q_texts, "positive": [texts[r] for r in pos_rows]})
    model = SentenceTransformer(resolve_model("minilm"))
    t0 = time.perf_counter()
    mine_hard_negatives(pairs, model, corpus=texts, cross_encoder=st_ce, range_max=args.k, relative_margin=0.05,
                        num_negatives=args.n, sampling_strategy="top", output_format="n-tuple",
                        batch_size=args.batch_size, verbose=False)
    st_total = time.perf_counter() - t0
    st_rescore = spent[0]
    n_pairs = len(seen)

    # --- hardneg (a): the same pairs, one batched call
    judge = make_judge(f"cross-encoder:{ce_dir}", cache=False, batch_size=args.batch_size)
    judge.score_pairs(["warm up"], ["warm up"])
    t = time.perf_counter()
    judge.score_pairs([q for q, _ in seen], [d for _, d in seen])
    hn_same = time.perf_counter() - t

    # --- hardneg (b): validate() over the same candidates (ST's rescored lists, in ST's miner order)
    by_text = {x: i for i, x in enumerate(texts)}
    q_of = {x: i for i, x in enumerate(q_texts)}
    rows = np.full((len(qids), args.k), -1, np.int64)
    fill = np.zeros(len(qids), int)
    for q, d in seen[:n_pairs - len(qids)]:  # the last len(qids) pairs are ST's positive rescoring
        i = q_of[q]
        if fill[i] < args.k and by_text[d] != pos_rows[i]:
            rows[i, fill[i]] = by_text[d]
            fill[i] += 1
    scores = np.where(rows >= 0, -np.arange(args.k, dtype=np.float32)[None, :], -np.inf).astype(np.float32)
    cands = Candidates(qids, rows, scores, np.array(pos_rows)[:, None], np.ones((len(qids), 1), np.float32))
    sub = Dataset(ds.corpus, ds.queries.subset(qids), {q: {pos[q][0]: 1} for q in qids})
    t = time.perf_counter()
    res = validate(cands, sub, [judge], ["perc:0.95"], num_negatives=args.n)
    hn_validate = time.perf_counter() - t

    print(f"queries {len(qids)}")
    print(f"pairs_rescored_st {n_pairs}")
    print(f"pairs_judged_hardneg_validate {int(res.judged.sum()) + len(qids)}")
    print(f"st_total_s {st_total:.2f}")
    print(f"st_rescore_s {st_rescore:.2f}")
    print(f"hardneg_same_pairs_s {hn_same:.2f}")
    print(f"hardneg_validate_s {hn_validate:.2f}")
    print(f"ratio_same_pairs_hardneg_over_st {hn_same / st_rescore:.3f}")
    print(f"ratio_validate_hardneg_over_st {hn_validate / st_rescore:.3f}")


if __name__ == "__main__":
    main()
