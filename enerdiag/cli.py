"""The `enerdiag` command: one console script, one sub-command per job (CONTRACTS.md section 4)."""

from __future__ import annotations

import typer

from enerdiag.commands import access, analyze, api, demo, pending, reference, registry, safety, services, simulate

app = typer.Typer(
    name="enerdiag",
    help="enerdiag: industrial energy monitoring and energy-saving diagnosis for SMEs (工业能耗监测与节能诊断).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

services.register(app)
registry.register(app)
access.register(app)
reference.register(app)
analyze.register(app)
api.register(app)
safety.register(app)
simulate.register(app)
demo.register(app)
pending.register(app)


def main() -> None:  # pragma: no cover - console entry
    app()
