"""`python -m enerdiag` is the `enerdiag` command."""

from enerdiag.cli import app

app()
