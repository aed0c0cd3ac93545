"""run() on a loaded dataset, configured by flat option names (hardneg.pipeline.pipeline_config.FLAT)."""

from __future__ import annotations

from hardneg.pipeline import from_dict, nest, run


def config(**flat):
    return from_dict(nest(flat))


def mine(ds, judges=(), **flat):
    """The pipeline on `ds`; `judges`: ready judge objects, validating beside any `judges=` specs in flat."""
    if judges:
        flat["judges"] = list(flat.get("judges", [])) + list(judges)
    return run(config(**flat), ds)
