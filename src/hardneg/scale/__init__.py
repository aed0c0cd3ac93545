"""The Ray engine: the pipeline's steps on a cluster (judges as actors), with the same results as the
single-process engine. Run it with `hardneg mine --engine ray`, `retrieve.engine: ray` in a config, or
hardneg.api.mine_ray."""

from hardneg.scale.engine import RayOptions

__all__ = ["RayOptions"]
