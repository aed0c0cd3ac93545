"""Writers for trainer formats: sentence-transformers datasets, FlagEmbedding JSONL, MarginMSE."""

from hardneg.types import Mined
from hardneg.export.write import FORMATS, export, parse_formats

__all__ = ["FORMATS", "Mined", "export", "parse_formats"]
