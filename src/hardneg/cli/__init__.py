"""The command line (typer): one module per command group; nothing outside this package imports it."""

from hardneg.cli.main import app

__all__ = ["app"]
