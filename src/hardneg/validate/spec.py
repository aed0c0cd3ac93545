"""Judge and rule specs: short strings parsed once into small dataclasses.

Judges: `cross-encoder:PATH|HUB_ID[:MAXLEN]`, `teacher:mpnet|PATH[:MAXLEN]` (MAXLEN: tokens kept per text), `llm:local[:GGUF]`, `llm:openai:URL[:MODEL]`,
`dup:exact`, `dup:jaccard:0.8[:N]`, `dup:minhash:0.8[:N]`.
Rules: `perc:0.95`, `margin:0.1`, `abs:0.5`, optionally `:min|mean|max` (which positive score to compare
with) and a `NAME=` prefix naming the judge it applies to (default: every judge without its own rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

JUDGE_KINDS = ("cross-encoder", "teacher", "llm", "dup")
RULE_KINDS = ("perc", "margin", "abs")
POS_AGGS = ("min", "mean", "max")
COMBINE = ("any", "all", "majority")
ACTIONS = ("relabel", "drop")  # what a suspected false negative becomes; codes 2 and 1 (0 = kept)
DUP_METHODS = ("exact", "jaccard", "minhash")
POLICY_HELP = ("What suspected false negatives become, by judge agreement: e.g. relabel=all,drop=any (relabel as a "
               "positive when every judge agrees, drop when any does). Default: drop=<--combine>.")
DROP_QUERY_HELP = "Remove a query when at least this share of its top N judged candidates is flagged (e.g. 0.5)."
CASCADE_HELP = ("Run judges cheap to expensive (dup, teacher, cross-encoder, llm); a later judge scores only "
                "candidates within this band of the earlier judge's cut (rule units, e.g. 0.05).")
TARGET_HELP = ("Calibrate each judge's threshold to this false-negative rate (e.g. 0.01), from queries with >= 2 "
               "positives (extras held out); falls back to the default rule when labels are too few.")
RELABEL_HELP = ("With --target-fn-rate and a relabel policy: the precision (0-1] a calibrated relabel cut must reach "
                "on the held-out labels; no cut that precise relabels nothing (the candidates are dropped).")
MARGIN_HELP = "Judge whose scores become marginmse labels (teacher:mpnet or cross-encoder:PATH); required by -f marginmse."
_URL = re.compile(r"^(https?://[^/:]+(?::\d+)?(?:/[^:]*)?)(?::(.+))?$")


@dataclass(frozen=True)
class JudgeSpec:
    """A parsed judge spec. `model` is a path/hub id/alias; `url` only for llm:openai."""

    kind: str
    model: str = ""
    url: str = ""
    method: str = ""        # dup: exact | jaccard | minhash; llm: local | openai
    threshold: float = 1.0  # dup only: similarity at or above which a candidate is a duplicate
    ngram: int = 3          # dup only: word n-gram size
    max_length: int = 0     # cross-encoder/teacher: truncate inputs to this many tokens (0 = the model's own)
    text: str = ""          # the spec as written

    @property
    def name(self) -> str:
        """Short column name: the kind (the core adds a suffix when a kind repeats)."""
        return self.kind


@dataclass(frozen=True)
class RuleSpec:
    """drop if s_neg > thr(s_pos): perc: s_pos - |s_pos|(1-value); margin: s_pos - value; abs: value."""

    kind: str
    value: float
    pos_agg: str = ""  # min | mean | max; "" = the run's default (min, as sentence-transformers)
    judge: str = ""  # judge name or spec this rule belongs to; "" = default for all
    text: str = ""

    def label(self) -> str:
        """The rule as written, without the judge prefix."""
        if self.text:
            return self.text.rpartition("=")[2]
        base = f"{self.kind}:{self.value:g}"
        return base if not self.pos_agg or self.kind == "abs" else f"{base}:{self.pos_agg}"


def _float(s: str, what: str, spec: str) -> float:
    try:
        return float(s)
    except ValueError:
        raise ValueError(f"{what} '{s}' in spec '{spec}' is not a number") from None


def parse_judge(spec: str) -> JudgeSpec:
    """Parse one judge spec string; raise ValueError naming the spec when it is malformed."""
    spec = spec.strip()
    kind, _, rest = spec.partition(":")
    if kind not in JUDGE_KINDS:
        raise ValueError(f"unknown judge '{kind}' in '{spec}' (expected one of {', '.join(JUDGE_KINDS)})")
    if kind in ("cross-encoder", "teacher"):
        if not rest and kind == "cross-encoder":
            raise ValueError(f"'{spec}': cross-encoder needs a model, e.g. cross-encoder:PATH")
        model, sep, tail = rest.rpartition(":")
        if sep and tail.isdigit() and model:
            if int(tail) < 8:
                raise ValueError(f"'{spec}': max length must be at least 8 tokens")
            return JudgeSpec(kind, model=model, max_length=int(tail), text=spec)
        return JudgeSpec(kind, model=rest or "mpnet", text=spec)
    if kind == "llm":
        method, _, tail = (rest or "local").partition(":")
        if method == "local":
            return JudgeSpec(kind, model=tail, method="local", text=spec)
        if method == "openai":
            if not tail:
                raise ValueError(f"'{spec}': llm:openai needs a URL, e.g. llm:openai:http://127.0.0.1:8080/v1")
            # the URL holds colons (scheme, port); the model may too (Ollama's `qwen2.5:7b`)
            m = _URL.match(tail)
            if m is None:
                raise ValueError(f"'{spec}': expected llm:openai:http(s)://HOST[:PORT][/PATH][:MODEL]")
            url, model = m.group(1), m.group(2) or ""
            return JudgeSpec(kind, model=model, url=url, method="openai", text=spec)
        raise ValueError(f"'{spec}': llm judge must be llm:local or llm:openai:URL[:MODEL]")
    method, _, tail = rest.partition(":")
    if method not in DUP_METHODS:
        raise ValueError(f"'{spec}': dup method must be one of {', '.join(DUP_METHODS)}")
    parts = tail.split(":") if tail else []
    if method == "exact":
        if parts:
            raise ValueError(f"'{spec}': dup:exact takes no threshold")
        return JudgeSpec(kind, method=method, threshold=1.0, ngram=1, text=spec)
    thr = _float(parts[0], "threshold", spec) if parts else 0.8
    if not 0.0 < thr <= 1.0:
        raise ValueError(f"'{spec}': threshold must be in (0, 1]")
    n = int(_float(parts[1], "n-gram size", spec)) if len(parts) > 1 else 3
    if n < 1 or len(parts) > 2:
        raise ValueError(f"'{spec}': expected dup:{method}:THRESHOLD[:N] with N >= 1")
    return JudgeSpec(kind, method=method, threshold=thr, ngram=n, text=spec)


def parse_rule(spec: str) -> RuleSpec:
    """Parse `[JUDGE=]KIND:VALUE[:min|mean|max]`."""
    text = spec.strip()
    judge, sep, body = text.rpartition("=")
    if not sep:
        judge, body = "", text
    parts = body.split(":")
    if parts[0] not in RULE_KINDS or len(parts) not in (2, 3):
        raise ValueError(f"rule '{spec}' must be KIND:VALUE[:min|mean|max] with KIND one of {', '.join(RULE_KINDS)}")
    value = _float(parts[1], "value", spec)
    agg = parts[2] if len(parts) == 3 else ""
    if agg and agg not in POS_AGGS:
        raise ValueError(f"rule '{spec}': positive aggregate must be one of {', '.join(POS_AGGS)}")
    if parts[0] == "perc" and not 0.0 < value <= 1.0:
        raise ValueError(f"rule '{spec}': perc takes a fraction in (0, 1], e.g. perc:0.95")
    return RuleSpec(parts[0], value, agg, judge.strip(), text)


def default_rule(judge: JudgeSpec) -> RuleSpec:
    """The rule a judge gets when none names it: dup -> its own threshold; llm -> P(yes) > 0.5; else perc:0.95."""
    if judge.kind == "dup":
        # scores are similarities in [0, 1]; drop at or above the threshold (abs drops strictly above)
        return RuleSpec("abs", float(judge.threshold) - 1e-6, text=f"abs:{judge.threshold:g}")
    if judge.kind == "llm":
        return RuleSpec("abs", 0.5, text="abs:0.5")
    return RuleSpec("perc", 0.95, text="perc:0.95")


def parse_policy(spec: str | None, combine: str = "any") -> tuple[tuple[str, str], ...]:
    """`relabel=all,drop=any` -> (("relabel", "all"), ("drop", "any")): the first action whose judge agreement
    holds decides a candidate. None or "" -> (("drop", combine),), today's behaviour."""
    if not spec:
        return (("drop", combine),)
    out = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        action, sep, agree = part.partition("=")
        agree = agree or "any"
        if action not in ACTIONS or agree not in COMBINE:
            raise ValueError(f"policy '{spec}': expected ACTION=AGREEMENT pairs with ACTION one of "
                             f"{', '.join(ACTIONS)} and AGREEMENT one of {', '.join(COMBINE)}, e.g. relabel=all,drop=any")
        if any(a == action for a, _ in out):
            raise ValueError(f"policy '{spec}': action '{action}' appears twice")
        out.append((action, agree))
    return tuple(out)


def margin_judge(spec: str | None, formats) -> JudgeSpec | None:
    """The judge that gives marginmse labels: required (cross-encoder or teacher) when formats hold marginmse."""
    fmts = [f.strip().lower() for x in ([formats] if isinstance(formats, str) else formats) for f in x.split(",")]
    if not any(f in ("marginmse", "margin-mse") for f in fmts):
        return parse_judge(spec) if spec else None
    if not spec:
        raise ValueError("--format marginmse takes its labels from a judge, never the miner: pass "
                         "--margin-judge teacher:mpnet or --margin-judge cross-encoder:PATH")
    j = parse_judge(spec)
    if j.kind not in ("cross-encoder", "teacher"):
        raise ValueError(f"--margin-judge '{spec}': marginmse labels need a cross-encoder or teacher judge")
    return j
