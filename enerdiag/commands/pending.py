"""Commands of the contract that later issues fill in. Each says so and exits 2; none fakes output.

When an issue lands, its command moves to its own module under `enerdiag/commands/` and the
stub here is deleted.
"""

from __future__ import annotations

from typing import Annotated

import typer

from enerdiag.errors import not_available

ARGS = Annotated[list[str] | None, typer.Argument(help="arguments (not used yet)")]
PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def register(app: typer.Typer) -> None:
    """Attach the placeholder commands to the root app."""

    @app.command(context_settings=PASSTHROUGH)
    def report(args: ARGS = None) -> None:
        """Write a diagnosis report (issue #6)."""
        not_available("report", 6)

    @app.command(context_settings=PASSTHROUGH)
    def alarms(args: ARGS = None) -> None:
        """List electrical-safety alarms (issue #9)."""
        not_available("alarms", 9)
