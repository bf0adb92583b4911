"""The `enerdiag` command: one console script, one sub-command per job (CONTRACTS.md section 4)."""

from __future__ import annotations

import typer

from enerdiag.commands import (
    access,
    analyze,
    api,
    collect,
    dashboards,
    demo,
    downsample,
    orderly,
    reference,
    registry,
    report,
    safety,
    savings,
    scheduler,
    services,
    simulate,
    weather,
)

app = typer.Typer(
    name="enerdiag",
    help="enerdiag: industrial energy monitoring and energy-saving diagnosis for SMEs (工业能耗监测与节能诊断).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

COMMAND_MODULES = (
    services, registry, access, reference, collect, simulate, analyze, report, safety, api, dashboards, demo, weather,
    scheduler, downsample, savings, orderly,
)
for _commands in COMMAND_MODULES:
    _commands.register(app)


def main() -> None:  # pragma: no cover - console entry
    app()
