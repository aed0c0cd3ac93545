"""LLM judge: asks whether the document answers the query; score = P(yes) from next-token log-probs."""

from __future__ import annotations

import logging

import numpy as np

from hardneg.validate.judges.base import PairCache

log = logging.getLogger(__name__)

SYSTEM = "You judge search results. Answer with one word: yes or no."
TEMPLATE = ("Query: {query}\n\nDocument: {doc}\n\n"
            "Does the document answer the query or contain the information it asks for? Answer yes or no.")
PROMPT_VERSION = "v1"


def prompt(query: str, doc: str, max_doc_chars: int = 2000) -> list[dict[str, str]]:
    """Chat messages for one (query, doc) pair; long documents are cut to `max_doc_chars`."""
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": TEMPLATE.format(query=query, doc=doc[:max_doc_chars])}]


def p_yes(logprobs: np.ndarray) -> np.ndarray:
    """float32 [n] P(yes) = softmax over the (yes, no) log-probs [n, 2]; NaN when neither is in the top tokens."""
    lp = np.asarray(logprobs, dtype=np.float64)
    top = lp.max(axis=1, keepdims=True)
    ok = np.isfinite(top[:, 0])
    out = np.full(lp.shape[0], np.nan, dtype=np.float32)
    if ok.any():
        e = np.exp(lp[ok] - top[ok])  # -inf -> 0: an option missing from the top list counts as ~0
        out[ok] = (e[:, 0] / e.sum(axis=1)).astype(np.float32)
    return out


class LLMJudge:
    """Score = P(yes) in [0, 1] from the first answer token; malformed replies give NaN and are counted."""

    compares = "query"
    units = "LLM P(yes) in [0,1]"

    def __init__(self, llm_spec: str = "local", name: str = "llm", batch_size: int = 64, cache: bool = True,
                 max_doc_chars: int = 2000, llm=None):
        from hardneg.llm.spec import make_llm

        self.name, self.batch_size, self.max_doc_chars = name, batch_size, max_doc_chars
        self.llm = llm if llm is not None else make_llm(llm_spec)
        self.malformed = 0
        judge_id = f"llm|{self.llm.name}|{PROMPT_VERSION}|{max_doc_chars}"
        self._cache = PairCache(judge_id) if cache else None

    def _ask(self, queries: list[str], docs: list[str]) -> np.ndarray:
        out = np.empty(len(queries), dtype=np.float32)
        for i in range(0, len(queries), self.batch_size):
            prompts = [prompt(q, d, self.max_doc_chars) for q, d in
                       zip(queries[i:i + self.batch_size], docs[i:i + self.batch_size])]
            out[i:i + len(prompts)] = p_yes(self.llm.next_token_logprobs(prompts, ["yes", "no"]))
        bad = int(np.isnan(out).sum())
        if bad:
            self.malformed += bad
            log.warning("%s: %d of %d replies had neither yes nor no among the top tokens", self.name, bad, len(out))
        return out

    def score_pairs(self, queries: list[str], docs: list[str]) -> np.ndarray:
        """float32 [n] P(yes) of each (query, doc) pair; NaN = malformed reply (never drops a candidate)."""
        if self._cache is None:
            return self._ask(list(queries), list(docs))
        return self._cache.scores(list(queries), list(docs), self._ask)
