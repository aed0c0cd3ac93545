"""The shared data model and its loaders/writers."""

from hardneg.data.errors import DataError
from hardneg.data.load import load_data
from hardneg.types import Corpus, Dataset, Qrels, Queries

__all__ = ["Corpus", "DataError", "Dataset", "Qrels", "Queries", "load_data"]
