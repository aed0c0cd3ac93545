"""The Ray engine on a local 2-CPU cluster started here: sharded top-k, parity with mine(), worker kills, resume."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from hardneg.data.beir import load_beir  # noqa: E402
from _pipeline_helpers import config, mine  # noqa: E402
from hardneg.retrieve.topk import exact_topk  # noqa: E402
from hardneg.scale.engine import RayOptions  # noqa: E402
from hardneg.api import mine_ray  # noqa: E402
from hardneg.scale.search import CRASH_ENV, EmbShard, load_blocks, search_sharded  # noqa: E402
from hardneg.io import write_npy  # noqa: E402


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One local Ray cluster for the module; CRASH_ENV points workers at a folder the tests arm."""
    from hardneg.scale.cluster import connect

    crash = tmp_path_factory.mktemp("crash")
    if ray.is_initialized():
        ray.shutdown()
    connect("local", num_cpus=2, object_store_mb=80, env_vars={CRASH_ENV: str(crash)})
    yield crash
    ray.shutdown()


def same_up_to_ties(rows_a, sc_a, rows_b, sc_b, tol=1e-5):
    """Scores agree at every rank; rows differ only where two candidates' scores tie within tol."""
    np.testing.assert_allclose(np.nan_to_num(sc_a, neginf=-9), np.nan_to_num(sc_b, neginf=-9), atol=tol)
    for q in range(rows_a.shape[0]):
        for j in np.nonzero(rows_a[q] != rows_b[q])[0]:
            near = np.abs(sc_a[q] - sc_a[q, j]) <= tol
            assert near.sum() > 1, f"query {q} rank {j}: {rows_a[q, j]} vs {rows_b[q, j]} without a tie"
            assert rows_b[q, j] in set(rows_a[q][near]) | set(rows_b[q][near])


def _shards(tmp: Path, d: np.ndarray, sizes: list[int]) -> list[EmbShard]:
    out, start = [], 0
    for i, n in enumerate(sizes):
        p = tmp / f"s{i}.npy"
        write_npy(p, d[start:start + n])
        out.append(EmbShard(str(p), start, n))
        start += n
    return out


def test_sharded_topk_equals_exact(cluster, tmp_path):
    rng = np.random.default_rng(0)
    d = rng.standard_normal((1000, 16)).astype(np.float32)
    q = rng.standard_normal((70, 16)).astype(np.float32)
    shards = _shards(tmp_path, d, [300, 300, 397, 3])  # one shard smaller than k
    paths = search_sharded(q, shards, 10, tmp_path / "topk", block_rows=32, q_chunk=16, d_chunk=128)
    assert len(paths) == 3
    idx, sc = load_blocks(paths)
    ref_i, ref_s = exact_topk(q, d, 10)
    np.testing.assert_array_equal(idx, ref_i)
    np.testing.assert_allclose(sc, ref_s, rtol=1e-6, atol=1e-6)
    # k larger than the corpus pads with -1 / -inf like exact_topk
    idx2, sc2 = load_blocks(search_sharded(q[:5], shards[-1:], 5, tmp_path / "small"))
    assert (idx2[:, 3:] == -1).all() and np.isneginf(sc2[:, 3:]).all()


def _cfg(bert: Path, out: Path, **kw) -> dict:
    kw.setdefault("num_negatives", 3)
    return dict(retrievers=[f"dense:{bert}"], seed=7, out=str(out), formats=["triplet", "flag"], **kw)


OPTS = dict(num_cpus=2, shard_rows=5, block_rows=4, concurrency=1)


