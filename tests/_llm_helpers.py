"""Real local LLM servers for tests: xllamacpp serving SmolLM2 on 127.0.0.1, and a stdlib server that misbehaves.

Use `llm_server_factory` (session-scoped) from any test module:
    from tests._llm_helpers import llm_server_factory  # noqa: F401  (pytest fixture)
    def test_x(llm_server_factory): url = llm_server_factory().url   # http://127.0.0.1:PORT/v1
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class LlamaServer:
    """An xllamacpp Server holding a GGUF model and listening on a free port of 127.0.0.1."""

    model: str
    server: object = None
    url: str = ""  # http://127.0.0.1:PORT/v1

    def start(self) -> "LlamaServer":
        from hardneg.llm.local import serve_http

        self.server, self.url = serve_http(self.model, n_ctx=2048, threads=1)
        return self

    def stop(self) -> None:
        self.server = None  # the Server's destructor stops its loop and frees the port


@pytest.fixture(scope="session")
def llm_server_factory():
    """Factory fixture: `llm_server_factory(model='smollm2')` -> a started LlamaServer, shared per model."""
    started: dict[str, LlamaServer] = {}

    def get(model: str = "smollm2") -> LlamaServer:
        if model not in started:
            started[model] = LlamaServer(model).start()
        return started[model]

    yield get
    for s in started.values():
        s.stop()


REPLY = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                      "logprobs": {"content": [{"token": "ok", "logprob": -0.5, "top_logprobs": [
                          {"token": "ok", "logprob": -0.5}, {"token": "no", "logprob": -1.5}]}]},
                      "finish_reason": "stop"}],
         "usage": {"completion_tokens": 1}}


@dataclass
class BadServer:
    """A stdlib HTTP server whose answers follow a script: 'ok', 'slow', '429', '500', 'badjson'; then 'ok'."""

    script: list[str] = field(default_factory=list)
    delay: float = 2.0
    requests: list[dict] = field(default_factory=list)

    def start(self) -> "BadServer":
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep test output clean
                pass

            def do_GET(self):
                self._send(200, json.dumps({"data": [{"id": "bad-model", "object": "model"}]}))

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with lock:
                    outer.requests.append({"body": body, "auth": self.headers.get("Authorization")})
                    step = outer.script.pop(0) if outer.script else "ok"
                if step == "slow":
                    time.sleep(outer.delay)
                    self._send(200, json.dumps(REPLY))
                elif step in ("429", "500", "503", "400"):
                    self._send(int(step), json.dumps({"error": {"message": step}}), {"Retry-After": "0"})
                elif step == "badjson":
                    self._send(200, '{"choices": [ {"message": ')
                else:
                    self._send(200, json.dumps(REPLY))

            def _send(self, code, text, headers=None):
                data = text.encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass

        lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def bad_server():
    s = BadServer().start()
    yield s
    s.stop()
