"""Validation judges on Ray: one actor per judge loads its model once (one GPU each where the cluster has GPUs)
and scores the pairs the driver's validate() sends it; the scores are the judge's own, so results equal the
single-process engine's."""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import ray

from hardneg.validate.spec import JudgeSpec


@ray.remote(max_restarts=3, max_task_retries=3)
class JudgeActor:
    """Holds one judge (hardneg.validate.judges.make_judge) in a worker; env: the driver's cache and precision."""

    def __init__(self, spec: JudgeSpec, name: str, options: dict, env: dict[str, str]):
        from hardneg.scale.search import crash_once
        from hardneg.validate.judges import make_judge

        os.environ.update(env)
        crash_once("judge")
        self.judge = make_judge(spec, name=name, **options)

    def info(self) -> dict:
        j = self.judge
        return {"units": j.units, "compares": j.compares, "threshold": getattr(j, "threshold", None)}

    def score_pairs(self, anchors: list[str], docs: list[str]) -> np.ndarray:
        return np.asarray(self.judge.score_pairs(anchors, docs), dtype=np.float32)

    def malformed(self) -> int:
        return int(getattr(self.judge, "malformed", 0))


class RayJudge:
    """A judge whose model lives in a Ray actor: same contract as hardneg.validate.judges.Judge (score_pairs,
    name, units, compares), plus `spec` so validate() applies the spec's default rule and cascade cost."""

    def __init__(self, spec: JudgeSpec, name: str, options: dict | None = None, gpus: float = 0.0):
        env = {k: os.environ[k] for k in ("HARDNEG_CACHE", "HARDNEG_PRECISION", "HF_HUB_OFFLINE") if k in os.environ}
        self.spec, self.name = spec, name
        self.actor = JudgeActor.options(num_gpus=gpus).remote(spec, name, options or {}, env)
        info = ray.get(self.actor.info.remote())  # the model loads here, once
        self.units, self.compares = info["units"], info["compares"]
        if info["threshold"] is not None:
            self.threshold = info["threshold"]

    def score_pairs(self, anchors: list[str], docs: list[str]) -> np.ndarray:
        """float32 [n] the judge's scores of (anchors[i], docs[i]), computed in its actor."""
        return ray.get(self.actor.score_pairs.remote(list(anchors), list(docs)))

    @property
    def malformed(self) -> int:
        return ray.get(self.actor.malformed.remote())

    def close(self) -> None:
        ray.kill(self.actor)


def ray_judges(specs: Sequence[JudgeSpec], options: dict | None = None, gpus: float | None = None) -> list[RayJudge]:
    """One RayJudge per spec, named as validate() names them (teacher, teacher_2); `options`: kind -> kwargs.
    gpus: per model judge (None: 1 when the cluster has GPUs, else 0); dup and llm:openai judges take none."""
    from hardneg.scale.cluster import num_gpus
    from hardneg.validate.core import judge_names

    g = gpus if gpus is not None else (1.0 if num_gpus() else 0.0)
    return [RayJudge(s, name, (options or {}).get(s.kind, {}), 0.0 if s.kind == "dup" or s.method == "openai" else g)
            for s, name in zip(specs, judge_names(specs))]
