"""The Ray engine: the mine pipeline on a cluster, with the same results as the single-process engine."""

from hardneg.scale.engine import RayOptions, mine_ray

__all__ = ["RayOptions", "mine_ray"]
