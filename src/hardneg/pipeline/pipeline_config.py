"""PipelineConfig: one typed config, one section per stage, specs parsed once (from CLI flags or a YAML file).

A bad file, an unknown key or a bad spec is a ConfigError naming the file, the key path (`validate.judges[1]`)
and the valid choices. `to_dict()` gives the YAML that `load()` reads back to an equal object.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from hardneg.llm.spec import LLMSpec
from hardneg.pipeline.config import MineConfig
from hardneg.retrieve.spec import RetrieverSpec, parse_retriever
from hardneg.select.spec import Strategy, parse_strategy
from hardneg.train.trainer import TrainConfig
from hardneg.validate.spec import JudgeSpec, RuleSpec, parse_judge, parse_rule

CONFIG = "config.yaml"


class ConfigError(ValueError):
    """A bad config: str() is one line, `FILE: KEY.PATH: message`."""


@dataclass
class DataSection:
    path: str = ""
    split: str = "train"
    query_column: str = "query"
    answer_column: str = "answer"
    skip_invalid: bool = False
    min_relevance: int = 1


@dataclass
class RetrieveSection:
    """retrievers: parsed specs (bm25, dense:minilm, dense:PATH; hardneg.retrieve.spec.RetrieverSpec)."""

    retrievers: list[RetrieverSpec] = field(default_factory=lambda: [RetrieverSpec("dense", "minilm")])
    fusion: str = "rrf"
    depth: int | None = None
    batch_size: int = 32
    backend: str | None = None
    precision: str | None = None  # dense models: auto, fp32, bf16, fp16, int8 (None: HARDNEG_PRECISION or auto)
    search: str = "exact"
    engine: str = "single"
    ray_address: str = "local"


@dataclass
class SelectSection:
    """strategy: the parsed Strategy (with min/max score); `spec` keeps its text for the YAML."""

    spec: str = "top"
    num_negatives: int = 5
    seed: int = 0
    pos_score: str = "min"
    short: str = "keep"
    min_score: float | None = None
    max_score: float | None = None
    dedup_negatives: bool = True
    strategy: Strategy = field(default_factory=Strategy)


@dataclass
class ValidateSection:
    judges: list[JudgeSpec] = field(default_factory=list)
    rules: list[RuleSpec] = field(default_factory=list)
    combine: str = "any"
    review: str | None = None  # review.jsonl from `hardneg review` (or a name in out): its labels override the judges
    # see docs/validate.md: action policy, drop-query share, cascade band, calibration target, marginmse judge,
    # extra candidates searched per query to refill from (None: 10 x num_negatives with judges)
    policy: str | None = None
    drop_query: float | None = None
    cascade: float | None = None
    target_fn_rate: float | None = None
    margin_judge: str | None = None
    budget: int | None = None
    batch_size: int | None = None  # pairs per batch of cross-encoder and LLM judges; refill_margin: extra
    refill_margin: int | None = None  # candidates judged per query in the first round (None: max(2, N/2))

    @property
    def enabled(self) -> bool:
        return bool(self.judges)


@dataclass
class ExportSection:
    formats: list[str] = field(default_factory=lambda: ["triplet"])
    prompt: str = ""


@dataclass
class GenerateSection:
    """Generate queries for data.path's corpus with an LLM, then mine for them (see `hardneg generate`).

    backend: the LLM spec (`local`, `local:gemma`, `openai:URL[:MODEL]`, `hf:MODEL`), parsed into `llm`.
    filters: as `--filter` ([] = the defaults, [none] = keep every query).
    """

    backend: str = "local"
    prompt: str = "inpars"
    per_doc: int = 1
    sample: int = 0
    seed: int = 0
    max_tokens: int = 48
    temperature: float | None = None
    filters: list[str] = field(default_factory=list)
    threads: int = 0
    examples: str | None = None  # JSONL of {query, document} pairs for prompt promptagator
    checkpoint_every: int = 64  # documents per checkpoint shard; concurrency: requests (openai) or slots (local)
    concurrency: int = 4
    api_key_env: str = "OPENAI_API_KEY"  # environment variable holding the API key (never logged)
    llm: LLMSpec = field(default_factory=lambda: LLMSpec("local"))


@dataclass
class EvaluateSection:
    """Score the trained model (and `baselines`, retriever specs) on `split` of the data; metrics in [0, 1]."""

    split: str = "test"
    metrics: list[str] = field(default_factory=lambda: ["ndcg@10", "mrr@10", "recall@100", "map@100"])
    baselines: list[str] = field(default_factory=list)


OPTIONAL = ("generate", "train", "evaluate")  # sections whose step runs only when the section is given
SECTIONS = {"data": DataSection, "retrieve": RetrieveSection, "select": SelectSection,
            "validate": ValidateSection, "export": ExportSection}
# MineConfig option (as check_mine names it) -> key path
OPTION_KEYS = {"--retriever": "retrieve.retrievers", "--fusion": "retrieve.fusion", "--strategy": "select.strategy",
               "--num-negatives": "select.num_negatives", "--depth": "retrieve.depth",
               "--batch-size": "retrieve.batch_size", "--pos-score": "select.pos_score", "--short": "select.short",
               "--search": "retrieve.search", "--min-score": "select.min_score", "--format": "export.formats",
               "--combine": "validate.combine", "--engine": "retrieve.engine", "--out": "out",
               "--precision": "retrieve.precision"}


@dataclass
class PipelineConfig:
    """Every setting of a pipeline run; `out` is the run folder (None: in memory only)."""

    data: DataSection = field(default_factory=DataSection)
    generate: GenerateSection | None = None  # queries from an LLM first (None: mine the data's own queries)
    retrieve: RetrieveSection = field(default_factory=RetrieveSection)
    select: SelectSection = field(default_factory=SelectSection)
    validate: ValidateSection = field(default_factory=ValidateSection)
    export: ExportSection = field(default_factory=ExportSection)
    train: TrainConfig | None = None  # fine-tune a bi-encoder on the exported negatives (None: no train step)
    evaluate: EvaluateSection | None = None  # needs train
    out: str | None = None
    show_progress: bool = False

    def to_dict(self) -> dict:
        """Plain YAML/JSON values; specs as their text."""
        d = {name: asdict(getattr(self, name)) for name in SECTIONS}
        d["select"]["strategy"] = d["select"].pop("spec")
        d["retrieve"]["retrievers"] = [str(r) for r in self.retrieve.retrievers]
        d["validate"]["judges"] = [j.text for j in self.validate.judges]
        d["validate"]["rules"] = [r.text for r in self.validate.rules]
        for name in OPTIONAL:
            if getattr(self, name) is not None:
                d[name] = asdict(getattr(self, name))
        if self.generate is not None:
            del d["generate"]["llm"]
        return {**d, "out": self.out}

    def mine_config(self) -> MineConfig:
        """The flat MineConfig view the retrieve/select/export steps read."""
        r, s, e, v = self.retrieve, self.select, self.export, self.validate
        return MineConfig(retrievers=[str(x) for x in r.retrievers], fusion=r.fusion, strategy=s.spec,
                          num_negatives=s.num_negatives, depth=r.depth, seed=s.seed, pos_score=s.pos_score,
                          short=s.short, min_score=s.min_score, max_score=s.max_score, formats=list(e.formats),
                          out=self.out, batch_size=r.batch_size, backend=r.backend, precision=r.precision,
                          search=r.search,
                          min_relevance=self.data.min_relevance, dedup_negatives=s.dedup_negatives,
                          prompt=e.prompt, show_progress=self.show_progress, policy=v.policy,
                          drop_query=v.drop_query, cascade=v.cascade, target_fn_rate=v.target_fn_rate,
                          margin_judge=v.margin_judge, validate_budget=self.validate_budget())

    def validate_budget(self) -> int:
        """Extra candidates searched per query for validation to refill from (as `hardneg mine --judge`)."""
        v = self.validate
        if v.budget is not None:
            return v.budget
        return 10 * self.select.num_negatives if v.judges and self.retrieve.depth is None else 0

    def source(self) -> dict:
        """The data options as mine records them in candidates.npz (read back by `hardneg validate`)."""
        d = self.data
        return {"data": d.path, "split": d.split, "query_column": d.query_column, "answer_column": d.answer_column,
                "skip_invalid": d.skip_invalid}


def _at(where: str, key: str, msg: str) -> ConfigError:
    return ConfigError(f"{where}: {key}: {msg}" if where else f"{key}: {msg}")


def _section(cls, raw, name: str, where: str) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _at(where, name, f"must be a mapping, got {type(raw).__name__}")
    names = [f.name for f in fields(cls) if f.name not in ("strategy", "spec", "llm")] + (
        ["strategy"] if cls is SelectSection else [])
    types = {f.name: str(f.type) for f in fields(cls)}
    for k, v in raw.items():
        if k not in names:
            raise _at(where, f"{name}.{k}", f"unknown key (choose from {', '.join(names)})")
        want = types.get(k, "").replace(" | None", "")
        if v is None and "None" in types.get(k, ""):
            continue
        ok = {"int": isinstance(v, int) and not isinstance(v, bool), "bool": isinstance(v, bool),
              "float": isinstance(v, (int, float)) and not isinstance(v, bool), "str": isinstance(v, str),
              "list[str]": isinstance(v, (list, str))}.get(want, True)
        if not ok:
            kind = {"int": "an integer", "bool": "true or false", "float": "a number", "str": "a string",
                    "list[str]": "a list"}[want]
            raise _at(where, f"{name}.{k}", f"must be {kind}, got {v!r}")
    return dict(raw)


def _specs(items, parse, key: str, where: str) -> list:
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, list):
        raise _at(where, key, "must be a list")
    out = []
    for i, s in enumerate(items):
        try:
            out.append(parse(str(s)))
        except ValueError as e:
            raise _at(where, f"{key}[{i}]", str(e)) from None
    return out


def from_dict(d: dict, where: str = "") -> PipelineConfig:
    """Build and check a PipelineConfig (every spec parsed, every option checked); ConfigError names the key."""
    from hardneg.checks import OptionError, check_mine

    if not isinstance(d, dict):
        raise _at(where, "(top)", "must be a mapping of sections")
    for k in d:
        if k not in (*SECTIONS, *OPTIONAL, "out"):
            raise _at(where, k, f"unknown section (choose from {', '.join([*SECTIONS, *OPTIONAL, 'out'])})")
    raw = {name: _section(cls, d.get(name), name, where) for name, cls in SECTIONS.items()}
    v = raw["validate"]
    v["judges"] = _specs(v.get("judges", []), parse_judge, "validate.judges", where)
    v["rules"] = _specs(v.get("rules", []), parse_rule, "validate.rules", where)
    if "retrievers" in raw["retrieve"]:
        raw["retrieve"]["retrievers"] = _specs(raw["retrieve"]["retrievers"], parse_retriever, "retrieve.retrievers",
                                               where)
    s = raw["select"]
    s["spec"] = str(s.pop("strategy", "top"))
    try:
        s["strategy"] = parse_strategy(s["spec"], s.get("min_score"), s.get("max_score"))
    except ValueError as e:
        raise _at(where, "select.strategy", str(e)) from None
    if isinstance(raw["export"].get("formats"), str):
        raw["export"]["formats"] = [raw["export"]["formats"]]
    try:
        cfg = PipelineConfig(**{n: SECTIONS[n](**raw[n]) for n in SECTIONS}, out=d.get("out"))
    except TypeError as e:
        raise _at(where, "(top)", str(e)) from None
    if cfg.out is not None:
        cfg.out = str(cfg.out)
    cfg.train, cfg.evaluate = _train(d.get("train"), where), _evaluate(d.get("evaluate"), where)
    cfg.generate = _generate(d.get("generate"), where)
    try:
        from hardneg.validate.spec import margin_judge

        margin_judge(cfg.validate.margin_judge, cfg.export.formats)
    except ValueError as e:
        raise _at(where, "validate.margin_judge", str(e)) from None
    if cfg.validate.review and not cfg.validate.judges:
        raise _at(where, "validate.review", "needs at least one judge (its labels override their decisions)")
    if cfg.evaluate is not None and cfg.train is None:
        raise _at(where, "evaluate", "scores the trained model: add a train section")
    try:
        check_mine(cfg.mine_config(), [j.text for j in cfg.validate.judges], [r.text for r in cfg.validate.rules],
                   cfg.validate.combine, cfg.retrieve.engine, fusion_given=False)
    except OptionError as e:
        msg = str(e).split(": ", 1)[1]
        raise _at(where, OPTION_KEYS.get(e.option, e.option), msg) from None
    return cfg


def _train(raw, where: str) -> TrainConfig | None:
    from hardneg.train.losses import get_loss

    if raw is None:
        return None
    raw = _section(TrainConfig, raw, "train", where)
    try:
        cfg = TrainConfig(**raw)
    except ValueError as e:
        key = f"train.{e.field}" if getattr(e, "field", None) else "train"
        raise _at(where, key, str(e).split(": ", 1)[-1]) from None
    if get_loss(cfg.loss).cross:
        raise _at(where, "train.loss", f"'{cfg.loss}' trains a reranker; the pipeline fine-tunes a bi-encoder "
                                       f"(mnrl, cached-mnrl, gist, margin-mse, triplet, ...)")
    return cfg


def _generate(raw, where: str) -> GenerateSection | None:
    from hardneg.generate.filters import parse_filters
    from hardneg.generate.prompts import make_prompt
    from hardneg.llm.spec import parse_llm_spec

    if raw is None:
        return None
    raw = _section(GenerateSection, raw, "generate", where)
    raw.pop("llm", None)
    sec = GenerateSection(**raw)
    for key, check in (("backend", lambda: parse_llm_spec(sec.backend)),
                       ("prompt", lambda: make_prompt(sec.prompt, sec.examples)),
                       ("filters", lambda: parse_filters(sec.filters))):
        try:
            got = check()
        except ValueError as e:
            raise _at(where, f"generate.{key}", str(e)) from None
        if key == "backend":
            sec.llm = got
    for key in ("per_doc", "max_tokens", "checkpoint_every", "concurrency"):
        if getattr(sec, key) < 1:
            raise _at(where, f"generate.{key}", f"must be >= 1, got {getattr(sec, key)}")
    return sec


def _evaluate(raw, where: str) -> EvaluateSection | None:
    from hardneg.evaluate.metrics import metric_names

    if raw is None:
        return None
    sec = EvaluateSection(**_section(EvaluateSection, raw, "evaluate", where))
    try:
        metric_names(sec.metrics)
    except ValueError as e:
        raise _at(where, "evaluate.metrics", str(e)) from None
    _specs(sec.baselines, parse_retriever, "evaluate.baselines", where)
    return sec


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


def flags_dict(cfg: MineConfig, source: dict, judges=(), rules=(), combine: str = "any", engine: str = "single",
               ray_address: str = "local") -> dict:
    """The config dict of `hardneg mine`'s flags (a MineConfig plus data, validation and engine options)."""
    data = {"path": source.get("data") or "", **{k: v for k, v in source.items() if k != "data"},
            "min_relevance": cfg.min_relevance}
    return {"data": data,
            "retrieve": {"retrievers": list(cfg.retrievers), "fusion": cfg.fusion, "depth": cfg.depth,
                         "batch_size": cfg.batch_size, "backend": cfg.backend, "precision": cfg.precision,
                         "search": cfg.search,
                         "engine": engine, "ray_address": ray_address},
            "select": {"strategy": cfg.strategy, "num_negatives": cfg.num_negatives, "seed": cfg.seed,
                       "pos_score": cfg.pos_score, "short": cfg.short, "min_score": cfg.min_score,
                       "max_score": cfg.max_score, "dedup_negatives": cfg.dedup_negatives},
            "validate": {"judges": list(judges), "rules": list(rules), "combine": combine, "policy": cfg.policy,
                         "drop_query": cfg.drop_query, "cascade": cfg.cascade, "target_fn_rate": cfg.target_fn_rate,
                         "margin_judge": cfg.margin_judge},
            "export": {"formats": list(cfg.formats), "prompt": cfg.prompt}, "out": cfg.out}