@pytest.fixture(scope="module")
def runs(cluster, tiny_bert, tmp_path_factory, monkeypatch_module):
    """mine() and mine_ray() on tiny_beir with one shared embedding cache (12 docs: 3 shards; 6 queries: 2 blocks)."""
    from conftest import write_tiny_beir

    tmp = tmp_path_factory.mktemp("runs")
    monkeypatch_module.setenv("HARDNEG_CACHE", str(tmp / "cache"))
    ds = load_beir(write_tiny_beir(tmp / "tiny"), "train")
    single = mine(ds, **_cfg(tiny_bert, tmp / "single"))
    res = mine_ray(ds, config(**_cfg(tiny_bert, tmp / "ray")), RayOptions(work_dir=str(tmp / "work"), **OPTS))
    return ds, single, res, tmp


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_ray_mine_matches_single_process(runs):
    _, single, res, tmp = runs
    assert res.summary["engine"]["shards"] == 3
    a, b = single.candidates, res.candidates
    assert a.query_ids == b.query_ids
    # the random tiny BERT puts many documents within 1e-6 of each other: order may differ only inside such ties
    same_up_to_ties(a.rows, a.scores, b.rows, b.scores)
    np.testing.assert_allclose(a.pos_scores, b.pos_scores, atol=1e-5)
    same_up_to_ties(single.selection.rows, single.selection.scores, res.selection.rows, res.selection.scores)
    np.testing.assert_array_equal(single.selection.keep, res.selection.keep)
    assert single.summary["negatives"] == res.summary["negatives"] > 0
    assert len(sorted((tmp / "work" / "selected").glob("selected-*.parquet"))) == 2
    assert len(sorted((tmp / "work" / "emb").glob("corpus-*.npy"))) == 3


def _arm(cluster, tags):
    for tag in tags:
        (cluster / f"arm-{tag}").touch()


def _disarm(cluster, tags):
    for tag in tags:
        (cluster / f"arm-{tag}").unlink()


def test_worker_killed_mid_run_gives_identical_output(cluster, runs, tiny_bert, tmp_path):
    import shutil

    ds, _, clean, tmp = runs
    work = tmp / "work"  # keep the embeddings; search and selection run again and each loses a worker
    shutil.rmtree(work / "topk")
    shutil.rmtree(work / "selected")
    _arm(cluster, ("search", "select"))
    try:
        hit = mine_ray(ds, config(**_cfg(tiny_bert, tmp_path / "hit")), RayOptions(work_dir=str(work), **OPTS))
    finally:
        _disarm(cluster, ("search", "select"))
    assert sorted(p.name for p in cluster.glob("crashed-*")) == ["crashed-search", "crashed-select"]
    np.testing.assert_array_equal(clean.selection.rows, hit.selection.rows)
    np.testing.assert_array_equal(clean.selection.scores, hit.selection.scores)
    for f in ("flag.jsonl", "triplet.parquet"):
        assert filecmp.cmp(tmp / "ray" / f, tmp_path / "hit" / f, shallow=False), f

    # resume: drop one finished block of each stage; only those are redone and the output is unchanged
    keep = work / "topk" / "topk-00000.npz"
    before = keep.stat().st_mtime_ns
    for p in (work / "topk" / "topk-00001.npz.done", work / "selected" / "selected-00001.parquet.done"):
        p.unlink()
    again = mine_ray(ds, config(**_cfg(tiny_bert, tmp_path / "again")), RayOptions(work_dir=str(work), **OPTS))
    assert keep.stat().st_mtime_ns == before
    assert (work / "topk" / "topk-00001.npz.done").exists()
    np.testing.assert_array_equal(again.selection.rows, hit.selection.rows)
    assert filecmp.cmp(tmp_path / "hit" / "flag.jsonl", tmp_path / "again" / "flag.jsonl", shallow=False)
    assert json.loads((tmp_path / "again" / "summary.json").read_text())["negatives"] == hit.summary["negatives"]


@pytest.mark.integration
def test_encoding_actor_killed_gives_identical_output(cluster, runs, tiny_bert, tmp_path, monkeypatch):
    """A fresh cache and work dir: Ray Data restarts the killed model actor and retries its shard."""
    ds, _, clean, tmp = runs
    monkeypatch.setenv("HARDNEG_CACHE", str(tmp_path / "cache"))
    _arm(cluster, ("encode",))
    try:
        hit = mine_ray(ds, config(**_cfg(tiny_bert, tmp_path / "hit")), RayOptions(work_dir=str(tmp_path / "w"), **OPTS))
    finally:
        _disarm(cluster, ("encode",))
    assert (cluster / "crashed-encode").exists()
    np.testing.assert_array_equal(clean.selection.rows, hit.selection.rows)
    assert filecmp.cmp(tmp / "ray" / "flag.jsonl", tmp_path / "hit" / "flag.jsonl", shallow=False)


