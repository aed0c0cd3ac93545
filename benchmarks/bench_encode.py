"""Encoding speed of each runtime against sentence-transformers' own torch encode, on SciFact documents.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_encode.py --docs 1000 --backend openvino

Prints `NAME value` lines: encode_seconds_torch (plain SentenceTransformer.encode, the reference),
encode_seconds_<backend> (hardneg's loader, cache bypassed), cpu_seconds_* (process CPU time, which a
busy shared machine disturbs less than wall time), speedup (torch / backend, wall), cpu_speedup and
min_cosine (lowest cosine between the two embeddings of one document).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "scifact"


def load_docs(path: Path, n: int) -> list[str]:
    from hardneg.data.beir import read_corpus
    from hardneg.data.jsonl import find

    corpus = read_corpus(find(path / "corpus.jsonl"))
    return corpus.full_texts()[:n]


def timed(model, docs: list[str], batch_size: int) -> tuple[np.ndarray, float, float]:
    model.encode(docs[:batch_size], batch_size=batch_size)  # warm-up
    w, c = time.perf_counter(), time.process_time()
    emb = model.encode(docs, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    return np.asarray(emb, np.float32), time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1000, help="number of SciFact documents (title + text)")
    ap.add_argument("--data", type=Path, default=DATA, help="BEIR folder with corpus.jsonl")
    ap.add_argument("--model", default="minilm", help="minilm, mpnet or a local sentence-transformers folder")
    ap.add_argument("--backend", default=None, help="runtime to compare with torch (default: fastest installed)")
    ap.add_argument("--batch-size", type=int, default=32, help="encode batch size")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    args = ap.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    from hardneg.retrieve.models import load_sentence_transformer, resolve_model
    from hardneg.retrieve.runtime import best_backend

    if args.threads:
        torch.set_num_threads(args.threads)
    docs = load_docs(args.data, args.docs)
    backend = args.backend or best_backend()
    ref_model = SentenceTransformer(resolve_model(args.model), device="cpu")
    ref, t_ref, c_ref = timed(ref_model, docs, args.batch_size)
    print(f"docs {len(docs)}")
    print(f"encode_seconds_torch {t_ref:.2f}")
    print(f"cpu_seconds_torch {c_ref:.2f}")
    if backend == "torch":
        print("speedup 1.000 (backend is torch)")
        return
    t0 = time.perf_counter()
    model = load_sentence_transformer(args.model, backend=backend)
    print(f"load_seconds_{backend} {time.perf_counter() - t0:.2f}")
    emb, t_b, c_b = timed(model, docs, args.batch_size)
    print(f"encode_seconds_{backend} {t_b:.2f}")
    print(f"cpu_seconds_{backend} {c_b:.2f}")
    print(f"speedup {t_ref / t_b:.3f}")
    print(f"cpu_speedup {c_ref / c_b:.3f}")
    print(f"min_cosine {float(np.min(np.sum(ref * emb, axis=1))):.8f}")
    print(json.dumps({"backend": backend, "model": args.model, "batch_size": args.batch_size}))


if __name__ == "__main__":
    main()
