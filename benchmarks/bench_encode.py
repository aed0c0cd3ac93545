"""Encoding speed and agreement of each precision against sentence-transformers' torch fp32, on SciFact documents.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_encode.py --docs 1000 \
        [--precisions bf16,fp16,onnx:int8,openvino:int8,openvino:fp32]

A run is PRECISION or BACKEND:PRECISION (backend torch, onnx or openvino). Prints the CPU model and flags first,
then the load seconds of each (export and quantization included on a cold cache), then per run: encode_seconds (wall) and cpu_seconds (process CPU
time, which a busy shared machine disturbs less), speedup and cpu_speedup against plain torch fp32
(SentenceTransformer.encode, runs interleaved round by round), min_cosine (lowest cosine between the fp32 and
the reduced embedding of one text) and top10_overlap (SciFact test queries searching the encoded docs).
The embedding cache and the fp32 check are bypassed; runs whose runtime is missing are skipped with a line.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "scifact"


def load_texts(path: Path, n: int, nq: int) -> tuple[list[str], list[str]]:
    from hardneg.data.beir import read_corpus, read_queries
    from hardneg.data.jsonl import find

    docs = read_corpus(find(path / "corpus.jsonl")).full_texts()[:n]
    return docs, list(read_queries(find(path / "queries.jsonl")).texts)[:nq]


def timed(model, texts: list[str], batch_size: int) -> tuple[np.ndarray, float, float]:
    w, c = time.perf_counter(), time.process_time()
    emb = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    return np.asarray(emb, np.float32), time.perf_counter() - w, time.process_time() - c


def cpu_header() -> None:
    import platform

    from hardneg.models.runtime import cpu_flags, int8_runtime

    model = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
                 platform.processor())
    flags = sorted(f for f in cpu_flags() if f.startswith(("avx", "amx", "fma", "f16c")) or "vnni" in f)
    print(f"cpu {model}")
    print(f"cpu_flags {' '.join(flags)}")
    print(f"cores {os.cpu_count()}")
    print(f"int8_runtime {int8_runtime() or 'missing'}")
    print(f"load_before {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1000, help="number of SciFact documents (title + text)")
    ap.add_argument("--queries", type=int, default=300, help="SciFact queries for the top-10 overlap")
    ap.add_argument("--data", type=Path, default=DATA, help="BEIR folder with corpus.jsonl and queries.jsonl")
    ap.add_argument("--model", default="minilm", help="minilm, mpnet or a local sentence-transformers folder")
    ap.add_argument("--precisions", default="bf16,fp16,onnx:int8,openvino:int8,openvino:fp32",
                    help="runs (PRECISION or BACKEND:PRECISION) to compare with torch fp32")
    ap.add_argument("--rounds", type=int, default=1, help="interleaved rounds (times are summed)")
    ap.add_argument("--batch-size", type=int, default=32, help="encode batch size")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    args = ap.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    from hardneg.models.check import top_overlap
    from hardneg.models.load import load_sentence_transformer, resolve_model
    from hardneg.models.runtime import installed

    cpu_header()
    if args.threads:
        torch.set_num_threads(args.threads)
    docs, queries = load_texts(args.data, args.docs, args.queries)
    runs = {"torch-fp32": SentenceTransformer(resolve_model(args.model), device="cpu")}
    for run in [r for r in args.precisions.split(",") if r]:
        backend, p = run.split(":") if ":" in run else ("torch", run)
        if not installed(backend):
            print(f"skip {run} ({backend} is not installed)")
            continue
        t0 = time.perf_counter()
        runs[run] = load_sentence_transformer(args.model, backend=backend, precision=p)
        print(f"load_seconds_{run} {time.perf_counter() - t0:.2f}")
    for m in runs.values():
        m.encode(docs[:args.batch_size], batch_size=args.batch_size)  # warm-up
    wall = {k: 0.0 for k in runs}
    cpu = dict(wall)
    emb, q_emb = {}, {}
    for _ in range(args.rounds):
        for k, m in runs.items():
            emb[k], w, c = timed(m, docs, args.batch_size)
            wall[k] += w
            cpu[k] += c
            q_emb[k] = timed(m, queries, args.batch_size)[0]
    print(f"docs {len(docs)}")
    print(f"queries {len(queries)}")
    ref, ref_q = emb["torch-fp32"], q_emb["torch-fp32"]
    for k in runs:
        cos = np.concatenate([np.sum(ref * emb[k], 1), np.sum(ref_q * q_emb[k], 1)])
        print(f"{k} encode_seconds {wall[k]:.2f} cpu_seconds {cpu[k]:.2f} speedup {wall['torch-fp32'] / wall[k]:.3f} "
              f"cpu_speedup {cpu['torch-fp32'] / cpu[k]:.3f} min_cosine {float(cos.min()):.6f} "
              f"top10_overlap {top_overlap(ref_q @ ref.T, q_emb[k] @ emb[k].T):.4f}")
    print(f"load_after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(json.dumps({"model": args.model, "batch_size": args.batch_size, "rounds": args.rounds,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
