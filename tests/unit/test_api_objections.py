"""`enerdiag objection add|list|resolve` (异议) on a SQLite registry; bad input exits 2 with the reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from core.settings import get_settings
from enerdiag.commands import api as api_commands
from tests.unit.test_api_support import E1, GHOST, World, make_world

runner = CliRunner()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[typer.Typer, World]]:
    world = make_world(tmp_path)
    monkeypatch.setenv("ENERDIAG_DB_URL", world.url)
    get_settings.cache_clear()
    app = typer.Typer()
    api_commands.register(app)
    yield app, world
    get_settings.cache_clear()


def test_add_list_resolve(cli: tuple[typer.Typer, World]) -> None:
    app, _ = cli
    added = runner.invoke(app, ["objection", "add", E1.lower(), "--indicator", "utilisation",
                                "--text", "10月停产检修，非经营异常", "--period", "2026-10"])
    assert added.exit_code == 0, added.output
    objection_id = int(added.stdout.strip())
    listed = json.loads(runner.invoke(app, ["objection", "list", E1, "--open", "--json"]).stdout)
    assert [(o["id"], o["indicator"], o["period"], o["text"]) for o in listed] == [
        (objection_id, "utilisation", "2026-10", "10月停产检修，非经营异常")]
    resolved = runner.invoke(app, ["objection", "resolve", str(objection_id), "--resolution", "已核实"])
    assert resolved.exit_code == 0, resolved.output
    assert json.loads(runner.invoke(app, ["objection", "list", E1, "--open", "--json"]).stdout) == []
    closed = json.loads(runner.invoke(app, ["objection", "list", E1, "--json"]).stdout)
    assert closed[0]["resolution"] == "已核实" and closed[0]["resolved_at"] is not None


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["objection", "add", GHOST, "--indicator", "utilisation", "--text", "x"], "no enterprise"),
        (["objection", "add", E1, "--indicator", "beauty", "--text", "x"], "unknown indicator 'beauty'"),
        (["objection", "add", E1, "--indicator", "utilisation", "--text", "  "], "must not be empty"),
        (["objection", "resolve", "999", "--resolution", "x"], "no objection with id 999"),
    ],
)
def test_bad_input_exits_2_with_the_reason(cli: tuple[typer.Typer, World], args: list[str], words: str) -> None:
    app, _ = cli
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert words in result.stderr
