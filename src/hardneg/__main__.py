"""`python -m hardneg ...`: the same command line as the `hardneg` script."""

from hardneg.cli import app

app(prog_name="hardneg")
