"""What the pipeline's steps pass along (Context), what a front-end may hand run() (Given), and the pause
hook that lets a test kill a run at a known point."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from hardneg.pipeline.pipeline_config import PipelineConfig
from hardneg.mining import Prep
from hardneg.types import Candidates, Dataset, Selection

PAUSE = "HARDNEG_PAUSE_AT"  # test hook: `STEP` makes that step touch $HARDNEG_PAUSE_FILE and sleep at a known point


def pause(step: str) -> None:
    """Stop here when $HARDNEG_PAUSE_AT names this step (lets a test kill the run at a known point)."""
    if os.environ.get(PAUSE) == step:
        Path(os.environ["HARDNEG_PAUSE_FILE"]).touch()
        time.sleep(3600)


@dataclass
class Given:
    """What a front-end hands run() in place of steps: the retrieve and select outputs of an earlier run
    (those steps are then not run), folders for a step's files (step -> folder, default config.out) and a
    callback `on_judge(judged, total)` for validation progress. `hardneg validate RUN_DIR` uses all three."""

    candidates: Candidates | None = None
    selection: Selection | None = None
    dirs: dict[str, Path] = field(default_factory=dict)
    on_judge: Callable[[int, int], None] | None = None


@dataclass
class Context:
    """What the steps pass along: the config, the data, and each step's output."""

    cfg: PipelineConfig
    ds: Dataset
    prep: Prep
    engine: object
    given: Given = field(default_factory=Given)
    ready: list | None = None
    retrievers: list | None = None
    indexed: bool = False  # the retrievers hold the corpus (the retrieve step ran in this process)
    cands: object = None
    excluded: dict = field(default_factory=dict)
    sel: Selection | None = None
    validation: dict = field(default_factory=dict)
    exported: dict = field(default_factory=dict)
    trained: dict = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)
    result: object = None  # the ValidationResult when the validate step ran here
    depth_budget: dict | None = None  # the validation depth budget's estimate, when it searched deeper
    keys: dict = field(default_factory=dict)  # each step's done key

    @property
    def out(self) -> Path | None:
        return Path(self.cfg.out) if self.cfg.out else None

    def dir(self, step: str) -> Path | None:
        """Where a step writes its files (None: nowhere)."""
        return self.given.dirs.get(step) or self.out

    def models(self) -> list:
        if self.retrievers is None:
            self.retrievers = self.engine.retrievers(self.cfg, self.prep, self.ready)
        return self.retrievers
