"""hardneg: training data for dense retrieval, from queries to validated hard negatives."""

from hardneg.types import Corpus, Dataset, Qrels, Queries

__version__ = "0.1.0"
__all__ = ["Corpus", "Dataset", "Qrels", "Queries", "mine", "__version__"]


def __getattr__(name: str):
    if name == "mine":  # imported on first use: `import hardneg` stays light
        from hardneg.api import mine

        return mine
    raise AttributeError(f"module 'hardneg' has no attribute '{name}'")
