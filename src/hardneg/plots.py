"""Matplotlib at the edges: a headless pyplot and one atomic, byte-stable figure writer."""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Write `fig` to `path` (png, svg or pdf) through a temp file and a rename, then close it.

    No creation date or software tag goes into the file, so the same figure gives the same bytes.
    """
    from hardneg.io import atomic_write

    path = Path(path)
    fmt = path.suffix.lstrip(".") or "png"
    meta = {"png": {"Software": None}, "pdf": {"CreationDate": None}, "svg": {"Date": None}}.get(fmt, {})
    try:
        with atomic_write(path, "wb") as f:
            fig.savefig(f, format=fmt, dpi=dpi, metadata=meta)
    finally:
        pyplot().close(fig)
    return path
