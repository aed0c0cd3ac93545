"""mine_ray: the pipeline (hardneg.pipeline.run) on the Ray engine for a MineConfig, as hardneg.pipeline.mine
runs it in this process."""

from __future__ import annotations

from pathlib import Path

from hardneg.scale.engine import RayOptions
from hardneg.types import Dataset


def mine_ray(dataset: Dataset, config, opts: RayOptions | None = None, corpus_source: str | None = None,
             progress=None):
    """hardneg.pipeline.run on a Ray cluster (exact search) for a MineConfig; returns the MineResult.

    corpus_source: the corpus file/folder to shard (streamed), else the dataset's corpus is sharded.
    With config.out the run folder resumes like any pipeline run.
    """
    from hardneg.checks import check_ray
    from hardneg.pipeline.pipeline_config import flags_dict, from_dict
    from hardneg.pipeline.runner import run
    from hardneg.pipeline.runs import pipeline_plan
    from hardneg.scale.engine import RayEngine

    check_ray(config)
    cfg = from_dict(flags_dict(config, {"data": dataset.name}, engine="ray"))
    cfg.show_progress = config.show_progress
    eng = RayEngine(opts, (opts and opts.work_dir) or (Path(cfg.out) / "ray" if cfg.out else "hardneg-ray"),
                    corpus_source)
    planned = pipeline_plan(cfg, check_data=False) if cfg.out else ("", "new")
    return run(cfg, dataset, progress=progress, planned=planned, engine=eng)
