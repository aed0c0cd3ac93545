"""mine_ray: the pipeline (hardneg.pipeline.run) on the Ray engine."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hardneg.scale.engine import RayOptions
from hardneg.types import Dataset


def mine_ray(dataset: Dataset, config, opts: RayOptions | None = None, corpus_source: str | None = None,
             progress=None):
    """hardneg.pipeline.run on a Ray cluster (exact search) for a PipelineConfig; returns the MineResult.

    corpus_source: the corpus file/folder to shard (streamed), else the dataset's corpus is sharded.
    With config.out the run folder resumes like any pipeline run.
    """
    from hardneg.checks import check_ray
    from hardneg.pipeline.runner import run
    from hardneg.pipeline.runs import pipeline_plan
    from hardneg.scale.engine import RayEngine

    check_ray(config.retrieve)
    cfg = replace(config, retrieve=replace(config.retrieve, engine="ray"))
    eng = RayEngine(opts, (opts and opts.work_dir) or (Path(cfg.out) / "ray" if cfg.out else "hardneg-ray"),
                    corpus_source)
    planned = pipeline_plan(cfg, check_data=False) if cfg.out else ("", "new")
    return run(cfg, dataset, progress=progress, planned=planned, engine=eng)
