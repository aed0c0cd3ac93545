"""The pipeline: one typed config (PipelineConfig) run step by step by run(config).

run: retrieve -> select -> validate (with judges) -> export -> train -> evaluate (with their sections).
mine(dataset, MineConfig) is the in-memory mining core the steps share.
"""

from hardneg.pipeline.config import MineConfig
from hardneg.pipeline.mine import MineResult, mine
from hardneg.pipeline.pipeline_config import ConfigError, PipelineConfig, from_dict, load
from hardneg.pipeline.runner import run

__all__ = ["ConfigError", "MineConfig", "MineResult", "PipelineConfig", "from_dict", "load", "mine", "run"]
