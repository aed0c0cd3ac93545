"""Shared by the commands: the one-line error exit and the validation options of `mine` and `validate`."""

from __future__ import annotations

from typing import Annotated, NoReturn, Optional

import typer

from hardneg.validate.spec import CASCADE_HELP, DROP_QUERY_HELP, MARGIN_HELP, POLICY_HELP, RELABEL_HELP, TARGET_HELP


def fail(e: Exception, code: int = 2) -> NoReturn:
    """Print `error: <message>` as one line on stderr and exit with `code` (2: bad option or data)."""
    typer.echo(f"error: {e}", err=True)
    raise typer.Exit(code)


# the validation options `mine` and `validate` share
Policy = Annotated[Optional[str], typer.Option(help=POLICY_HELP)]
DropQuery = Annotated[Optional[float], typer.Option(help=DROP_QUERY_HELP)]
Cascade = Annotated[Optional[float], typer.Option(help=CASCADE_HELP)]
TargetFnRate = Annotated[Optional[float], typer.Option(help=TARGET_HELP)]
RelabelPrecision = Annotated[float, typer.Option(help=RELABEL_HELP)]
MarginJudge = Annotated[Optional[str], typer.Option(help=MARGIN_HELP)]
