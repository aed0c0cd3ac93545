"""The up-front plan of a run: the run's fingerprint, and what to do with its out folder."""

from __future__ import annotations

from pathlib import Path

from hardneg.io import fingerprint
from hardneg.rundir import plan


def settings(cfg) -> dict:
    """What makes two runs the same run: the mining sections (the data path resolved), less the review file
    (new labels redo validation in the same folder) and the run folder itself."""
    d = cfg.to_dict()
    data = dict(d["data"])
    if data["path"] and Path(data["path"]).exists():
        data["path"] = str(Path(data["path"]).resolve())
    v = {k: x for k, x in d["validate"].items() if k != "review"}
    return {"data": data, "retrieve": d["retrieve"], "select": d["select"], "validate": v, "export": d["export"]}


def pipeline_plan(cfg, overwrite: bool = False, check_data: bool = True) -> tuple[str, str]:
    """(fingerprint, 'new'|'resume'|'overwrite') of a checked PipelineConfig; nothing is created.

    check_data=False when the caller passes a loaded dataset (data.path then only names it).
    """
    from hardneg.data.load import source_kind

    if check_data and cfg.data.path:
        source_kind(cfg.data.path)  # a missing file or folder, named
    fp = fingerprint(settings(cfg))
    return fp, plan(cfg.out, fp, overwrite) if cfg.out else "new"
