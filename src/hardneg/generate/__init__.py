"""Synthetic queries: prompts, a resumable generation loop, filters, and a BEIR folder out."""

from hardneg.generate.core import GenerateResult, generate_dataset
from hardneg.generate.filters import FilterSpec, parse_filter
from hardneg.generate.prompts import make_prompt
from hardneg.generate.run import GenConfig

__all__ = ["FilterSpec", "GenConfig", "GenerateResult", "generate_dataset", "make_prompt", "parse_filter"]
