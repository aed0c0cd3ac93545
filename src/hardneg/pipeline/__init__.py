"""The pipeline: one typed config (PipelineConfig) run step by step by run(config).

run: generate -> retrieve -> select -> validate (with judges) -> export -> train -> evaluate (with their sections).
"""

from hardneg.pipeline.config_file import load
from hardneg.pipeline.pipeline_config import ConfigError, PipelineConfig, from_dict, nest
from hardneg.pipeline.result import MineResult
from hardneg.pipeline.runner import run

__all__ = ["ConfigError", "MineResult", "PipelineConfig", "from_dict", "load", "nest", "run"]
