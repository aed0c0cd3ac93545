"""`hardneg serve`: the packaged GGUF models behind an OpenAI-compatible HTTP endpoint on 127.0.0.1."""

from __future__ import annotations

import time

import typer
from rich.console import Console

console = Console(stderr=True, soft_wrap=True)


def serve(
    model: str = typer.Option("smollm2", "--model", "-m", help="smollm2, gemma or a .gguf path"),
    port: int = typer.Option(8000, help="port on 127.0.0.1 (0 = any free one)"),
    threads: int = typer.Option(2, help="llama.cpp threads"),
    ctx: int = typer.Option(4096, help="context length in tokens"),
    seconds: float = typer.Option(0, help="stop after this many seconds (0 = run until Ctrl-C)"),
) -> None:
    """Serve a local GGUF over OpenAI-compatible HTTP, for `--backend openai:URL` and `--judge llm:openai:URL`
    from other processes (one loaded model shared by several runs)."""
    from hardneg.llm.base import LLMError
    from hardneg.llm.local import serve_http

    try:
        server, url = serve_http(model, n_ctx=ctx, threads=threads, port=port)
    except LLMError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    print(url, flush=True)  # stdout: the base URL, for scripts
    console.print(f"serving {model} at {url} (OpenAI-compatible; Ctrl-C stops)")
    end = time.monotonic() + seconds if seconds > 0 else None
    try:
        while end is None or time.monotonic() < end:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    del server
