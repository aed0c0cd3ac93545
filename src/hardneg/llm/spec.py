"""Parse LLM spec strings (`local`, `local:gemma`, `local:PATH.gguf`, `openai:URL[:MODEL]`, `hf:MODEL`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hardneg.llm.base import LLM

_URL = re.compile(r"^(https?://[^/:]+(?::\d+)?(?:/[^:]*)?)(?::(.+))?$")


@dataclass(frozen=True)
class LLMSpec:
    kind: str  # local | openai | hf
    model: str = ""  # local: smollm2/gemma/PATH; openai: model name ('' = the server's first); hf: path or hub id
    url: str = ""


def parse_llm_spec(spec: str) -> LLMSpec:
    """One parser for every LLM spec string; raises ValueError naming the accepted forms."""
    spec = spec.strip()
    kind, _, rest = spec.partition(":")
    if kind == "local":
        return LLMSpec("local", rest or "smollm2")
    if kind == "hf" and rest:
        return LLMSpec("hf", rest)
    if kind == "openai" and rest:
        m = _URL.match(rest)
        if m:
            return LLMSpec("openai", m.group(2) or "", m.group(1))
    raise ValueError(f"unknown LLM spec '{spec}': use local, local:gemma, local:PATH.gguf, "
                     "openai:URL[:MODEL] (e.g. openai:http://127.0.0.1:8000/v1:qwen2.5) or hf:MODEL")


def make_llm(spec: str | LLMSpec, **options) -> LLM:
    """Build the backend a spec names; `options` go to its constructor (api_key_env, concurrency, ...)."""
    s = parse_llm_spec(spec) if isinstance(spec, str) else spec
    if s.kind == "local":
        from hardneg.llm.local import LocalLLM

        return LocalLLM(s.model, **options)
    if s.kind == "hf":
        from hardneg.llm.hf import HFLLM

        return HFLLM(s.model, **options)
    from hardneg.llm.openai_http import OpenAILLM

    return OpenAILLM(s.url, s.model, **options)
