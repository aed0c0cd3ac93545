"""export(): write a Mined set in several trainer formats at once, each file atomically."""

from __future__ import annotations

import logging
from pathlib import Path

from hardneg.data.jsonl import write_jsonl
from hardneg.export.formats import ST_FORMATS, flag_rows
from hardneg.export.mined import write_hf
from hardneg.types import Mined
from hardneg.io import write_parquet

log = logging.getLogger(__name__)
FORMATS = (*ST_FORMATS, "flag")
ALIASES = {"flagembedding": "flag", "margin-mse": "marginmse", "ntuple": "n-tuple"}


def parse_formats(formats: list[str] | str) -> list[str]:
    """Check and de-duplicate format names (`triplet,n-tuple` or a list)."""
    items = formats.split(",") if isinstance(formats, str) else [f for x in formats for f in x.split(",")]
    out = []
    for f in (ALIASES.get(x.strip().lower(), x.strip().lower()) for x in items):
        if not f:
            continue
        if f not in FORMATS:
            raise ValueError(f"unknown format '{f}' (choose from {', '.join(FORMATS)})")
        if f not in out:
            out.append(f)
    return out


def export(mined: Mined, out_dir: str | Path, formats: list[str] | str) -> dict[str, dict]:
    """Write each format under out_dir; returns {format: {"rows": n, "files": [paths]}}.

    ST formats and marginmse: `<fmt>/` (HF dataset, loss-ready columns) and `<fmt>.parquet` (plus ids and scores).
    flag: `flag.jsonl` (FlagEmbedding: query, pos, neg, pos_scores, neg_scores, prompt, plus ids).
    """
    out_dir = Path(out_dir)
    done: dict[str, dict] = {}
    for fmt in parse_formats(formats):
        if fmt == "flag":
            rows = list(flag_rows(mined))
            path = out_dir / "flag.jsonl"
            write_jsonl(path, rows)
            done[fmt] = {"rows": len(rows), "files": [str(path)]}
        else:
            base, full = ST_FORMATS[fmt](mined)
            hf = write_hf(out_dir / fmt, base)
            pq = write_parquet(out_dir / f"{fmt}.parquet", full)
            done[fmt] = {"rows": base.num_rows, "files": [str(hf), str(pq)]}
        log.info("wrote %s: %d rows", fmt, done[fmt]["rows"])
    return done
