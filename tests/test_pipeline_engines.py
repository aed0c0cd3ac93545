"""The engine contract: one config gives the same files on the single-process and the Ray engine."""

from __future__ import annotations

import json
from pathlib import Path

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
                       "validate": {"judges": ["dup:jaccard:0.6"]},
                       "export": {"formats": ["flag", "triplet"]}, "out": str(outs[engine])}))
    a, b = _files(outs["single"]), _files(outs["ray"])
    assert {"flag.jsonl", "triplet.parquet", "candidates.npz", "validation/audit.parquet"} <= set(a)
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []
    s = json.loads((outs["ray"] / "summary.json").read_text())
    assert s["engine"]["name"] == "ray" and s["engine"]["shards"] >= 1 and s["validation"]["judged"] > 0
    assert (outs["ray"] / "ray" / "selected").is_dir()  # selection ran as Ray tasks
    assert json.loads((outs["single"] / "summary.json").read_text())["negatives"] == s["negatives"] > 0
