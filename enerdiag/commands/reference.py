"""`enerdiag reference check`: validate the reference data (and a city's override file) before use."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from enerdiag.errors import EXIT_BAD_INPUT, fail

reference_app = typer.Typer(help="Cited reference data: standard coal, emission factors, quotas, tariffs.",
                            no_args_is_help=True)


@reference_app.command("check")
def check(
    override: Annotated[
        Path | None, typer.Option(help="override YAML (default: ENERDIAG_REFERENCE_OVERRIDE)", dir_okay=False)
    ] = None,
) -> None:
    """Load and validate every reference table; a problem names the file, line and field (exit 2)."""
    from core.reference import ReferenceDataError, load_reference
    from core.settings import load_settings

    path = override or load_settings().reference_override
    try:
        data = load_reference(path)
    except ReferenceDataError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    quotas = len(data.quota_standards.products)
    typer.echo(f"reference data valid ({quotas} quota products){f'; override {path} applied' if path else ''}")


def register(app: typer.Typer) -> None:
    app.add_typer(reference_app, name="reference")
