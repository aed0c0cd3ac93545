"""Retrieval metrics via ranx, result tables and charts."""

from hardneg.evaluate.metrics import compare, evaluate
from hardneg.evaluate.report import metrics_table, plot_metrics

__all__ = ["compare", "evaluate", "metrics_table", "plot_metrics"]
