"""The up-front plan of a mine run: every option checked, the run's fingerprint, and what to do with --out."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from hardneg.checks import check_mine
from hardneg.pipeline.config import MineConfig
from hardneg.rundir import fingerprint, plan


def mine_settings(cfg: MineConfig, source: dict, judges: Sequence[str] = (), rules: Sequence[str] = (),
                  combine: str = "any", engine: str = "single") -> dict:
    """What makes two runs the same run: the config (less out and display) plus data, validation and engine."""
    d = {k: v for k, v in cfg.to_dict().items() if k not in ("out", "show_progress")}
    data = source.get("data")
    if data and Path(data).exists():
        source = {**source, "data": str(Path(data).resolve())}
    return {**d, **source, "judges": list(judges), "rules": list(rules), "combine": combine, "engine": engine}


def mine_plan(cfg: MineConfig, source: dict, judges: Sequence[str] = (), rules: Sequence[str] = (),
              combine: str = "any", engine: str = "single", fusion_given: bool = False,
              overwrite: bool = False) -> tuple[str, str]:
    """Check everything (OptionError/DataError, nothing created); returns (fingerprint, 'new'|'resume'|'overwrite')."""
    from hardneg.data.load import source_kind

    check_mine(cfg, judges, rules, combine, engine, fusion_given)
    if source.get("data"):
        source_kind(source["data"])  # a missing file or folder, named
    fp = fingerprint(mine_settings(cfg, source, judges, rules, combine, engine))
    return fp, plan(cfg.out, fp, overwrite)
