"""`enerdiag simulate city|replay` from the command line: outputs, exit codes, messages."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
import typer
import yaml
from typer.testing import CliRunner

from core.registry.creditcode import is_valid_credit_code
from core.registry.loader import parse_registry
from enerdiag.commands import simulate
from tests.support.datasets import UCI_STEEL_2018

UCI = UCI_STEEL_2018
REFERENCE = Path(__file__).resolve().parents[2] / "core" / "reference" / "data"


@pytest.fixture
def app() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """Test root."""

    simulate.register(root)
    return root


def _invoke(app: typer.Typer, *args: str):
    return CliRunner().invoke(app, ["simulate", *args])


def test_city_dry_run_writes_messages_registry_and_truth(app: typer.Typer, tmp_path: Path) -> None:
    out, reg, truth = tmp_path / "m.jsonl", tmp_path / "city.yaml", tmp_path / "truth.json"
    result = _invoke(
        app,
        "city",
        "--plants",
        "6",
        "--days",
        "2",
        "--seed",
        "4",
        "--end",
        "2026-11-20",
        "--out",
        str(out),
        "--registry-out",
        str(reg),
        "--truth-out",
        str(truth),
        "--faults",
        "malformed",
        "--fault-share",
        "0.5",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert summary["messages"] == len(lines) and summary["published"] is False
    readings = sum(
        len(x["payload"]["readings"])
        for x in lines
        if isinstance(x.get("payload"), dict) and isinstance(x["payload"].get("readings"), list)
    )
    assert readings >= summary["readings"]
    assert sum(1 for x in lines if "payload_text" in x) == 3  # one not-JSON payload per faulted plant
    manifest = json.loads(truth.read_text())
    assert manifest["from"] == "2026-11-18" and manifest["to"] == "2026-11-20"
    assert len(manifest["plants"]) == 6 and sum(1 for p in manifest["plants"] if p["faults"]) == 3
    assert all(is_valid_credit_code(p["enterprise"]) for p in manifest["plants"])
    assert "enterprises:" in reg.read_text(encoding="utf-8")


def test_city_with_safety_faults_lists_them_and_files_the_rated_currents(app: typer.Typer, tmp_path: Path) -> None:
    out, reg, truth = tmp_path / "m.jsonl", tmp_path / "city.yaml", tmp_path / "truth.json"
    args = ["city", "--plants", "12", "--days", "2", "--step", "300", "--seed", "6", "--end", "2026-03-10",
            "--safety-faults", "--safety-share", "0.5", "--safety-max-per-day", "2",
            "--out", str(out), "--registry-out", str(reg), "--truth-out", str(truth)]
    result = _invoke(app, *args)
    assert result.exit_code == 0, result.output
    quota_products = set(yaml.safe_load((REFERENCE / "quota_standards.yaml").read_text())["products"])
    rated = {(e.code, m.meter_id): m.rated_current_a for e in parse_registry(reg, quota_products).enterprises
             for m in e.meters if m.role == "safety"}
    assert len(rated) == 6 and all(a in (100, 160, 250, 400, 630) for a in rated.values())
    manifest = json.loads(truth.read_text())
    assert manifest["safety"]["share"] == 0.5 and manifest["safety"]["meters"] == 6
    faults = [(p["enterprise"], f) for p in manifest["plants"] for f in p["safety_faults"]]
    assert len(faults) >= 6 and all((code, f["meter"]) in rated for code, f in faults)
    readings: dict[tuple[str, str], dict[int, dict]] = {}
    for x in (orjson.loads(line) for line in out.read_bytes().splitlines()):
        code = x["topic"].split("/")[2]
        for r in x["payload"]["readings"]:
            readings.setdefault((code, r["meter"]), {})[r["ts"]] = r["values"]
    for code, f in faults:  # the fault is in what the gateway sent, over its whole window
        seen = [v for ts, v in readings[(code, f["meter"])].items() if f["start_epoch"] <= ts < f["end_epoch"]]
        assert len(seen) >= 4
        if f["kind"] == "leakage":
            assert min(v["leakage_ma"] for v in seen) > 300
        elif f["kind"] == "overload":
            assert min(v["current_a"] for v in seen) > 1.05 * rated[(code, f["meter"])]
        elif f["kind"] == "voltage_sag":
            assert max(v["voltage_v"] for v in seen) < 198
    again = _invoke(app, *[a if a != str(truth) else str(tmp_path / "again.json") for a in args])
    assert again.exit_code == 0 and json.loads((tmp_path / "again.json").read_text()) == manifest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("city", "--mode", "sideways"), "--mode must be one of"),
        (("city", "--mode", "realtime", "--step", "7"), "--step: 7 s does not divide a day"),
        (("city", "--end", "tomorrow"), "--end: 'tomorrow' is not a date"),
        (("city", "--problem-share", "2"), "problem share must be within 0..1"),
        (("city", "--faults", "gremlins"), "unknown fault kind(s) gremlins"),
        (("city", "--problems", "leaky_roof"), "unknown problem kind(s) leaky_roof"),
        (("city", "--mode", "realtime", "--faults", "gap"), "backfill mode only"),
        (("city", "--mode", "realtime", "--safety-faults"), "--safety-faults are injected in backfill mode only"),
        (("city", "--safety-share", "1.5"), "safety share must be within 0..1"),
        (("city", "--safety-faults", "--safety-max-per-day", "9"), "safety faults per day must be within 0..6"),
        (("city", "--mqtt-url", "http://x:1"), "must look like mqtt://host:port"),
        (("replay", str(UCI), "--enterprise", "91140200MA0H2KXX89", "--meter", "M01"), "wrong check character"),
        (("replay", "/nonexistent.csv", "--enterprise", "91140214MA75QTJ143", "--meter", "M01"), "cannot read CSV"),
    ],
)
def test_bad_input_exits_2_with_a_reason(app: typer.Typer, args: tuple[str, ...], message: str) -> None:
    result = _invoke(app, *args, "--days", "1") if args[0] == "city" else _invoke(app, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_replay_to_file_reports_the_files_total(app: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "uci.jsonl"
    result = _invoke(
        app,
        "replay",
        str(UCI),
        "--enterprise",
        "91140214MA75QTJ143",
        "--meter",
        "M09",
        "--gateway",
        "steel",
        "--out",
        str(out),
        "--registry-out",
        str(tmp_path / "replay.yaml"),
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["total_kwh"] == pytest.approx(959_636.71) and summary["intervals"] == 35_040
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert {x["topic"] for x in lines} == {"em/v1/91140214MA75QTJ143/steel/telemetry"}
    energy = [r["values"]["energy_kwh"] for x in lines for r in x["payload"]["readings"]]
    assert energy[-1] - energy[0] == pytest.approx(959_636.71, abs=0.01)
    spec = parse_registry(tmp_path / "replay.yaml")
    (enterprise,) = spec.enterprises
    assert enterprise.code == "91140214MA75QTJ143"
    assert [(m.meter_id, m.gateway_id, m.role) for m in enterprise.meters] == [("M09", "steel", "main")]


def test_unreachable_broker_fails_fast_with_exit_1(app: typer.Typer) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = _invoke(app, "city", "--plants", "2", "--days", "1", "--mqtt-url", f"mqtt://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert f"cannot connect to 127.0.0.1:{port}" in result.stderr
