"""Composing stages: mine = retrieve -> select -> (validate) -> export."""

from hardneg.pipeline.config import MineConfig
from hardneg.pipeline.mine import MineResult, mine

__all__ = ["MineConfig", "MineResult", "mine"]
