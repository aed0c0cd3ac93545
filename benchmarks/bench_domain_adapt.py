"""GPL-style unlabelled domain adaptation on SciFact: generate queries for a corpus sample, filter, mine, train MiniLM.

No SciFact labels are used for training; the test split only scores zero-shot vs adapted all-MiniLM-L6-v2.
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_domain_adapt.py [--sample 200] [--backend local]
        [--backend openai:http://127.0.0.1:8000/v1:MODEL]  # a bigger model behind any OpenAI-compatible server
        [--serve gemma]  # start xllamacpp's OpenAI-compatible server on 127.0.0.1 and generate through HTTP
Prints `NAME value` lines: zero-shot and adapted test nDCG@10 and their ratio. Generation resumes from --out.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "datasets" / "scifact"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(SCIFACT))
    ap.add_argument("--backend", default="local")
    ap.add_argument("--prompt", default="inpars")
    ap.add_argument("--sample", type=int, default=200, help="corpus documents to generate queries for")
    ap.add_argument("--per-doc", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="local backend threads (0 = all cores)")
    ap.add_argument("--filters", default="length:3:40,dedupe,copy:6,roundtrip:20:bm25")
    ap.add_argument("--negatives", type=int, default=3)
    ap.add_argument("--epochs", type=float, default=3.0)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--max-seq-length", type=int, default=128, help="training inputs cut to this many tokens")
    ap.add_argument("--out", default="runs/domain_adapt")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--serve", default="", help="serve this local GGUF (smollm2, gemma, PATH) over HTTP on "
                    "127.0.0.1 and use it as --backend openai:URL (the path a bigger served model takes)")
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    from hardneg.data.beir import load_beir
    from hardneg.evaluate.benchmark import eval_retrievers
    from hardneg.generate.core import generate_dataset
    from hardneg.generate.filters import parse_filter
    from hardneg.generate.prompts import make_prompt
    from hardneg.generate.run import GenConfig
    from hardneg.llm import make_llm, parse_llm_spec
    from hardneg.pipeline import from_dict, run
    from hardneg.train.data import groups_from_mined
    from hardneg.train.trainer import TrainConfig, train_bi_encoder

    out = Path(a.out)
    served = []  # the server lives while generation runs
    if a.serve:
        from hardneg.llm.local import serve_http

        server, url = serve_http(a.serve, threads=a.threads or os.cpu_count() or 1)
        served.append(server)
        a.backend = f"openai:{url}"
    spec = parse_llm_spec(a.backend)
    opts = {"threads": a.threads or None} if spec.kind == "local" else {}
    t0 = time.perf_counter()
    llm = make_llm(spec, **opts)
    temp = 0.0 if a.per_doc == 1 else 0.8
    cfg = GenConfig(backend=a.backend, prompt=a.prompt, per_doc=a.per_doc, sample=a.sample, seed=a.seed,
                    max_tokens=48, temperature=temp, checkpoint_every=16)
    filters = [parse_filter(f) for f in a.filters.split(",") if f]
    gen = generate_dataset(a.data, llm, make_prompt(a.prompt), cfg, out / "generated", filters)
    gen_s = time.perf_counter() - t0
    served.clear()  # frees the served model's memory and threads before training
    for c in gen.counts:
        print(f"kept[{c.label}] {c.kept}/{c.seen}")

    ds = load_beir(out / "generated", "train")
    res = run(from_dict({"select": {"num_negatives": a.negatives, "seed": a.seed}, "out": str(out / "mined")}), ds)
    groups = groups_from_mined(res.mined)
    tr = train_bi_encoder(groups, TrainConfig(model="minilm", loss="mnrl", epochs=a.epochs, batch_size=32,
                                              learning_rate=a.lr, max_seq_length=a.max_seq_length, seed=a.seed),
                          out / "model")
    test = load_beir(a.data, "test")
    rows = eval_retrievers(test, ["dense:minilm", f"dense:{tr.path}"], metrics=["ndcg@10"])
    zero, adapted = rows[0]["ndcg@10"], rows[1]["ndcg@10"]
    print(f"backend {a.backend}")
    print(f"documents {gen.stats.documents}")
    print(f"queries_generated {gen.stats.generated}")
    print(f"queries_kept {gen.kept}")
    print(f"generate_s {gen_s:.1f}")
    print(f"train_rows {tr.rows}")
    print(f"train_s {tr.seconds:.1f}")
    print(f"ndcg@10[zero-shot minilm] {zero:.4f}")
    print(f"ndcg@10[adapted minilm] {adapted:.4f}")
    print(f"delta_ndcg@10_points {100 * (adapted - zero):+.2f}")
    print(f"ratio_adapted_vs_zero_shot {adapted / zero:.4f}")


if __name__ == "__main__":
    main()
