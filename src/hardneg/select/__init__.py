"""Negative selection: pure numpy rules over [Q, K] candidate score arrays."""

from hardneg.select.candidates import Candidates
from hardneg.select.negatives import Selection, select_negatives
from hardneg.select.spec import Strategy, parse_strategy

__all__ = ["Candidates", "Selection", "Strategy", "parse_strategy", "select_negatives"]
