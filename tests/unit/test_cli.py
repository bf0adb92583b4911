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


def test_unknown_command_is_usage_error() -> None:
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2
