"""`enerdiag services up|down|status`: local Mosquitto, InfluxDB (and PostgreSQL) for development."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from core.settings import run_dir
from enerdiag.errors import fail
from enerdiag.localservices import ServiceError, down, status, up
from enerdiag.localservices.stack import env_text

services_app = typer.Typer(
    help="Start/stop local Mosquitto, InfluxDB (and PostgreSQL) on 127.0.0.1, data under the run dir.",
    no_args_is_help=True,
)


def _report(error: ServiceError | OSError) -> None:
    """Log tail (if any) on stderr, then the one-line reason and exit 1."""
    if isinstance(error, ServiceError) and error.log_tail:
        print(error.log_tail, file=sys.stderr)
    fail(str(error))


@services_app.command("up")
def up_command(
    postgres: Annotated[
        bool, typer.Option("--postgres", help="also start PostgreSQL (automatic when ENERDIAG_DB_URL is postgresql…)")
    ] = False,
) -> None:
    """Start the services (or keep healthy ones); print ENERDIAG_*= lines and write them to <run dir>/env."""
    try:
        env = up(run_dir(), postgres=postgres)
    except (ServiceError, OSError) as error:
        _report(error)
    sys.stdout.write(env_text(env))


@services_app.command("down")
def down_command() -> None:
    """Stop exactly the services `up` started (pids from <run dir>/services.json); remove <run dir>/env."""
    try:
        messages = down(run_dir())
    except (ServiceError, OSError) as error:
        _report(error)
    for message in messages or ["nothing to stop"]:
        print(message, file=sys.stderr)


@services_app.command("status")
def status_command() -> None:
    """Print each service UP/DOWN with pid and URL; exit 0 when all are up, 1 otherwise."""
    try:
        rows = status(run_dir())
    except (ServiceError, OSError) as error:
        _report(error)
    for row in rows:
        print(row.line())
    if not all(row.up for row in rows):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach `enerdiag services …` to the root app."""
    app.add_typer(services_app, name="services")
