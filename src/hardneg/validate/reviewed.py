"""Reviewed labels as validation actions: a person's label overrides the judges for that candidate."""

from __future__ import annotations

import numpy as np

CODE = {"negative": 0, "false_negative": 1, "relevant": 2}  # -> keep, drop, relabel (as a positive)


def review_codes(labels: dict[tuple[str, str], str], query_ids: list[str], rows: np.ndarray,
                 doc_ids: list[str]) -> np.ndarray:
    """int8 [Q, K] a reviewed action per candidate cell: -1 none (or skip), 0 keep, 1 drop, 2 relabel.
    rows: int64 [Q, K] corpus rows of the candidates (-1 = none)."""
    out = np.full(rows.shape, -1, np.int8)
    if not labels:
        return out
    qpos = {q: i for i, q in enumerate(query_ids)}
    dpos = {d: i for i, d in enumerate(doc_ids)}
    hits = [(qpos[q], dpos[d], CODE[lab]) for (q, d), lab in labels.items()
            if lab in CODE and q in qpos and d in dpos]
    if not hits:
        return out
    qi, row, code = (np.asarray(x) for x in zip(*hits))
    match = rows[qi] == row[:, None]  # [H, K]: where each reviewed doc sits among its query's candidates
    h, c = np.nonzero(match)
    out[qi[h], c] = code[h]
    return out
