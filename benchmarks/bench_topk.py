"""Exact top-k over random unit vectors: time and peak memory of hardneg's blocked exact_topk.

    .venv/bin/python benchmarks/bench_topk.py --queries 100000 --docs 1000000 --dim 384 --k 100

Prints `NAME value` lines: topk_seconds, embedding_bytes (queries + docs, float32), peak_rss_bytes,
rss_ratio (peak RSS / embedding bytes; target <= 1.5), and a ratio against faiss IndexFlatIP run on a
query sample in the same script (`faiss_seconds_sample`, `speed_ratio_vs_faiss`).
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    """n random unit vectors (float32), generated in blocks to keep temporary memory small."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, 65536):
        block = rng.standard_normal((min(65536, n - s), dim), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[s:s + len(block)] = block
    return out


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=100_000, help="number of random queries")
    ap.add_argument("--docs", type=int, default=1_000_000, help="number of random documents")
    ap.add_argument("--dim", type=int, default=384, help="embedding dimension")
    ap.add_argument("--k", type=int, default=100, help="top-k per query")
    ap.add_argument("--q-chunk", type=int, default=1024, help="queries per block")
    ap.add_argument("--d-chunk", type=int, default=32768, help="documents per block")
    ap.add_argument("--faiss-sample", type=int, default=2048, help="queries timed with faiss for the ratio (0 = skip)")
    args = ap.parse_args()

    from hardneg.retrieve.topk import exact_topk

    d = unit_rows(args.docs, args.dim, 1)
    q = unit_rows(args.queries, args.dim, 2)
    emb_bytes = d.nbytes + q.nbytes
    t0, c0 = time.perf_counter(), time.process_time()
    rows, scores = exact_topk(q, d, args.k, q_chunk=args.q_chunk, d_chunk=args.d_chunk)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = peak_rss()
    print(f"topk_seconds {secs:.2f}")
    print(f"topk_cpu_seconds {cpu:.2f}")
    print(f"embedding_bytes {emb_bytes}")
    print(f"peak_rss_bytes {rss}")
    print(f"rss_ratio {rss / emb_bytes:.3f}")
    print(f"queries_per_second {args.queries / secs:.1f}")
    if args.faiss_sample:
        import faiss

        n = min(args.faiss_sample, args.queries)
        index = faiss.IndexFlatIP(args.dim)
        index.add(d)
        t0, c0 = time.perf_counter(), time.process_time()
        fs, fr = index.search(q[:n], args.k)
        fsecs, fcpu = time.perf_counter() - t0, time.process_time() - c0
        ours = secs * n / args.queries
        print(f"faiss_cpu_seconds_sample {fcpu:.2f}")
        print(f"cpu_ratio_vs_faiss {cpu * n / args.queries / fcpu:.3f}")
        print(f"faiss_seconds_sample {fsecs:.2f}")
        print(f"hardneg_seconds_sample_est {ours:.2f}")
        print(f"speed_ratio_vs_faiss {ours / fsecs:.3f}")
        print(f"recall_vs_faiss {np.mean([len(set(a) & set(b)) / args.k for a, b in zip(rows[:n], fr)]):.4f}")


if __name__ == "__main__":
    main()
