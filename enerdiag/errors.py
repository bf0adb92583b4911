"""Exit codes and the one-line failure report every command uses (CONTRACTS.md section 4)."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class UserInputError(Exception):
    """Bad usage or bad input: exit code 2."""


class CommandFailure(Exception):
    """Anything else that went wrong: exit code 1."""


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print a one-line reason on stderr and exit with `code`."""
    one_line = " ".join(str(message).split())
    print(f"enerdiag: {one_line}", file=sys.stderr)
    raise typer.Exit(code)


def not_available(command: str, issue: int) -> NoReturn:
    """For commands of the contract that a later issue fills in: say so, exit 2, print nothing else."""
    fail(f"'{command}' is not available yet in this version (planned in issue #{issue})", EXIT_BAD_INPUT)
