"""Sharded exact top-k on Ray vs faiss IndexFlatIP (one process): random unit vectors, wall time and peak RSS.

    .venv/bin/python benchmarks/bench_ray_topk.py --docs 1000000 --queries 100000 --workers 1,2

Prints `NAME value` lines, a ratio against faiss run in the same script, and a model for N nodes.
"""

from __future__ import annotations

import argparse
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import psutil


class PeakRSS:
    """Samples the RSS of this process and all its descendants (Ray workers, raylet, plasma) every 0.2 s."""

    def __init__(self):
        self.peak, self.name, self._stop = 0, "", threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        me = psutil.Process()
        while not self._stop.is_set():
            for p in [me, *me.children(recursive=True)]:
                try:
                    rss = p.memory_info().rss
                    if rss > self.peak:
                        self.peak, self.name = rss, " ".join(p.cmdline()[:2])[:60]
                except psutil.Error:
                    pass
            time.sleep(0.2)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def make_data(root: Path, docs: int, queries: int, dim: int, shard_rows: int):
    """Unit-length random float32 vectors, written shard by shard (never the whole corpus in memory)."""
    from hardneg.scale.search import EmbShard
    from hardneg.scale.store import write_npy

    shards = []
    for i, s in enumerate(range(0, docs, shard_rows)):
        n = min(shard_rows, docs - s)
        p = root / f"docs-{i:05d}.npy"
        if not p.exists():
            x = np.random.default_rng(1000 + i).standard_normal((n, dim), dtype=np.float32)
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            write_npy(p, x)
        shards.append(EmbShard(str(p), s, n))
    q = np.random.default_rng(7).standard_normal((queries, dim), dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return shards, q


def run_ray(workers: int, shards, q, k: int, block_rows: int, out: Path, store_mb: int):
    import ray

    from hardneg.scale.cluster import connect
    from hardneg.scale.search import load_blocks, search_sharded

    connect("local", num_cpus=workers, object_store_mb=store_mb)
    shutil.rmtree(out, ignore_errors=True)
    try:
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            paths = search_sharded(q, shards, k, out, block_rows=block_rows, max_blocks_in_flight=workers + 1,
                                   key={"bench": workers})
            wall = time.perf_counter() - t0
    finally:
        ray.shutdown()
    idx, sc = load_blocks(paths)
    return wall, mem, idx, sc


def run_faiss(shards, q, k: int, threads: int):
    import faiss

    faiss.omp_set_num_threads(threads)
    index = faiss.IndexFlatIP(q.shape[1])
    for s in shards:
        index.add(np.load(s.path))
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        sc, idx = index.search(q, k)
        wall = time.perf_counter() - t0
    return wall, mem, idx, sc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--shard-rows", type=int, default=100_000)
    ap.add_argument("--block-rows", type=int, default=4096)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--store-mb", type=int, default=512)
    ap.add_argument("--dir", default="/tmp/hardneg-bench-ray")
    a = ap.parse_args()
    root = Path(a.dir)
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    shards, q = make_data(root, a.docs, a.queries, a.dim, a.shard_rows)
    print(f"data_seconds {time.perf_counter() - t0:.1f}")
    print(f"docs {a.docs}\nqueries {a.queries}\ndim {a.dim}\nk {a.k}\nshards {len(shards)}")
    print(f"shard_mb {a.shard_rows * a.dim * 4 / 2**20:.1f}")
    results, walls = {}, {}
    for w in (int(x) for x in a.workers.split(",")):
        wall, mem, idx, sc = run_ray(w, shards, q, a.k, a.block_rows, root / f"topk-w{w}", a.store_mb)
        results[w], walls[w] = (idx, sc), wall
        print(f"ray_workers_{w}_seconds {wall:.1f}")
        print(f"ray_workers_{w}_queries_per_s {a.queries / wall:.1f}")
        print(f"ray_workers_{w}_peak_rss_mb {mem.peak / 2**20:.0f}  # largest process: {mem.name}")
    ws = sorted(results)
    for w in ws[1:]:
        print(f"ray_workers_{w}_identical_to_{ws[0]} {int(np.array_equal(results[w][0], results[ws[0]][0]))}")
        print(f"ray_speedup_{w}_over_{ws[0]} {walls[ws[0]] / walls[w]:.2f}")
    fw = max(ws)
    wall_f, mem_f, idx_f, sc_f = run_faiss(shards, q, a.k, fw)
    print(f"faiss_flat_{fw}_threads_seconds {wall_f:.1f}")
    print(f"faiss_flat_peak_rss_mb {mem_f.peak / 2**20:.0f}")
    print(f"ratio_ray_{fw}_workers_over_faiss_time {walls[fw] / wall_f:.2f}")
    idx_r, sc_r = results[fw]
    overlap = np.mean([len(np.intersect1d(x, y)) / a.k for x, y in zip(idx_r, idx_f)])
    print(f"topk_overlap_with_faiss {overlap:.6f}")
    print(f"max_score_diff_vs_faiss {float(np.abs(sc_r - sc_f).max()):.2e}")
    # Model for N nodes of c cores: the Q*D*dim*2 flops split over N*c workers, so wall time falls ~1/(N*c);
    # memory per worker is one shard + one query block + its partial and stays flat as N grows; what grows
    # with the shard count S is the query-block broadcast (Q*dim*4*S bytes), the partial top-k traffic to the
    # object store (Q*S*k*12 bytes) and the merge work (Q*S*k entries), all small next to the matmul.
    s_count, b = len(shards), a.block_rows
    print(f"model_worker_mb_flat {(a.shard_rows * a.dim * 4 + b * a.dim * 4 + b * a.k * 12) / 2**20:.0f}")
    print(f"model_query_broadcast_mb_grows_with_shards {a.queries * a.dim * 4 * s_count / 2**20:.0f}")
    print(f"model_partial_traffic_mb_grows_with_shards {a.queries * s_count * a.k * 12 / 2**20:.0f}")
    gflop = 2 * a.queries * a.docs * a.dim / 1e9
    print(f"model_gflop_total {gflop:.0f}")
    print(f"model_gflops_per_worker_measured {gflop / walls[ws[0]] / ws[0]:.1f}")


if __name__ == "__main__":
    main()