@pytest.mark.integration
def test_scifact_slice_parity_with_minilm(cluster, scifact_dir, minilm_path, tmp_path):
    """200 SciFact documents (the positives of 40 train queries plus others), MiniLM, strategy range:2-30:random."""
    from conftest import scifact_slice

    root = scifact_slice(scifact_dir, tmp_path / "slice")
    ds = load_beir(root, "train")
    kw = dict(strategy="range:2-30:random", num_negatives=4)
    single = mine(ds, **_cfg(minilm_path, tmp_path / "single", **kw))
    res = mine_ray(ds, config(**_cfg(minilm_path, tmp_path / "ray", **kw)), corpus_source=str(root),
                   opts=RayOptions(work_dir=str(tmp_path / "work"), num_cpus=2, shard_rows=50, block_rows=16,
                                   concurrency=1))
    assert res.summary["engine"]["shards"] == 4
    same_up_to_ties(single.candidates.rows, single.candidates.scores, res.candidates.rows, res.candidates.scores)
    np.testing.assert_array_equal(single.selection.rows, res.selection.rows)  # same negatives
    np.testing.assert_allclose(single.selection.scores, res.selection.scores, atol=1e-6)
    assert single.summary["negatives"] == res.summary["negatives"] == 160


@pytest.mark.integration  # about 40 s on 2 cores: a real Ray run through the CLI
def test_cli_ray_engine_runs_the_judges(cluster, tiny_bert, tiny_beir, tmp_path):
    """`mine --engine ray --judge ...` validates (it used to skip the judges silently) and writes the audit."""
    from typer.testing import CliRunner

    from hardneg.cli import app

    out = tmp_path / "run"
    r = CliRunner().invoke(app, ["mine", "--data", str(tiny_beir), "--engine", "ray", "-r", f"dense:{tiny_bert}",
                                 "-n", "2", "--judge", "dup:exact", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert (out / "validation" / "audit.jsonl").exists() and (out / "candidates.npz").exists()
    s = json.loads((out / "summary.json").read_text())
    assert s["engine"]["name"] == "ray" and s["validation"]["judged"] > 0


def _judged(ds, out: Path, work: Path):
    """A pipeline run on the Ray engine with a dup judge (its Ray actor) into `out`."""
    from hardneg.pipeline.pipeline_config import from_dict
    from hardneg.pipeline.runner import run
    from hardneg.pipeline.runs import pipeline_plan
    from hardneg.scale.engine import RayEngine

    cfg = from_dict({"data": {"path": ds.name}, "retrieve": {"retrievers": ["bm25"], "engine": "ray"},
                     "select": {"num_negatives": 2}, "validate": {"judges": ["dup:jaccard:0.3:1"]},
                     "export": {"formats": ["flag"]}, "out": str(out)})
    return run(cfg, ds, planned=pipeline_plan(cfg, check_data=False), engine=RayEngine(RayOptions(**OPTS), work))


def test_judge_actor_killed_is_restarted_with_the_same_output(cluster, runs, tmp_path):
    ds = runs[0]
    clean = _judged(ds, tmp_path / "clean", tmp_path / "w1")
    _arm(cluster, ("judge",))
    try:
        hit = _judged(ds, tmp_path / "hit", tmp_path / "w2")
    finally:
        _disarm(cluster, ("judge",))
    assert (cluster / "crashed-judge").exists()
    assert hit.summary["engine"]["judge_actors"] == 1 and hit.validation["judged"] > 0
    for f in ("flag.jsonl", "validation/audit.jsonl"):
        assert filecmp.cmp(tmp_path / "clean" / f, tmp_path / "hit" / f, shallow=False), f
    assert clean.validation == hit.validation
