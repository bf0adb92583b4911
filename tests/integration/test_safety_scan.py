"""Batch scan over readings stored in a real InfluxDB: generated faults found with the registry's rated
currents, alarms written to `safety_alarm` and listed by `enerdiag alarms`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest
import typer
from typer.testing import CliRunner

from analytics.safety.alarms import Alarm
from analytics.safety.rules import Severity
from analytics.safety.summary import load_alarms
from core.influx import InfluxV1, line
from core.registry.db import init_db, session_scope
from core.registry.models import Enterprise, Gateway, Meter
from core.settings import get_settings
from enerdiag.commands import safety
from simulators.safety_faults import generate_city
from tests.support.safety_scoring import score

pytestmark = pytest.mark.integration


def test_scan_finds_generated_faults(services, influx_db: str, tmp_path: Path,  # type: ignore[no-untyped-def]
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    start = 1764518400  # 2025-12-01 00:00 +08:00
    frames, truth, meters = generate_city(n_meters=10, start_s=start, hours=12, seed=4)
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    init_db(url)
    with session_scope(url) as s:
        for code in sorted({m.enterprise for m in meters}):
            s.add(Enterprise(code=code, name="测试", industry="3311", county="140213"))
            s.add(Gateway(enterprise_code=code, gateway_id="gw1"))
        for m in meters:
            s.add(Meter(enterprise_code=m.enterprise, meter_id=m.meter, gateway_id="gw1", carrier="electricity",
                        role="safety", unit="kWh", rated_current_a=m.rated_current_a))
    with InfluxV1(services.influx_url, influx_db) as influx:
        lines = []
        for (code, meter), frame in frames.items():
            for ts, values in zip(frame.index.as_unit("s").asi8, frame.to_dict("records"), strict=True):
                lines.append(line("reading", {"enterprise": code, "gateway": "gw1", "meter": meter},
                                  values, int(ts)))
        influx.write(lines)
    for key, value in {"ENERDIAG_INFLUX_DB": influx_db, "ENERDIAG_DATA_DIR": str(tmp_path / "data"),
                       "ENERDIAG_DB_URL": url}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        app = typer.Typer()
        safety.register(app)
        result = CliRunner().invoke(app, ["safety", "scan", "--from", "2025-12-01", "--to", "2025-12-02", "--json"])
        assert result.exit_code == 0, result.output
        found = orjson.loads(result.output)
        listed = orjson.loads(CliRunner().invoke(app, ["alarms", "--json"]).output)
    finally:
        get_settings.cache_clear()
    alarms = [Alarm(a["enterprise"], a["meter"], a["rule"], Severity.from_label(a["severity"]),
                    dt.datetime.fromisoformat(a["start"]), dt.datetime.fromisoformat(a["end"]) if a["end"] else None,
                    a["peak"], a["value"], a["threshold"]) for a in found]
    q = score(alarms, truth)
    assert q.faults >= 5 and q.recall >= 0.95 and q.precision >= 0.95, q
    assert sorted(a["id"] for a in listed) == sorted(a["id"] for a in found)
    with InfluxV1(services.influx_url, influx_db) as influx:
        series = influx.query('SELECT count("open") FROM "safety_alarm"')
        # the report and the API rebuild the same alarms from InfluxDB alone
        for code in {a["enterprise"] for a in found}:
            rebuilt = load_alarms(influx, code, start, start + 86400)
            mine = sorted((a["id"], a["severity"], a["end"], a["peak"]) for a in found if a["enterprise"] == code)
            assert sorted((a.id, a.severity.label, a.end.isoformat() if a.end else None, a.peak)
                          for a in rebuilt) == mine
    expected_points = len(found) + sum(1 for a in found if a["end"])
    assert series[0].values[0][1] == expected_points
    assert any(a["rule"] == "overload" for a in found)  # rated current came from the registry
