"""`enerdiag orderly plan` and `verify` on the real services: a simulated county's hourly rollups in InfluxDB, its
registry (with `orderly:` blocks) in SQLite; the plan meets the shortfall, the verification finds who ignored it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from analytics.calendar import local_midnight_s
from core.influx import InfluxV1, line
from core.registry.db import dispose_engines, session_scope
from core.registry.loader import load_registry_file
from core.settings import get_settings
from enerdiag.commands import orderly as orderly_commands
from simulators.orderly import build_scenario, hourly_kwh, respond
from simulators.registry import dump

pytestmark = pytest.mark.integration

FIRST = dt.date(2026, 10, 26)  # a Monday; no public holiday up to the event on 2026-11-24
DAYS = 30
EVENT = FIRST + dt.timedelta(days=DAYS - 1)


def _lines(code: str, kwh: dict[str, np.ndarray], days: range) -> list[str]:
    out = []
    for d in days:
        midnight = local_midnight_s(FIRST + dt.timedelta(days=d), "Asia/Shanghai")
        for meter, grid in kwh.items():
            out += [line("consumption_hourly", {"enterprise": code, "meter": meter, "quantity": "energy_kwh"},
                         {"value": float(grid[d, h]), "completeness": 1.0}, midnight + 3600 * h) for h in range(24)]
    return out


def test_plan_and_verify_a_county(services, influx_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENERDIAG_INFLUX_DB", influx_db)
    monkeypatch.setenv("ENERDIAG_DB_URL", f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    get_settings.cache_clear()
    scenario = build_scenario(8, 28, FIRST, DAYS, ignore_share=0.25)
    registry = tmp_path / "registry.yaml"
    registry.write_text(dump(scenario.registry()), encoding="utf-8")
    with session_scope() as session:
        load_registry_file(session, registry)
    influx = InfluxV1(services.influx_url, influx_db)
    kwh = {p.spec.code: hourly_kwh(p.spec, FIRST, DAYS) for p in scenario.plants}
    influx.write([x for code, grid in kwh.items() for x in _lines(code, grid, range(DAYS - 1))])
    root = typer.Typer()
    orderly_commands.register(root)
    runner = CliRunner()
    try:
        probe = runner.invoke(root, ["orderly", "plan", "--date", EVENT.isoformat(), "--hours", "09-12",
                                     "--shortfall-kw", "10000000", "--county", "云冈区", "--json"])
        assert probe.exit_code == 0, probe.output
        most = json.loads(probe.output)
        assert not most["met"] and "保安负荷" in most["reason"] and 0 < most["planned_kw"] <= most["reducible_kw"]
        assert f"最多可安排 {most['planned_kw']:.0f} kW" in most["reason"]
        shortfall = round(0.5 * most["planned_kw"])
        plan_file = tmp_path / "plan.json"
        done = runner.invoke(root, ["orderly", "plan", "--date", EVENT.isoformat(), "--hours", "09-12",
                                    "--shortfall-kw", str(shortfall), "--county", "云冈区", "--json",
                                    "--out", str(plan_file), "--publish"])
        assert done.exit_code == 0, done.output
        plan = json.loads(done.output)
        assert plan["met"] and plan["planned_kw"] == pytest.approx(shortfall, abs=0.1) and plan["reason"] is None
        rows = {r["enterprise"]: r for r in plan["enterprises"]}
        assert len(rows) == 8 and all(r["reason"] is None for r in rows.values())
        for r in rows.values():
            assert r["reduce_kw"] == 0 or r["expected_min_hour_kw"] - r["reduce_kw"] >= r["security_kw"] - 0.2
            assert r["action"] in ("shift", "curtail", "none") and (r["notice_zh"] is None) == (r["action"] == "none")
        asked = {c for c, r in rows.items() if r["action"] != "none"}
        truth = scenario.truth()
        assert {c for c in asked if truth[c] == "ignores"}, "the scenario must ask at least one ignorer"

        rng = np.random.default_rng(3)
        answered = {p.spec.code: respond(kwh[p.spec.code], rows[p.spec.code], DAYS - 1, (9, 12), not p.ignores, rng)
                    for p in scenario.plants}
        influx.write([x for code, grid in answered.items() for x in _lines(code, grid, range(DAYS - 1, DAYS))])
        checked = runner.invoke(root, ["orderly", "verify", "--plan", str(plan_file), "--json", "--publish"])
        assert checked.exit_code == 0, checked.output
        result = json.loads(checked.output)
        status = {r["enterprise"]: r["status"] for r in result["enterprises"] if r["planned_kw"]}
        assert {c for c, s in status.items() if s == "not_followed"} == {c for c in asked if truth[c] == "ignores"}
        followers = [status[c] for c in asked if truth[c] == "follows"]
        assert "complied" in followers and set(followers) <= {"complied", "partial"}
        assert result["planned_kw"] == pytest.approx(shortfall, abs=0.5)
        points = influx.query('SELECT "status", "planned_kw" FROM "orderly_compliance" GROUP BY "enterprise"')
        assert {s.tags["enterprise"]: s.values[0][1] for s in points} == status
        plans = influx.query('SELECT count("reduce_kw") FROM "orderly_plan"')
        assert plans[0].values[0][1] == len(asked)
        bad = runner.invoke(root, ["orderly", "plan", "--date", EVENT.isoformat(), "--hours", "12-09",
                                   "--shortfall-kw", "5"])
        assert bad.exit_code == 2 and "HH-HH" in bad.output
    finally:
        dispose_engines()
        get_settings.cache_clear()
