"""The LLM contract: generate texts with token log-probs, and score answer options by log-prob."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, Sequence, Union, runtime_checkable

import numpy as np

# A prompt is a plain string (sent as one user message where the model has a chat template)
# or a list of chat messages [{"role": ..., "content": ...}].
Message = dict[str, str]
Prompt = Union[str, list[Message]]


class LLMError(RuntimeError):
    """A backend could not produce an answer (after its retries)."""


@dataclass
class Generation:
    """One completion: text, natural-log probability of each generated token, token count."""

    text: str
    token_logprobs: list[float] = field(default_factory=list)
    n_tokens: int = 0
    prompt_tokens: int = 0  # when the backend reports it
    ok: bool = True  # False when the reply was malformed or failed; text is then ""

    @property
    def mean_logprob(self) -> float:
        """Mean token log-prob (nats per token; -inf when there are no tokens)."""
        if not self.token_logprobs:
            return -math.inf
        return float(np.mean(self.token_logprobs))


@runtime_checkable
class LLM(Protocol):
    """A backend chosen by a spec string: `local`, `local:gemma`, `openai:URL[:MODEL]`, `hf:MODEL`."""

    name: str

    def generate(self, prompts: Sequence[Prompt], *, max_tokens: int = 64, temperature: float = 0.0,
                 seed: int | Sequence[int] = 0, stop: list[str] | None = None) -> list[Generation]:
        """One Generation per prompt; `seed` may be one int or one per prompt."""

    def next_token_logprobs(self, prompts: Sequence[Prompt], options: Sequence[str]) -> np.ndarray:
        """[n, len(options)] float32 log-probs (nats) of each option as the first answer token; -inf when absent."""


def as_messages(prompt: Prompt) -> list[Message]:
    """A prompt as chat messages (a plain string becomes one user message)."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    if not isinstance(prompt, list) or not all(isinstance(m, dict) and "content" in m for m in prompt):
        raise TypeError("a prompt is a string or a list of {'role', 'content'} messages")
    return prompt


def seeds_for(seed: int | Sequence[int], n: int) -> list[int]:
    if isinstance(seed, (int, np.integer)):
        return [int(seed)] * n
    seeds = [int(s) for s in seed]
    if len(seeds) != n:
        raise ValueError(f"got {len(seeds)} seeds for {n} prompts")
    return seeds


def parse_choice(reply: dict) -> Generation:
    """A Generation from an OpenAI-shaped (chat) completion reply; malformed replies give ok=False."""
    try:
        choice = reply["choices"][0]
        msg = choice.get("message")
        text = msg.get("content") if isinstance(msg, dict) else choice.get("text")
        if not isinstance(text, str):
            return Generation("", [], 0, ok=False)
        lps = _token_logprobs(choice.get("logprobs"))
        usage = reply.get("usage") or {}
        n = int(usage.get("completion_tokens") or len(lps))
        return Generation(text, lps, n, int(usage.get("prompt_tokens") or 0))
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        return Generation("", [], 0, ok=False)


def _token_logprobs(lp) -> list[float]:
    if not lp:
        return []
    if isinstance(lp.get("content"), list):  # chat format and llama.cpp's completion format
        return [float(t["logprob"]) for t in lp["content"]]
    if isinstance(lp.get("token_logprobs"), list):  # legacy completions format
        return [float(x) for x in lp["token_logprobs"] if x is not None]
    return []


def first_token_tops(reply: dict) -> dict[str, float]:
    """{token text: log-prob} of the top alternatives for the first generated token of a reply."""
    lp = reply["choices"][0].get("logprobs") or {}
    if isinstance(lp.get("content"), list) and lp["content"]:
        first = lp["content"][0]
        tops = {t["token"]: float(t["logprob"]) for t in first.get("top_logprobs") or []}
        tops.setdefault(first["token"], float(first["logprob"]))
        return tops
    if isinstance(lp.get("top_logprobs"), list) and lp["top_logprobs"]:
        return {k: float(v) for k, v in lp["top_logprobs"][0].items()}
    return {}


def match_options(tops: dict[str, float], options: Sequence[str]) -> np.ndarray:
    """Log-prob of each option among the top tokens (case and surrounding space ignored; best match wins)."""
    out = np.full(len(options), -np.inf, dtype=np.float32)
    keys = [o.strip().lower() for o in options]
    for tok, lp in tops.items():
        t = tok.strip().lower()
        for j, k in enumerate(keys):
            if t == k and lp > out[j]:
                out[j] = lp
    return out


class ChatBackend:
    """Shared logic of backends that speak OpenAI-shaped chat requests; subclasses send the bodies."""

    name = "chat"
    model = ""
    top_logprobs = 20  # the OpenAI API's maximum
    malformed = 0  # replies that could not be parsed (counted, not fatal)

    def _send(self, bodies: list[dict]) -> list[dict]:
        raise NotImplementedError

    def _body(self, prompt: Prompt, max_tokens: int, temperature: float, seed: int,
              stop: list[str] | None, top: int = 0) -> dict:
        body = {"messages": as_messages(prompt), "max_tokens": int(max_tokens),
                "temperature": float(temperature), "seed": int(seed), "logprobs": True}
        if self.model:
            body["model"] = self.model
        if top:
            body["top_logprobs"] = int(top)
        if stop:
            body["stop"] = list(stop)
        return body

    def generate(self, prompts: Sequence[Prompt], *, max_tokens: int = 64, temperature: float = 0.0,
                 seed: int | Sequence[int] = 0, stop: list[str] | None = None) -> list[Generation]:
        """One Generation per prompt (token log-probs in nats)."""
        seeds = seeds_for(seed, len(prompts))
        bodies = [self._body(p, max_tokens, temperature, s, stop) for p, s in zip(prompts, seeds)]
        gens = [parse_choice(r) for r in self._send(bodies)]
        self.malformed += sum(not g.ok for g in gens)
        return gens

    def next_token_logprobs(self, prompts: Sequence[Prompt], options: Sequence[str]) -> np.ndarray:
        """[n, len(options)] float32 log-probs (nats) of each option as the first answer token; -inf when absent."""
        bodies = [self._body(p, 1, 0.0, 0, None, top=self.top_logprobs) for p in prompts]
        out = np.full((len(prompts), len(options)), -np.inf, dtype=np.float32)
        for i, reply in enumerate(self._send(bodies)):
            try:
                out[i] = match_options(first_token_tops(reply), options)
            except (KeyError, IndexError, TypeError, ValueError, AttributeError):
                self.malformed += 1
        return out
