"""Shared by the commands: the one-line error exit."""

from __future__ import annotations

from typing import NoReturn

import typer


def fail(e: Exception, code: int = 2) -> NoReturn:
    """Print `error: <message>` as one line on stderr and exit with `code` (2: bad option or data)."""
    typer.echo(f"error: {e}", err=True)
    raise typer.Exit(code)
