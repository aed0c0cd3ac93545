"""Any OpenAI-compatible server (vLLM, llama.cpp, Ollama, OpenAI) through the openai client."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hardneg.io import atomic_write
from hardneg.llm.base import ChatBackend, LLMError
from hardneg.paths import cache_dir

log = logging.getLogger(__name__)


class OpenAILLM(ChatBackend):
    """Chat completions over HTTP: `concurrency` threads, retries with exponential backoff, a disk cache."""

    def __init__(self, base_url: str, model: str = "", *, api_key_env: str = "OPENAI_API_KEY",
                 concurrency: int = 4, timeout: float = 60.0, max_retries: int = 5, backoff: float = 0.5,
                 cache: bool = True, cache_path: str | Path | None = None):
        import openai

        self.base_url = base_url.rstrip("/")
        # The key is read here and handed to the client only; it is never logged or cached.
        key = os.environ.get(api_key_env) or "EMPTY"
        self.client = openai.OpenAI(base_url=self.base_url, api_key=key, timeout=timeout, max_retries=0)
        self.concurrency, self.max_retries, self.backoff = max(1, concurrency), max_retries, backoff
        self.model = model or self._first_model()
        self.name = f"openai:{self.base_url}:{self.model}"
        self.cache_dir = Path(cache_path) if cache_path else (cache_dir("llm-requests") if cache else None)
        self.retries = self.cache_hits = self.malformed = 0
        self._lock = threading.Lock()

    def _first_model(self) -> str:
        try:
            models = self.client.with_options(max_retries=2).models.list()
            return models.data[0].id if models.data else "default"
        except Exception as e:  # servers without /models still answer chat requests
            log.info("could not list models at %s (%s); using 'default'", self.base_url, type(e).__name__)
            return "default"

    def _key(self, body: dict) -> str:
        blob = json.dumps({"url": self.base_url, **body}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def _cached(self, key: str) -> dict | None:
        if self.cache_dir is None:
            return None
        p = self.cache_dir / key[:2] / f"{key}.json"
        if not p.exists():
            return None
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    def _store(self, key: str, reply: dict) -> None:
        if self.cache_dir is not None:
            with atomic_write(self.cache_dir / key[:2] / f"{key}.json") as f:
                f.write(json.dumps(reply, ensure_ascii=False))

    def _one(self, body: dict) -> dict:
        import openai

        key = self._key(body)
        hit = self._cached(key)
        if hit is not None:
            with self._lock:
                self.cache_hits += 1
            return hit
        messages, rest = body["messages"], {k: v for k, v in body.items() if k not in ("messages", "model")}
        for attempt in range(self.max_retries + 1):
            wait = None
            try:
                raw = self.client.chat.completions.with_raw_response.create(
                    model=self.model, messages=messages, **rest)
                text = raw.http_response.text
            except (openai.APITimeoutError, openai.APIConnectionError) as e:
                err, wait = f"{type(e).__name__}", None
            except openai.APIStatusError as e:
                if e.status_code != 429 and e.status_code < 500:
                    raise LLMError(f"{self.base_url} answered {e.status_code}: {_short(e.message)}") from None
                err = f"HTTP {e.status_code}"
                wait = _retry_after(e.response.headers.get("retry-after"))
            else:
                try:
                    reply = json.loads(text)
                    if not isinstance(reply, dict) or not isinstance(reply.get("choices"), list):
                        raise ValueError("no choices")
                except ValueError:
                    log.warning("malformed reply from %s: %r", self.base_url, text[:200])
                    return {}
                self._store(key, reply)
                return reply
            if attempt == self.max_retries:
                raise LLMError(f"{self.base_url}: {err} after {self.max_retries + 1} attempts")
            with self._lock:
                self.retries += 1
            delay = wait if wait is not None else min(self.backoff * 2 ** attempt, 30.0)
            log.info("%s: %s, retrying in %.1fs", self.base_url, err, delay)
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _send(self, bodies: list[dict]) -> list[dict]:
        if self.concurrency == 1 or len(bodies) == 1:
            return [self._one(b) for b in bodies]
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(self._one, bodies))


def _retry_after(value: str | None) -> float | None:
    try:
        return min(max(float(value), 0.0), 60.0) if value else None
    except ValueError:
        return None


def _short(msg: str) -> str:
    return msg if len(msg) < 200 else msg[:200] + "..."
