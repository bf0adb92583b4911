"""The `enerdiag` command offers every command of CONTRACTS.md section 4; unbuilt ones say so and exit 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from enerdiag.cli import app

CONTRACT_COMMANDS = [
    ["services", "up"],
    ["services", "down"],
    ["services", "status"],
    ["registry", "load"],
    ["registry", "mqtt-acl"],
    ["collect"],
    ["deadletters"],
    ["simulate"],
    ["rollup"],
    ["analyze"],
    ["report"],
    ["bank", "add"],
    ["bank", "key"],
    ["consent", "grant"],
    ["consent", "revoke"],
    ["alarms"],
    ["audit"],
    ["api"],
    ["dashboards", "build"],
    ["dashboards", "publish"],
    ["demo"],
]

runner = CliRunner()


@pytest.mark.parametrize("command", CONTRACT_COMMANDS, ids=" ".join)
def test_contract_command_exists(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def _pending_commands() -> list[list[str]]:
    from enerdiag.commands import pending

    probe = __import__("typer").Typer()
    pending.register(probe)
    names: list[list[str]] = [[c.name or c.callback.__name__] for c in probe.registered_commands]
    for group in probe.registered_groups:
        names += [[group.name, c.name or c.callback.__name__] for c in group.typer_instance.registered_commands]
    return names


@pytest.mark.parametrize("command", _pending_commands(), ids=" ".join)
def test_pending_commands_say_so_and_exit_2(command: list[str]) -> None:
    result = runner.invoke(app, command)
    assert result.exit_code == 2
    assert "not available yet" in result.output
    assert "issue #" in result.output


def test_unknown_command_is_usage_error() -> None:
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2
