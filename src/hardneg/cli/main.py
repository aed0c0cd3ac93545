"""The `hardneg` command line: one sub-command per stage.

Errors are one line: bad options and data exit 2, anything unexpected prints `error: ...` and exits 1;
`hardneg --debug ...` shows the traceback instead.
"""

from __future__ import annotations

import sys

import typer

import hardneg

DEBUG = {"on": False}


class App(typer.Typer):
    """The typer app; an unexpected exception prints one `error:` line and exits 1 (the traceback with --debug)."""

    def __call__(self, *args, **kwargs):
        if "standalone_mode" in kwargs:
            return super().__call__(*args, **kwargs)
        try:
            from typer._click import exceptions as click  # typer vendors click; its errors are these classes
        except ImportError:  # typer versions that use click itself
            from click import exceptions as click
        abort = getattr(typer, "Abort", None) or click.Abort
        try:
            rc = super().__call__(*args, standalone_mode=False, **kwargs)
        except click.NoArgsIsHelpError as e:
            e.show()
            sys.exit(e.exit_code)
        except click.UsageError as e:  # a bad option value: one line naming it
            typer.echo(f"error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)
        except click.ClickException as e:
            e.show()
            sys.exit(e.exit_code)
        except abort:
            typer.echo("Aborted.", err=True)
            sys.exit(1)
        except Exception as e:  # noqa: BLE001 - the CLI boundary
            if DEBUG["on"]:
                raise
            msg = (str(e).strip().splitlines() or [""])[0]
            typer.echo(f"error: {type(e).__name__}: {msg} (run with --debug for the traceback)", err=True)
            sys.exit(1)
        sys.exit(rc if isinstance(rc, int) else 0)


# plain (click) help: it wraps at the terminal width and shows no type labels on flags
app = App(help="hardneg: generate queries, mine and validate hard negatives, export, train, evaluate.",
          no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hardneg {hardneg.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of an error."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """hardneg command line."""
    DEBUG["on"] = debug


# Stage commands register here (one import each).
from hardneg.cli.generate import generate; app.command("generate")(generate)  # noqa: E402,E702
from hardneg.cli.mine import mine, run_cmd; app.command("mine")(mine); app.command("run")(run_cmd)  # noqa: E402,E702
from hardneg.cli.evaluate import eval_command; app.command("eval")(eval_command)  # noqa: E402,E702
from hardneg.cli.demo import demo; app.command("demo")(demo)  # noqa: E402,E702
from hardneg.cli.validate import report_cmd, validate_cmd; app.command("validate")(validate_cmd); app.command("report")(report_cmd)  # noqa: E402,E702
from hardneg.cli.train import experiment, train; app.command("train")(train); app.command("experiment")(experiment)  # noqa: E402,E702
from hardneg.cli.convert import convert; app.command("convert")(convert)  # noqa: E402,E702
from hardneg.cli.serve import serve; app.command("serve")(serve)  # noqa: E402,E702
from hardneg.cli.review import review_cmd; app.command("review")(review_cmd)  # noqa: E402,E702
