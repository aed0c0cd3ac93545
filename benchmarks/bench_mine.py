"""hardneg mine vs sentence-transformers' mine_hard_negatives on SciFact train, same MiniLM, same settings.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_mine.py --data ../shared/datasets/scifact [--skip-scale]
    (--docs N --queries M runs on a slice when the full encoding is too slow for the machine at hand;
     --precision auto|fp32|bf16|fp16|int8 sets hardneg's, default auto)

Settings: ST range_min=0, num_negatives=N, sampling_strategy="top", no margin, corpus = every document
(title + " " + text, the form hardneg encodes); hardneg strategy `top`, N negatives, triplet export.
Each run is its own process with an empty cache folder (warm = hardneg again on its filled cache).
Prints `NAME value` lines:
  P1 hardneg cold / ST at --precision (goal <= 0.5 on AVX2), with hardneg's time per stage; P1_fp32 the same
  at fp32 (parity of speed) and identical_to_fp32, the share of queries whose negatives equal the fp32 run's.
  A reduced precision is exported and checked once per model before the timed runs (prepare_seconds);
  "cold" is an empty embedding cache;
  P2 hardneg cold / its encoder alone (model load + encode corpus and queries, target <= 1.10);
  P3 hardneg warm / cold (target <= 0.05);
  parity: share of queries whose negative set equals ST's (target >= 0.99), with mismatch causes;
  scale: benchmarks/bench_topk.py, exact top-100 of 100k random queries over 1M random 384-d vectors.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "datasets" / "scifact"


def _load(args):
    """Load the split (or a slice: the first --queries judged queries, the first --docs docs plus their positives).

    Also imports the libraries every worker uses, so that no timing includes import cost.
    """
    import sentence_transformers  # noqa: F401

    import hardneg.pipeline.runner  # noqa: F401
    import hardneg.retrieve.dense  # noqa: F401
    from hardneg.data.beir import load_beir
    from hardneg.types import Dataset

    ds = load_beir(args.data, "train")
    if not args.docs and not args.queries:
        return ds
    pos = ds.positives()
    qids = [q for q in ds.queries.ids if pos.get(q)][:args.queries or None]
    rows = set(range(min(args.docs or len(ds.corpus), len(ds.corpus))))
    rows |= {ds.corpus.index(d) for q in qids for d in pos[q]}
    return Dataset(ds.corpus.subset(sorted(rows)), ds.queries.subset(qids), {q: ds.qrels[q] for q in qids}, ds.name)


def worker_st(args) -> dict:
    from datasets import Dataset as HFDataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives

    from hardneg.models.load import resolve_model

    ds = _load(args)
    texts = ds.corpus.full_texts()
    pos = ds.positives()
    qids = [q for q in ds.queries.ids if pos.get(q)]
    pairs = HFDataset.from_dict({"query": [ds.queries.text(q) for q in qids for _ in pos[q]],
                                 "positive": [texts[ds.corpus.index(d)] for q in qids for d in pos[q]]})
    t0 = time.perf_counter()
    model = SentenceTransformer(resolve_model("minilm"))
    out = mine_hard_negatives(pairs, model, corpus=texts, range_min=0, num_negatives=args.n, sampling_strategy="top",
                              output_format="triplet", cache_folder=args.cache, batch_size=32, verbose=False)
    secs = time.perf_counter() - t0
    negs: dict[str, list[str]] = {}
    for q, neg in zip(out["query"], out["negative"]):
        lst = negs.setdefault(q, [])
        if neg not in lst:
            lst.append(neg)
    return {"seconds": secs, "negatives": negs, "pairs": len(pairs), "rows": len(out)}


def worker_hardneg(args) -> dict:
    from hardneg.pipeline import from_dict, run

    ds = _load(args)
    t0 = time.perf_counter()
    res = run(from_dict({"retrieve": {"retrievers": ["dense:minilm"], "batch_size": 32, "precision": args.precision},
                         "select": {"strategy": "top", "num_negatives": args.n}, "export": {"formats": ["triplet"]},
                         "out": args.out}), ds)
    secs = time.perf_counter() - t0
    texts = res.mined.doc_texts
    negs = {t: [texts[r] for r in rows if r >= 0] for t, rows in zip(res.mined.query_texts, res.mined.neg_rows)}
    scores = {t: [float(x) for x in s] for t, s in zip(res.mined.query_texts, res.candidates.scores[:, :args.n + 3])}
    return {"seconds": secs, "negatives": negs, "timings": res.timings, "scores": scores, "docs": len(ds.corpus),
            "excluded": res.excluded, "skipped": res.selection.skipped}


def worker_prepare(args) -> dict:
    """Export and check the reduced precision once (what a first-ever run adds), outside the timed runs."""
    import shutil

    from hardneg.paths import cache_dir
    from hardneg.retrieve.spec import make_retriever

    ds = _load(args)
    t0 = time.perf_counter()
    r = make_retriever("dense:minilm", batch_size=32, show_progress=False, precision=args.precision)
    used = r.check_precision(ds.corpus.full_texts())
    shutil.rmtree(cache_dir("embeddings"), ignore_errors=True)
    return {"seconds": time.perf_counter() - t0, "precision": used}


def worker_encode(args) -> dict:
    from hardneg.retrieve.spec import make_retriever

    ds = _load(args)
    pos = ds.positives()
    queries = [ds.queries.text(q) for q in ds.queries.ids if pos.get(q)]
    r = make_retriever("dense:minilm", batch_size=32, show_progress=False, precision=args.precision)
    t0 = time.perf_counter()
    r.encode_docs(ds.corpus.full_texts())
    r.encode_queries(queries)
    return {"seconds": time.perf_counter() - t0, "backend": r.backend, "precision": r.precision}


def run_worker(kind: str, args, cache: Path, out: Path, precision: str | None = None) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HARDNEG_CACHE=str(cache), TOKENIZERS_PARALLELISM="false")
    res_file = out.with_suffix(".json")
    cmd = [sys.executable, __file__, "--worker", kind, "--data", str(args.data), "-n", str(args.n),
           "--docs", str(args.docs), "--queries", str(args.queries), "--precision", precision or args.precision,
           "--cache", str(cache), "--out", str(out), "--result", str(res_file)]
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return json.loads(res_file.read_text())


def parity(st: dict, hn: dict, n: int) -> tuple[float, dict]:
    """Share of queries with the same negative set, and why the others differ."""
    causes = {"st_dedups_corpus_text": 0, "near_tie_at_cutoff": 0, "other": 0}
    same = 0
    for q, st_negs in st["negatives"].items():
        ours = hn["negatives"].get(q, [])
        if set(ours) == set(st_negs):
            same += 1
            continue
        sc = hn["scores"].get(q, [])
        if len(set(ours)) < len(ours) or len(set(st_negs)) < n:
            causes["st_dedups_corpus_text"] += 1
        elif len(sc) > n and abs(sc[n - 1] - sc[n]) < 1e-4:
            causes["near_tie_at_cutoff"] += 1
        else:
            causes["other"] += 1
    return same / max(len(st["negatives"]), 1), causes


def scale(args) -> None:
    cmd = [sys.executable, str(HERE / "bench_topk.py"), "--queries", str(args.scale_queries), "--docs",
           str(args.scale_docs), "--dim", "384", "--k", "100", "--faiss-sample", "0"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    vals = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    print(f"scale_topk_seconds {vals['topk_seconds']}")
    print(f"scale_embedding_bytes {vals['embedding_bytes']}")
    print(f"scale_peak_rss_bytes {vals['peak_rss_bytes']}")
    print(f"scale_rss_ratio {vals['rss_ratio']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="BEIR folder with a train split (SciFact)")
    ap.add_argument("-n", type=int, default=5, help="negatives per query")
    ap.add_argument("--docs", type=int, default=0, help="slice: first N docs plus the positives (0 = all)")
    ap.add_argument("--queries", type=int, default=0, help="slice: first M judged train queries (0 = all)")
    ap.add_argument("--precision", default="auto", help="hardneg's precision: auto, fp32, bf16, fp16, int8")
    ap.add_argument("--skip-scale", action="store_true", help="skip the 1M x 100k exact top-k run")
    ap.add_argument("--scale-queries", type=int, default=100_000)
    ap.add_argument("--scale-docs", type=int, default=1_000_000)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--cache", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        fn = {"st": worker_st, "hardneg": worker_hardneg, "encode": worker_encode, "prepare": worker_prepare}[args.worker]
        Path(args.result).write_text(json.dumps(fn(args)))
        return
    with tempfile.TemporaryDirectory(prefix="bench_mine.") as tmp:
        tmp = Path(tmp)
        prep = run_worker("prepare", args, tmp / "hn_cache", tmp / "prep")
        shutil.copytree(tmp / "hn_cache", tmp / "enc_cache")  # the exported model, no embeddings
        st = run_worker("st", args, tmp / "st_cache", tmp / "st")
        cold = run_worker("hardneg", args, tmp / "hn_cache", tmp / "hn_cold")
        warm = run_worker("hardneg", args, tmp / "hn_cache", tmp / "hn_warm")
        enc = run_worker("encode", args, tmp / "enc_cache", tmp / "enc")
        fp32 = cold if prep["precision"] == "fp32" else \
            run_worker("hardneg", args, tmp / "fp32_cache", tmp / "hn_fp32", precision="fp32")
    print(f"docs {cold['docs']}")
    print(f"queries {len(st['negatives'])}")
    print(f"st_pairs {st['pairs']}")
    print(f"st_seconds {st['seconds']:.2f}")
    print(f"hardneg_cold_seconds {cold['seconds']:.2f}")
    for k, v in cold["timings"].items():
        print(f"hardneg_cold_{k}_seconds {v:.3f}")
    print(f"hardneg_warm_seconds {warm['seconds']:.2f}")
    print(f"encoder_alone_seconds {enc['seconds']:.2f}")
    print(f"encoder_backend {enc['backend']}")
    print(f"precision {prep['precision']} (asked {args.precision})")
    print(f"prepare_seconds {prep['seconds']:.2f}")
    print(f"P1 {cold['seconds'] / st['seconds']:.3f}")
    print(f"hardneg_fp32_cold_seconds {fp32['seconds']:.2f}")
    print(f"P1_fp32 {fp32['seconds'] / st['seconds']:.3f}")
    same = sum(set(v) == set(fp32["negatives"].get(q, [])) for q, v in cold["negatives"].items())
    print(f"identical_to_fp32 {same / max(len(cold['negatives']), 1):.4f}")
    print(f"P2 {cold['seconds'] / enc['seconds']:.3f}")
    print(f"P3 {warm['seconds'] / cold['seconds']:.3f}")
    share, causes = parity(st, cold, args.n)
    print(f"parity {share:.4f}")
    for k, v in causes.items():
        print(f"parity_mismatch_{k} {v}")
    print(f"hardneg_excluded {json.dumps(cold['excluded'])}")
    print(f"hardneg_skipped {json.dumps(cold['skipped'])}")
    if not args.skip_scale:
        scale(args)


if __name__ == "__main__":
    main()
