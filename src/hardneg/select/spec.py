"""Selection specs: one parser turns `top`, `range:10-50:random`, `topk-percpos:0.95`, `simans:a=1,b=0.1` into a Strategy."""

from __future__ import annotations

from dataclasses import asdict, dataclass

KINDS = ("top", "range", "random", "topk-abs", "topk-marginpos", "topk-percpos", "simans")
SAMPLING = ("top", "random", "simans")
POS_SCORE = ("min", "mean", "max")


@dataclass(frozen=True)
class Strategy:
    """How negatives are chosen from a query's ranked candidates (scores in the miner's units).

    window:   (lo, hi) 0-based positions [lo, hi) among the candidates left after every rule; None = all.
    sampling: `top` (best first), `random` (uniform) or `simans` (p ~ exp(-a (s_neg - s_pos - b)^2)).
    abs_max / margin / perc: NV-Retriever TopK-Abs / MarginPos / PercPos cut-offs (None = off).
    min_score / max_score: plain score bounds (None = off).
    from_corpus: `random` draws from the whole corpus (minus positives), not from the search results.
    """

    kind: str = "top"
    window: tuple[int, int] | None = None
    sampling: str = "top"
    abs_max: float | None = None
    margin: float | None = None
    perc: float | None = None
    min_score: float | None = None
    max_score: float | None = None
    a: float = 1.0
    b: float = 0.0
    from_corpus: bool = False

    @property
    def positive_aware(self) -> bool:
        """True when a rule needs the positive's score."""
        return self.margin is not None or self.perc is not None or self.sampling == "simans"

    @property
    def has_rules(self) -> bool:
        return any(v is not None for v in (self.abs_max, self.margin, self.perc, self.min_score, self.max_score))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["window"] = list(self.window) if self.window else None
        return d


def _window(text: str, spec: str) -> tuple[int, int]:
    try:
        lo, hi = (int(x) for x in text.split("-"))
    except ValueError:
        raise ValueError(f"strategy '{spec}': window must be MIN-MAX, e.g. 10-50, got '{text}'") from None
    if lo < 0 or hi <= lo:
        raise ValueError(f"strategy '{spec}': window {lo}-{hi} needs 0 <= MIN < MAX")
    return lo, hi


def _float(text: str, spec: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"strategy '{spec}': {what} must be a number, got '{text}'") from None


def parse_strategy(spec: str, min_score: float | None = None, max_score: float | None = None) -> Strategy:
    """Parse `NAME[:ARG][:OPTION,...]`; options: `random`, `top`, `range=LO-HI`, `min=X`, `max=X`, `a=X`, `b=X`."""
    parts = [p.strip() for p in spec.strip().split(":")]
    kind = parts[0].lower()
    if kind not in KINDS:
        raise ValueError(f"unknown strategy '{spec}' (choose from {', '.join(KINDS)})")
    f: dict = {"kind": kind, "min_score": min_score, "max_score": max_score}
    rest = parts[1:]
    if kind == "range":
        if not rest:
            raise ValueError(f"strategy '{spec}': range needs MIN-MAX, e.g. range:10-50")
        f["window"] = _window(rest.pop(0), spec)
    elif kind.startswith("topk-"):
        if not rest:
            raise ValueError(f"strategy '{spec}': {kind} needs a value, e.g. {kind}:0.95")
        val = _float(rest.pop(0), spec, "the cut-off")
        if kind == "topk-percpos" and not 0.0 < val <= 1.0:
            raise ValueError(f"strategy '{spec}': topk-percpos takes a fraction in (0, 1], e.g. topk-percpos:0.95")
        key = {"topk-abs": "abs_max", "topk-marginpos": "margin", "topk-percpos": "perc"}[kind]
        f[key] = val
    elif kind == "random":
        f["sampling"], f["from_corpus"] = "random", True
    elif kind == "simans":
        f["sampling"] = "simans"
    for part in rest:
        for opt in filter(None, (o.strip() for o in part.split(","))):
            if opt in SAMPLING:
                f["sampling"] = opt
                continue
            if "=" not in opt:
                raise ValueError(f"strategy '{spec}': cannot read option '{opt}'")
            key, val = (x.strip() for x in opt.split("=", 1))
            if key == "range":
                f["window"] = _window(val, spec)
            elif key in ("min", "max"):
                f[f"{key}_score"] = _float(val, spec, key)
            elif key in ("a", "b"):
                f[key] = _float(val, spec, key)
            else:
                raise ValueError(f"strategy '{spec}': unknown option '{key}'")
    if f.get("from_corpus") and (f.get("window") or f.get("sampling") != "random"):
        raise ValueError(f"strategy '{spec}': random draws from the whole corpus and takes no window or sampling")
    return Strategy(**f)
