"""Up-front checks: every option, spec and output path, before any model loads or anything is written.

Each failure is an OptionError (a ValueError) whose message names the option and the valid choices;
the CLI prints it as one line and exits 2.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence


class OptionError(ValueError):
    """A bad option value; str() is one line starting with the option's name."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")
        self.option = option


def _spec(option: str, parse, value):
    try:
        return parse(value)
    except ValueError as e:
        raise OptionError(option, str(e)) from None


def _choice(option: str, value, choices: Sequence) -> None:
    if value not in choices:
        raise OptionError(option, f"'{value}' is not one of {', '.join(map(str, choices))}")


def _at_least(option: str, value, low) -> None:
    if value is not None and value < low:
        raise OptionError(option, f"must be >= {low}, got {value}")


def check_out(out: str | Path, option: str = "--out") -> Path:
    """An output folder we can create and write: not a file, not under a file, writable. Creates nothing."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise OptionError(option, f"'{p}' is a file, not a folder")
    up = p
    while not up.exists():
        up = up.parent
    if not up.is_dir():
        raise OptionError(option, f"'{p}' sits under '{up}', which is a file")
    if not os.access(up, os.W_OK | os.X_OK):
        raise OptionError(option, f"'{up}' is not writable")
    return p


def check_file_out(path: str | Path, option: str, suffixes: Sequence[str] = ()) -> Path:
    """An output file: one of `suffixes` (if given), in an existing writable folder (no folder is created)."""
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise OptionError(option, f"'{p.name}' must end in one of {', '.join(suffixes)}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OptionError(option, f"folder '{parent}' does not exist")
    if p.is_dir():
        raise OptionError(option, f"'{p}' is a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OptionError(option, f"'{parent}' is not writable")
    return p


PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def check_plot(path: str | Path | None, option: str = "--plot") -> None:
    """A chart path matplotlib can write, in an existing folder."""
    if path:
        check_file_out(path, option, PLOT_SUFFIXES)


def check_validation(judges: Sequence[str] = (), rules: Sequence[str] = (), combine: str = "any",
                     policy: str | None = None, drop_query: float | None = None, cascade: float | None = None,
                     target_fn_rate: float | None = None, margin: str | None = None, formats: Sequence[str] = (),
                     relabel_precision: float | None = None) -> None:
    """Judge and rule specs, the combine mode, the action policy, drop-query share, cascade band, calibration
    target and the marginmse label judge (parsed, no model loaded)."""
    from hardneg.validate.spec import COMBINE, margin_judge, parse_judge, parse_policy, parse_rule

    for j in judges:
        if j is not None:  # None: a ready judge object
            _spec("--judge", parse_judge, j)
    for r in rules:
        _spec("--rule", parse_rule, r)
    _choice("--combine", combine, COMBINE)
    _spec("--policy", parse_policy, policy)
    _spec("--margin-judge", lambda m: margin_judge(m, list(formats)), margin)
    for opt, v in (("--policy", policy), ("--drop-query", drop_query), ("--cascade", cascade),
                   ("--target-fn-rate", target_fn_rate)):
        if v is not None and not judges:
            raise OptionError(opt, "needs at least one --judge")
    if drop_query is not None and not 0.0 < drop_query <= 1.0:
        raise OptionError("--drop-query", f"must be a share in (0, 1], got {drop_query}")
    _at_least("--cascade", cascade, 0)
    if target_fn_rate is not None and not 0.0 < target_fn_rate < 1.0:
        raise OptionError("--target-fn-rate", f"must be in (0, 1), got {target_fn_rate}")
    if relabel_precision is not None and not 0.0 < relabel_precision <= 1.0:
        raise OptionError("--relabel-precision", f"must be in (0, 1], got {relabel_precision}")


def check_ray(r) -> None:
    """The ray engine searches exactly (sharded top-k); faiss indexes are single-process. `r`: a retrieve section."""
    if r.search != "exact":
        raise OptionError("--engine", f"ray searches dense retrievers exactly (sharded), not with --search "
                                      f"{r.search}; drop --search or use --engine single")


def check_pipeline(cfg, fusion_given: bool = False) -> None:
    """Every option of a PipelineConfig's mining sections and its validation specs (named by their `hardneg
    mine` flags; pipeline_config maps them to key paths); out-folder rules are in rundir."""
    from hardneg.export.write import parse_formats
    from hardneg.retrieve.dense import SEARCHES
    from hardneg.retrieve.fusion import METHODS
    from hardneg.models.runtime import PRECISIONS
    from hardneg.select.spec import POS_SCORE

    r, s, v = cfg.retrieve, cfg.select, cfg.validate
    if not r.retrievers:
        raise OptionError("--retriever", "give at least one retriever")
    _choice("--fusion", r.fusion, METHODS)
    if fusion_given and len(r.retrievers) < 2:
        raise OptionError("--fusion", "fuses several retrievers; give --retriever twice or more, or drop --fusion")
    _at_least("--num-negatives", s.num_negatives, 1)
    _at_least("--depth", r.depth, 1)
    _at_least("--batch-size", r.batch_size, 1)
    _choice("--pos-score", s.pos_score, POS_SCORE)
    _choice("--short", s.short, ("keep", "drop", "pad"))
    _choice("--search", r.search, SEARCHES)
    if r.precision is not None:
        _choice("--precision", r.precision, PRECISIONS)
    if s.min_score is not None and s.max_score is not None and s.min_score > s.max_score:
        raise OptionError("--min-score", f"{s.min_score} is above --max-score {s.max_score}")
    if not _spec("--format", parse_formats, cfg.export.formats):
        raise OptionError("--format", "give at least one format")
    check_validation([getattr(j, "text", None) for j in v.judges], [x.text for x in v.rules], v.combine,
                     v.policy, v.drop_query, v.cascade, v.target_fn_rate, v.margin_judge, cfg.export.formats,
                     v.relabel_precision)  # a judge object has no text: None
    _choice("--engine", r.engine, ("single", "ray"))
    if r.engine == "ray":
        check_ray(r)
        if any(not hasattr(j, "text") for j in v.judges):
            raise OptionError("--engine", "ray runs judges from specs (teacher:mpnet, ...), "
                                          "not judge objects")
    if cfg.out:
        check_out(cfg.out)
