"""The `hardneg` command line: one sub-command per stage."""

from __future__ import annotations

import typer

app = typer.Typer(help="hardneg: generate queries, mine and validate hard negatives, export, train, evaluate.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False)


@app.callback()
def main() -> None:
    """hardneg command line."""


# Stage commands register here (one import each).
from hardneg.generate.cli import generate; app.command("generate")(generate)  # noqa: E402,E702
from hardneg.pipeline.cli import mine; app.command("mine")(mine)  # noqa: E402,E702
from hardneg.evaluate.cli import eval_command; app.command("eval")(eval_command)  # noqa: E402,E702
from hardneg.pipeline.demo import demo; app.command("demo")(demo)  # noqa: E402,E702
from hardneg.validate.cli import report_cmd, validate_cmd; app.command("validate")(validate_cmd); app.command("report")(report_cmd)  # noqa: E402,E702
from hardneg.train.cli import experiment, train; app.command("train")(train); app.command("experiment")(experiment)  # noqa: E402,E702
from hardneg.data.cli import convert; app.command("convert")(convert)  # noqa: E402,E702
from hardneg.llm.cli import serve; app.command("serve")(serve)  # noqa: E402,E702
from hardneg.review.cli import review_cmd; app.command("review")(review_cmd)  # noqa: E402,E702
