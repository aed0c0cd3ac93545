"""The engine contract: one config gives the same exports, audit and selections on the single-process and the
Ray engine (bm25 + dense RRF, topk-percpos, a teacher and a dup judge, flag and triplet exports)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from hardneg.pipeline.pipeline_config import from_dict  # noqa: E402
from hardneg.pipeline.runner import run  # noqa: E402

from conftest import scifact_slice  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One local Ray cluster for the module. Both engines share one embedding cache, so the dense vectors are
    the same bits and any difference in the files comes from the engines themselves."""
    from hardneg.scale.cluster import connect

    cache = str(tmp_path_factory.mktemp("cache"))
    if ray.is_initialized():
        ray.shutdown()
    connect("local", num_cpus=2, object_store_mb=80, env_vars={"HARDNEG_CACHE": cache})
    yield cache
    ray.shutdown()


def _files(out: Path) -> dict[str, bytes]:
    skip = {"summary.json", "config.yaml", ".hardneg-run.json"}
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name not in skip and p.suffix != ".done" and p.relative_to(out).parts[0] != "ray"}


def test_single_and_ray_engines_write_the_same_files(cluster, scifact_dir, minilm_path, tmp_path, monkeypatch):
    monkeypatch.setenv("HARDNEG_CACHE", cluster)  # the driver and the workers share it
    data = scifact_slice(scifact_dir, tmp_path / "slice")
    outs = {}
    for engine in ("single", "ray"):
        outs[engine] = tmp_path / engine
        run(from_dict({"data": {"path": str(data)},
                       "retrieve": {"retrievers": ["bm25", f"dense:{minilm_path}"], "fusion": "rrf",
                                    "engine": engine},
                       "select": {"strategy": "topk-percpos:0.95", "num_negatives": 4, "seed": 3},
                       "validate": {"judges": [f"teacher:{minilm_path}", "dup:jaccard:0.6"]},
                       "export": {"formats": ["flag", "triplet"]}, "out": str(outs[engine])}))
    a, b = _files(outs["single"]), _files(outs["ray"])
    assert {"flag.jsonl", "triplet.parquet", "candidates.npz", "validation/audit.parquet"} <= set(a)
    assert a.keys() == b.keys()
    arrays = {"candidates.npz", "steps/select.npz"}
    assert [k for k in a if a[k] != b[k] and k not in arrays] == []  # exports, audit, validated selection
    for name in arrays:  # every array equal, but the dense cosines: a sharded matmul sums in another order
        x, y = np.load(outs["single"] / name), np.load(outs["ray"] / name)
        assert x.files == y.files
        for k in x.files:
            if k.startswith("rscore::dense:"):
                np.testing.assert_allclose(x[k], y[k], atol=1e-6)
            else:
                np.testing.assert_array_equal(x[k], y[k])
    s = json.loads((outs["ray"] / "summary.json").read_text())
    assert s["engine"]["name"] == "ray" and s["engine"]["shards"] >= 1 and s["validation"]["judged"] > 0
    assert s["engine"]["judge_actors"] == 2  # the teacher and the dup judge ran in Ray actors
    assert (outs["ray"] / "ray" / "selected").is_dir()  # selection ran as Ray tasks
    assert json.loads((outs["single"] / "summary.json").read_text())["negatives"] == s["negatives"] > 0


def test_bm25_query_blocks_on_ray_equal_single_search(cluster, tiny_beir):
    from hardneg.data.beir import load_beir
    from hardneg.retrieve.bm25 import BM25Retriever
    from hardneg.scale.bm25 import RayBM25

    ds = load_beir(tiny_beir, "train")
    one = BM25Retriever()
    one.index(ds.corpus)
    blocks = RayBM25(BM25Retriever(), block_rows=4)  # 6 queries: 2 blocks
    blocks.index(ds.corpus)
    a, b = one.search(ds.queries, 12), blocks.search(ds.queries, 12)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert b.name == "bm25" and b.query_ids == a.query_ids


def test_cli_mine_on_ray_with_a_teacher_judge_writes_the_audit(cluster, scifact_dir, tmp_path, monkeypatch):
    """`hardneg mine --engine ray --judge teacher:minilm` on a SciFact slice: the judge runs in a Ray actor and
    the audit is written (the Ray engine once skipped validation silently)."""
    from typer.testing import CliRunner

    from hardneg.cli import app

    monkeypatch.setenv("HARDNEG_CACHE", cluster)
    data, out = scifact_slice(scifact_dir, tmp_path / "slice", n_queries=20, n_docs=100), tmp_path / "run"
    r = CliRunner().invoke(app, ["mine", "--data", str(data), "--engine", "ray", "-r", "bm25", "-n", "3",
                                 "--judge", "teacher:minilm", "-f", "flag", "--out", str(out)])
    assert r.exit_code == 0, r.output
    audit = [json.loads(x) for x in (out / "validation" / "audit.jsonl").read_text().splitlines()]
    s = json.loads((out / "summary.json").read_text())
    assert s["engine"]["name"] == "ray" and s["engine"]["judge_actors"] == 1
    assert s["validation"]["judged"] > 0 and len(audit) == s["validation"]["dropped"]
    assert set(json.loads((out / "validation" / "summary.json").read_text())["rules"]) == {"teacher"}
