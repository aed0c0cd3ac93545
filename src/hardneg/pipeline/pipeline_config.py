"""PipelineConfig: one typed config, one section per stage, specs parsed once (from CLI flags or a YAML file).

A bad file, an unknown key or a bad spec is a ConfigError naming the file, the key path (`validate.judges[1]`)
and the valid choices. `to_dict()` gives the YAML that `load()` reads back to an equal object.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from hardneg.llm.spec import LLMSpec
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
    relabel_precision: float = 0.9  # with target_fn_rate: the precision a calibrated relabel cut must reach
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
# flat names (hardneg.mine()'s keywords, `hardneg mine`'s flags) -> key path
FLAT = {"data": "data.path", "split": "data.split", "query_column": "data.query_column",
        "answer_column": "data.answer_column", "skip_invalid": "data.skip_invalid",
        "min_relevance": "data.min_relevance", "retrievers": "retrieve.retrievers", "fusion": "retrieve.fusion",
        "depth": "retrieve.depth", "batch_size": "retrieve.batch_size", "backend": "retrieve.backend",
        "precision": "retrieve.precision", "search": "retrieve.search", "engine": "retrieve.engine",
        "ray_address": "retrieve.ray_address", "strategy": "select.strategy", "num_negatives": "select.num_negatives",
        "seed": "select.seed", "pos_score": "select.pos_score", "short": "select.short",
        "min_score": "select.min_score", "max_score": "select.max_score", "dedup_negatives": "select.dedup_negatives",
        "judges": "validate.judges", "rules": "validate.rules", "combine": "validate.combine",
        "review": "validate.review", "policy": "validate.policy", "drop_query": "validate.drop_query",
        "cascade": "validate.cascade", "target_fn_rate": "validate.target_fn_rate",
        "relabel_precision": "validate.relabel_precision",
        "margin_judge": "validate.margin_judge", "validate_budget": "validate.budget",
        "refill_margin": "validate.refill_margin", "formats": "export.formats", "prompt": "export.prompt",
        "out": "out"}
# `hardneg mine` flag -> key path (checks.check_pipeline names options by flag)
OPTION_KEYS = {"--" + k.replace("_", "-"): v for k, v in FLAT.items()} | {
    "--retriever": "retrieve.retrievers", "--format": "export.formats", "--judge": "validate.judges",
    "--rule": "validate.rules"}


def nest(flat: dict) -> dict:
    """A config dict (section -> key -> value) from flat names (FLAT); an unknown name is a ConfigError."""
    out: dict = {}
    for name, v in flat.items():
        if name not in FLAT:
            raise ConfigError(f"{name}: unknown option (choose from {', '.join(FLAT)})")
        key = FLAT[name]
        if "." in key:
            sec, k = key.split(".")
            out.setdefault(sec, {})[k] = v
        else:
            out[key] = v
    return out


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
        d["validate"]["judges"] = [getattr(j, "text", None) or f"ready:{getattr(j, 'name', type(j).__name__)}"
                                   for j in self.validate.judges]  # a ready judge object is Python-only
        d["validate"]["rules"] = [r.text for r in self.validate.rules]
        for name in OPTIONAL:
            if getattr(self, name) is not None:
                d[name] = asdict(getattr(self, name))
        if self.generate is not None:
            del d["generate"]["llm"]
        return {**d, "out": self.out}

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


def _specs(items, parse, key: str, where: str, ready: bool = False) -> list:
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, list):
        raise _at(where, key, "must be a list")
    out = []
    for i, s in enumerate(items):
        if ready and not isinstance(s, str) and callable(getattr(s, "score_pairs", None)):
            out.append(s)  # a judge object (hardneg.validate.judges.base.Judge), from Python
            continue
        try:
            out.append(parse(str(s)))
        except ValueError as e:
            raise _at(where, f"{key}[{i}]", str(e)) from None
    return out


def from_dict(d: dict, where: str = "", flags: dict[str, str] | None = None,
              fusion_given: bool = False) -> PipelineConfig:
    """Build and check a PipelineConfig (every spec parsed, every option checked); ConfigError names the key.
    flags: key path -> the name errors give instead (CLI flags). fusion_given: retrieve.fusion was asked for."""
    try:
        return _build(d, where, fusion_given)
    except ConfigError as e:
        key, _, msg = str(e).partition(": ")
        if where or key.split("[")[0] not in (flags or {}):
            raise
        raise ConfigError(f"{flags[key.split('[')[0]]}: {msg}") from None


def _build(d: dict, where: str, fusion_given: bool) -> PipelineConfig:
    from hardneg.checks import OptionError, check_pipeline

    if not isinstance(d, dict):
        raise _at(where, "(top)", "must be a mapping of sections")
    for k in d:
        if k not in (*SECTIONS, *OPTIONAL, "out"):
            raise _at(where, k, f"unknown section (choose from {', '.join([*SECTIONS, *OPTIONAL, 'out'])})")
    raw = {name: _section(cls, d.get(name), name, where) for name, cls in SECTIONS.items()}
    v = raw["validate"]
    v["judges"] = _specs(v.get("judges", []), parse_judge, "validate.judges", where, ready=True)
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
        check_pipeline(cfg, fusion_given)
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
