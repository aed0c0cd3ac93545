"""The Ray engine: the pipeline on a cluster (judges as actors), with the same results as the single-process engine."""

from hardneg.scale.engine import RayOptions
from hardneg.scale.mine import mine_ray

__all__ = ["RayOptions", "mine_ray"]
