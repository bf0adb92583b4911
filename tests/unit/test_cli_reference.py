"""`enerdiag reference check` validates the tables and an override file, naming the wrong line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from enerdiag.cli import app

runner = CliRunner()


def test_reference_check_passes_on_shipped_data() -> None:
    result = runner.invoke(app, ["reference", "check"])
    assert result.exit_code == 0, result.output
    assert "reference data valid" in result.output


def test_reference_check_names_line_of_unknown_override_key(tmp_path: Path) -> None:
    override = tmp_path / "city.yaml"
    override.write_text("emission_factors:\n  grid:\n    nationl: {}\n")
    result = runner.invoke(app, ["reference", "check", "--override", str(override)])
    assert result.exit_code == 2
    assert f"{override}:3" in result.output
    assert "nationl" in result.output
