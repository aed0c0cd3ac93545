"""Search depth that budgets for validation: how many candidates a query needs so that N survive the drops.

Pure numpy over a ValidationResult. A first pass at the default depth tells, per query, the share of judged
candidates that validation acted on; queries left short because every candidate was judged get a deeper search
sized from a high quantile of those shares.
"""

from __future__ import annotations

import math

import numpy as np

QUANTILE = 0.9  # size the depth for the drop share of all but the worst 10% of queries
MAX_SHARE = 0.95  # a query losing more than this is not refilled by depth alone (see drop-query)


def drop_shares(judged: np.ndarray, acted: np.ndarray) -> np.ndarray:
    """float [Q]: share of each query's judged candidates that were dropped or relabelled (NaN: none judged)."""
    j = judged.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(j > 0, (acted & judged).sum(axis=1) / np.maximum(j, 1), np.nan)


def budget_depth(n: int, share: float, margin: int = 0) -> int:
    """Candidates a query needs so that `n` + `margin` are left after dropping a `share` of them."""
    share = min(max(float(share), 0.0), MAX_SHARE)
    return int(math.ceil((n + margin) / (1.0 - share)))


def deeper_depth(judged: np.ndarray, acted: np.ndarray, short_depth: np.ndarray, n: int, depth: int,
                 corpus: int, margin: int | None = None) -> tuple[int | None, dict]:
    """The depth for a second pass, or None when no query is short for lack of candidates (or the corpus is
    already searched to the end). Sized from the QUANTILE drop share among the queries that were short for
    depth, never less than twice the current depth; plus a summary of the estimate."""
    margin = max(2, n // 2) if margin is None else margin
    shares = drop_shares(judged, acted)
    info = {"first_depth": int(depth), "short_for_depth": int(short_depth.sum())}
    if not short_depth.any() or depth >= corpus:
        return None, info
    s = shares[short_depth & ~np.isnan(shares)]
    est = float(np.quantile(s, QUANTILE)) if len(s) else MAX_SHARE
    new = min(max(budget_depth(n, est, margin), 2 * depth), corpus)
    return new, info | {"drop_share_q90": round(est, 4), "second_depth": int(new)}
