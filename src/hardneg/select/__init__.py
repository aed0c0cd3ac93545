"""Negative selection: pure numpy rules over [Q, K] candidate score arrays."""

from hardneg.types import Candidates
from hardneg.select.negatives import select_negatives
from hardneg.types import Selection
from hardneg.select.spec import Strategy, parse_strategy

__all__ = ["Candidates", "Selection", "Strategy", "parse_strategy", "select_negatives"]
