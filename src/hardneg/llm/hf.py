"""Hugging Face transformers models by path or hub id: seq2seq (doc2query T5) or causal LMs."""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from hardneg.llm.base import Generation, Prompt, as_messages, seeds_for

log = logging.getLogger(__name__)


class HFLLM:
    """transformers generate() with per-token log-probs (nats); chat template applied where the tokenizer has one."""

    def __init__(self, model: str, *, device: str | None = None, batch_size: int = 8, max_input_tokens: int = 512):
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

        self.name = f"hf:{model}"
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        cfg = AutoConfig.from_pretrained(model)
        self.seq2seq = bool(getattr(cfg, "is_encoder_decoder", False))
        cls = AutoModelForSeq2SeqLM if self.seq2seq else AutoModelForCausalLM
        self.tok = AutoTokenizer.from_pretrained(model)
        self.model = cls.from_pretrained(model).to(self.device).eval()
        if not self.seq2seq:
            self.tok.padding_side = "left"
        if self.tok.pad_token is None:
            self.tok.pad_token = self.tok.eos_token
        self.batch_size, self.max_input_tokens = batch_size, max_input_tokens
        self.malformed = 0

    def _text(self, prompt: Prompt) -> str:
        if self.seq2seq or not getattr(self.tok, "chat_template", None):
            return prompt if isinstance(prompt, str) else "\n\n".join(m["content"] for m in prompt)
        return self.tok.apply_chat_template(as_messages(prompt), tokenize=False, add_generation_prompt=True)

    def _encode(self, prompts: Sequence[Prompt]):
        texts = [self._text(p) for p in prompts]
        enc = self.tok(texts, return_tensors="pt", padding=True, truncation=True,
                       max_length=self.max_input_tokens, add_special_tokens=self.seq2seq or
                       not getattr(self.tok, "chat_template", None))
        return {k: v.to(self.device) for k, v in enc.items()}

    def generate(self, prompts: Sequence[Prompt], *, max_tokens: int = 64, temperature: float = 0.0,
                 seed: int | Sequence[int] = 0, stop: list[str] | None = None) -> list[Generation]:
        """One Generation per prompt; prompts sharing a batch are sampled with the batch's first seed."""
        import torch

        seeds = seeds_for(seed, len(prompts))
        out: list[Generation] = []
        for s in range(0, len(prompts), self.batch_size):
            batch = list(prompts[s:s + self.batch_size])
            enc = self._encode(batch)
            torch.manual_seed(seeds[s])
            kw = dict(do_sample=True, temperature=temperature) if temperature > 0 else dict(do_sample=False)
            with torch.inference_mode():
                res = self.model.generate(**enc, max_new_tokens=max_tokens, output_scores=True,
                                          return_dict_in_generate=True, pad_token_id=self.tok.pad_token_id, **kw)
                lps = self.model.compute_transition_scores(res.sequences, res.scores, normalize_logits=True)
            new = res.sequences[:, 1:] if self.seq2seq else res.sequences[:, enc["input_ids"].shape[1]:]
            n_in = enc["attention_mask"].sum(1).tolist()
            for toks, lp, n_p in zip(new.tolist(), lps.float().cpu().numpy(), n_in):
                keep = [i for i, t in enumerate(toks) if t not in (self.tok.pad_token_id, self.tok.eos_token_id)]
                n = (max(keep) + 1) if keep else 0
                text = self.tok.decode(toks[:n], skip_special_tokens=True).strip()
                out.append(Generation(_cut(text, stop), [float(x) for x in lp[:n]], n, int(n_p)))
        return out

    def next_token_logprobs(self, prompts: Sequence[Prompt], options: Sequence[str]) -> np.ndarray:
        """[n, len(options)] float32 log-probs (nats) of each option's first token (with or without a leading space)."""
        import torch

        ids = [sorted({self.tok.encode(v, add_special_tokens=False)[0] for v in (o, " " + o) if v.strip()})
               for o in options]
        out = np.full((len(prompts), len(options)), -np.inf, dtype=np.float32)
        for s in range(0, len(prompts), self.batch_size):
            enc = self._encode(list(prompts[s:s + self.batch_size]))
            with torch.inference_mode():
                if self.seq2seq:
                    start = torch.full((enc["input_ids"].shape[0], 1), self.model.config.decoder_start_token_id,
                                       device=self.device)
                    logits = self.model(**enc, decoder_input_ids=start).logits[:, -1]
                else:
                    logits = self.model(**enc).logits[:, -1]
            lp = torch.log_softmax(logits.float(), -1).cpu().numpy()
            for j, cand in enumerate(ids):
                out[s:s + len(lp), j] = lp[:, cand].max(axis=1)
        return out


def _cut(text: str, stop: list[str] | None) -> str:
    for st in stop or []:
        i = text.find(st)
        if i >= 0:
            text = text[:i]
    return text
