"""LLM backends behind one contract: local GGUF (xllamacpp), OpenAI-compatible HTTP, HF transformers."""

from hardneg.llm.base import LLM, Generation, LLMError, Prompt
from hardneg.llm.spec import LLMSpec, make_llm, parse_llm_spec

__all__ = ["LLM", "Generation", "LLMError", "LLMSpec", "Prompt", "make_llm", "parse_llm_spec"]
