"""hardneg: training data for dense retrieval, from queries to validated hard negatives."""

from hardneg.data.model import Corpus, Dataset, Qrels, Queries

__version__ = "0.1.0"
__all__ = ["Corpus", "Dataset", "Qrels", "Queries", "__version__"]
