"""Where hardneg keeps its caches: $HARDNEG_CACHE, else the user cache dir."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """A folder under the hardneg cache (created on demand)."""
    root = os.environ.get("HARDNEG_CACHE")
    if root:
        base = Path(root)
    else:
        from platformdirs import user_cache_dir

        base = Path(user_cache_dir("hardneg"))
    p = base.joinpath(*parts)
    p.mkdir(parents=True, exist_ok=True)
    return p
