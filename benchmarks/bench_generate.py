"""Throughput of the embedded generation backend vs raw xllamacpp (and transformers' GGUF loader) on the same prompts.

Usage: HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_generate.py [--docs 8] [--max-tokens 32] [--threads 2]
Prints `NAME value` lines: hardneg runs the full generate loop (prompts, checkpoints, cleaning), raw xllamacpp
answers the same chat requests directly; ratio = hardneg tokens/s / raw tokens/s (target >= 0.9).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "scifact"


def raw_xllamacpp(path: Path, prompts: list, max_tokens: int, threads: int) -> tuple[float, int, list[str]]:
    """Seconds, generated tokens and texts from xllamacpp's Server called directly."""
    import xllamacpp as xl

    p = xl.CommonParams()
    p.model.path, p.n_ctx, p.n_parallel, p.verbosity, p.warmup = str(path), 4096, 1, -1, False
    p.cpuparams.n_threads = p.cpuparams_batch.n_threads = threads
    p.cpuparams.poll = p.cpuparams_batch.poll = 0
    server = xl.Server(p)
    t0, tokens, texts = time.perf_counter(), 0, []
    for msgs in prompts:
        r = server.handle_chat_completions({"messages": msgs, "max_tokens": max_tokens, "temperature": 0.0,
                                            "seed": 0, "logprobs": True, "cache_prompt": False})
        tokens += r["usage"]["completion_tokens"]
        texts.append(r["choices"][0]["message"]["content"])
    return time.perf_counter() - t0, tokens, texts


def hardneg_loop(corpus, rows, max_tokens: int, threads: int) -> tuple[float, int, list[str]]:
    """Seconds, generated tokens and raw texts from hardneg's generate loop with the local backend."""
    from hardneg.generate.prompts import inpars
    from hardneg.generate.run import GenConfig, generate_rows
    from hardneg.llm.local import LocalLLM

    llm = LocalLLM("smollm2", threads=threads)
    sub = corpus.subset(rows)
    cfg = GenConfig(backend="local", prompt="inpars", max_tokens=max_tokens, checkpoint_every=4)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        out, stats = generate_rows(sub, llm, inpars, cfg, Path(tmp))
        dt = time.perf_counter() - t0
    return dt, stats.new_tokens, [r["raw"] for r in out]


def transformers_gguf(path: Path, prompts: list, max_tokens: int, threads: int) -> tuple[float, int, float]:
    """Seconds and generated tokens with transformers' GGUF loader (dequantised to float32 torch), plus load time."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name).eval()
    load = time.perf_counter() - t0
    t0, tokens = time.perf_counter(), 0
    for msgs in prompts:
        ids = tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        with torch.inference_mode():
            out = model.generate(**ids, max_new_tokens=max_tokens, do_sample=False, pad_token_id=tok.eos_token_id)
        new = out[0, ids["input_ids"].shape[1]:]
        tokens += int((new != tok.eos_token_id).sum())
    return time.perf_counter() - t0, tokens, load


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2, help="alternate raw/hardneg this many times; best of each")
    ap.add_argument("--skip-transformers", action="store_true")
    a = ap.parse_args()

    from hardneg.data.beir import read_corpus
    from hardneg.generate.prompts import inpars
    from hardneg.llm.local import resolve_gguf

    corpus = read_corpus(SCIFACT / "corpus.jsonl")
    rows = list(range(a.docs))
    prompts = [inpars(corpus.titles[r], corpus.texts[r]) for r in rows]
    path = resolve_gguf("smollm2")
    best_raw = best_ours = None
    for _ in range(a.rounds):
        raw = raw_xllamacpp(path, prompts, a.max_tokens, a.threads)
        ours = hardneg_loop(corpus, rows, a.max_tokens, a.threads)
        assert raw[2] == ours[2], "hardneg and raw xllamacpp generated different text"
        best_raw = raw if best_raw is None or raw[0] < best_raw[0] else best_raw
        best_ours = ours if best_ours is None or ours[0] < best_ours[0] else best_ours
    n = len(prompts)
    print(f"docs {n}")
    print(f"threads {a.threads}")
    print(f"raw_xllamacpp_tokens_per_s {best_raw[1] / best_raw[0]:.2f}")
    print(f"raw_xllamacpp_queries_per_s {n / best_raw[0]:.3f}")
    print(f"hardneg_local_tokens_per_s {best_ours[1] / best_ours[0]:.2f}")
    print(f"hardneg_local_queries_per_s {n / best_ours[0]:.3f}")
    print(f"generated_tokens {best_ours[1]}")
    print(f"ratio_hardneg_vs_raw_xllamacpp {(best_ours[1] / best_ours[0]) / (best_raw[1] / best_raw[0]):.3f}")
    if not a.skip_transformers:
        dt, tokens, load = transformers_gguf(path, prompts, a.max_tokens, a.threads)
        print(f"transformers_gguf_load_s {load:.1f}")
        print(f"transformers_gguf_tokens_per_s {tokens / dt:.2f}")
        print(f"ratio_xllamacpp_vs_transformers_gguf {(best_raw[1] / best_raw[0]) / (tokens / dt):.2f}")


if __name__ == "__main__":
    main()
