"""PipelineConfig as a YAML file: load (checked, errors naming the file and key) and dump (atomic)."""

from __future__ import annotations

from pathlib import Path

from hardneg.pipeline.pipeline_config import ConfigError, PipelineConfig, from_dict


def load(path: str | Path) -> PipelineConfig:
    """Read a YAML config file; ConfigError (one line, naming the file and key) when it is bad."""
    return from_dict(load_dict(path), str(path))


def load_dict(path: str | Path) -> dict:
    """The raw mapping of a YAML config file (unchecked); ConfigError when unreadable or not YAML."""
    import yaml

    p = Path(path)
    try:
        d = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except OSError as e:
        raise ConfigError(f"{p}: cannot read ({e.strerror})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{p}:{at}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(d, dict):
        raise ConfigError(f"{p}: (top): must be a mapping of sections, got {type(d).__name__}")
    return d


def dump(cfg: PipelineConfig, path: str | Path) -> Path:
    """Write the resolved config as YAML, atomically (load() reads it back to an equal object)."""
    import yaml

    from hardneg.io import atomic_write

    with atomic_write(path) as f:
        yaml.safe_dump(cfg.to_dict(), f, sort_keys=False)
    return Path(path)
