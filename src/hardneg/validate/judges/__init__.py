"""Judges behind one contract: score_pairs(anchors, docs) -> float32 scores, higher = more relevant."""

from __future__ import annotations

from hardneg.validate.judges.base import Judge, PairCache
from hardneg.validate.spec import JudgeSpec, parse_judge

__all__ = ["Judge", "PairCache", "make_judge"]


def make_judge(spec: str | JudgeSpec, name: str | None = None, **options) -> Judge:
    """Build the judge a spec names (`cross-encoder:PATH`, `teacher:mpnet`, `llm:local`, `dup:jaccard:0.8`)."""
    s = parse_judge(spec) if isinstance(spec, str) else spec
    name = name or s.name
    if s.max_length:
        options.setdefault("max_length", s.max_length)
    if s.kind == "cross-encoder":
        from hardneg.validate.judges.cross import CrossEncoderJudge

        return CrossEncoderJudge(s.model, name=name, **options)
    if s.kind == "teacher":
        from hardneg.validate.judges.teacher import TeacherJudge

        return TeacherJudge(s.model, name=name, **options)
    if s.kind == "llm":
        from hardneg.validate.judges.llm import LLMJudge

        llm = f"local:{s.model}" if s.method == "local" and s.model else s.method
        if s.method == "openai":
            llm = f"openai:{s.url}" + (f":{s.model}" if s.model else "")
        return LLMJudge(llm, name=name, **options)
    from hardneg.validate.judges.dup import DupJudge

    return DupJudge(s.method, s.ngram, s.threshold, name=name, **options)
