"""Encoding runtimes for sentence-transformers models: torch (always) and faster CPU ones if installed."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)
BACKENDS = ("torch",)


def best_backend() -> str:
    """The fastest backend installed here."""
    return "torch"


def load_fast(path: str, backend: str, device: str | None = None):
    """A SentenceTransformer running on `backend`."""
    raise ValueError(f"unknown encoding backend '{backend}' (valid: {', '.join(BACKENDS)})")
