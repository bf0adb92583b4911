"""Raw readings in their own retention policy (`influx_raw_rp`), end to end on the real services.

The collector stores readings into `"raw"."reading"` (its health stays in the default policy), `enerdiag rollup`
rolls them up into the default policy, the API answers gauges and warehouse temperatures from the raw policy,
`safety scan` finds an injected leakage fault there, and expiring the raw policy's shards leaves the rollups
as they were, also after the next rollup run.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from statistics import mean

import orjson
import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from api.app import create_app
from collector.loadgen import Publisher, telemetry_topic
from collector.registry_view import load_snapshot
from collector.service import Collector, CollectorConfig
from core.influx import InfluxV1, Series
from core.registry.db import session_scope
from core.registry.models import Meter
from core.settings import get_settings
from enerdiag.commands import analyze, safety
from enerdiag.localservices.server import ServiceError
from enerdiag.localservices.stack import RawRetention, ensure_retention_policy
from tests.integration.test_api_warehouse import local, refrigeration_kwh, temperature
from tests.unit.test_api_support import E2, START, Clock, World, bearer, make_world

pytestmark = pytest.mark.integration

RP = "raw"
FAULT = (local(2, 9, 20), local(2, 9, 40))  # S01 leaks 600 mA (alarm level 300 mA) in [start, end)


def power_kw(t: int) -> float:
    """The refrigeration meter's power gauge: 2, 3, 4 kW in turn every 15 minutes."""
    return 2.0 + (t // 900) % 3


def readings() -> list[tuple[str, int, dict[str, float]]]:
    """(meter, ts, values) of E2: refrigeration counter + power (M02), cold-room air (T01), leakage (S01)."""
    out: list[tuple[str, int, dict[str, float]]] = []
    value, previous = 100.0, local(1) - 3600
    for t in range(local(1) - 3600, local(3) + 3600 + 1, 900):
        step = refrigeration_kwh(t)
        if step is None:
            continue
        value += step * (t - previous) / 900
        previous = t
        out.append(("M02", t, {"energy_kwh": round(value, 6), "power_kw": power_kw(t)}))
    out += [("T01", t, {"temp_c": temperature(t)}) for t in range(local(1) - 3600, local(3) + 3600, 600)]
    out += [("S01", t, {"leakage_ma": 600.0 if FAULT[0] <= t < FAULT[1] else 20.0})
            for t in range(local(2, 9), local(2, 10), 60)]
    return out


@dataclass
class Stored:
    world: World
    db: str
    raw: InfluxV1  # reads raw readings from the raw policy
    sent: list[tuple[str, int, dict[str, float]]]


def count(series: list[Series]) -> int:
    return sum(int(v) for s in series for row in s.values for v in row[1:] if v is not None)


def shards_of(influx: InfluxV1, rp: str) -> list[int]:
    rows = [r for s in influx.query("SHOW SHARDS") if s.name == influx.db for r in s.records()]
    return [int(r["id"]) for r in rows if r["retention_policy"] == rp]


@pytest.fixture
def stored(services, influx_db: str, tmp_path: Path) -> Iterator[Stored]:  # type: ignore[no-untyped-def]
    world = make_world(tmp_path)
    with session_scope(world.url) as s:
        s.add(Meter(enterprise_code=E2, meter_id="M02", gateway_id="gw1", carrier="electricity", role="warehouse",
                    unit="kWh", multiplier=2.0))
        s.add(Meter(enterprise_code=E2, meter_id="S01", gateway_id="gw1", carrier="electricity", role="safety",
                    unit="kWh", rated_current_a=100.0))
        t01 = s.scalars(select(Meter).where(Meter.enterprise_code == E2, Meter.meter_id == "T01")).one()
        t01.temp_min_c, t01.temp_max_c = -22.0, -15.0
    # what `enerdiag services up` does with ENERDIAG_INFLUX_RAW_RP: create, then follow a changed duration
    assert ensure_retention_policy(services.influxd, influx_db, RawRetention(RP, "400d")) == "created"
    assert ensure_retention_policy(services.influxd, influx_db, RawRetention(RP, "730d")) == "altered"
    assert ensure_retention_policy(services.influxd, influx_db, RawRetention(RP, "104w2d")) == "kept"
    sent = readings()
    cfg = CollectorConfig(mqtt_url=services.mqtt_url, client_id=f"rp-{influx_db}", influx_url=services.influx_url,
                          influx_db=influx_db, influx_raw_rp=RP, data_dir=tmp_path / "collector", batch_age=0.05,
                          stats_every=0.2)
    collector = Collector(cfg, lambda: load_snapshot(world.url))
    raw = InfluxV1(services.influx_url, influx_db, raw_rp=RP)
    collector.start()
    try:
        assert collector.wait_connected()
        time.sleep(0.3)  # subscriptions granted
        pub = Publisher(services.mqtt_url, f"prp-{influx_db}")
        try:
            for i in range(0, len(sent), 40):
                batch = [{"meter": m, "ts": t, "values": v} for m, t, v in sent[i:i + 40]]
                pub.publish(telemetry_topic(E2, "gw1"), orjson.dumps({"readings": batch}))
            assert pub.wait_acked()
        finally:
            pub.close()
        values = sum(len(v) for _m, _t, v in sent)
        deadline = time.monotonic() + 20
        while count(raw.query(f"SELECT count(*) FROM {raw.raw_source}")) < values and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)  # a stats point after the last batch
    finally:
        collector.stop()
    yield Stored(world, influx_db, raw, sent)
    raw.close()


def cli(services, stored: Stored, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:  # type: ignore[no-untyped-def]
    """Run an enerdiag command with the raw policy configured through the environment, as a deployment would."""
    for key, value in {"ENERDIAG_INFLUX_DB": stored.db, "ENERDIAG_DB_URL": stored.world.url,
                       "ENERDIAG_INFLUX_RAW_RP": RP}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        app = typer.Typer()
        analyze.register(app)
        safety.register(app)
        result = CliRunner().invoke(app, list(args))
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.stdout


def hourly_rollups(influx: InfluxV1) -> list[list[object]]:
    return [row for s in influx.query('SELECT "value", "n_readings" FROM "consumption_hourly" GROUP BY *')
            for row in s.values]


def test_raw_readings_live_in_their_policy_and_everything_reads_them(  # type: ignore[no-untyped-def]
        services, stored: Stored, monkeypatch: pytest.MonkeyPatch) -> None:
    influx = stored.raw
    values = sum(len(v) for _m, _t, v in stored.sent)
    assert count(influx.query(f"SELECT count(*) FROM {influx.raw_source}")) == values
    assert influx.query('SELECT count(*) FROM "reading"') == []  # nothing in the default policy
    assert influx.query('SELECT * FROM "collector_stats" LIMIT 1')  # the collector's health: default policy

    # enerdiag rollup: raw policy in, default policy out
    cli(services, stored, monkeypatch, "rollup", "--since", "2026-09-29", "--no-indicators")
    m02 = [(t, v["energy_kwh"]) for m, t, v in stored.sent if m == "M02"]
    (series,) = influx.query('SELECT sum("value") FROM "consumption_hourly" WHERE "meter" = \'M02\' '
                             "AND \"quantity\" = 'energy_kwh'")
    assert series.values[0][1] == pytest.approx((m02[-1][1] - m02[0][1]) * 2.0, rel=1e-6)
    assert influx.query('SELECT count(*) FROM "raw"."consumption_hourly"') == []

    # the API: gauge series and warehouse temperatures from the raw policy
    client = TestClient(create_app(registry_url=stored.world.url, influx=influx, clock=Clock(START)))
    response = client.get(f"/v1/enterprises/{E2}/series?quantity=power_kw&interval=1d&from=2026-10-01"
                          "&to=2026-10-03", headers=bearer(stored.world.keys["b"]))
    assert response.status_code == 200, response.text
    (meter,) = response.json()["meters"]
    day1 = [v["power_kw"] for m, t, v in stored.sent if m == "M02" and local(1) <= t < local(2)]
    day2 = [v["power_kw"] for m, t, v in stored.sent if m == "M02" and local(2) <= t < local(3)]
    assert meter["meter"] == "M02"
    assert [(p["value"], p["samples"]) for p in meter["points"]] == [
        (pytest.approx(mean(day1)), len(day1)), (pytest.approx(mean(day2)), len(day2))]
    response = client.get(f"/v1/enterprises/{E2}/warehouse?from=2026-10-01&to=2026-10-03",
                          headers=bearer(stored.world.keys["b"]))
    assert response.status_code == 200, response.text
    body = response.json()
    (temp,) = body["temperature"]
    assert (temp["readings"], temp["hours_with_readings"], temp["min_c"], temp["max_c"]) == (288, 48, -18.0, -10.0)
    (excursion,) = body["excursions"]
    assert (excursion["start"], excursion["minutes"], excursion["readings"]) == ("2026-10-01T12:00:00+08:00",
                                                                                  90.0, 9)
    (fridge,) = body["refrigeration"]
    assert (fridge["hours"], fridge["no_data_hours"]) == (48, 3)

    # safety scan over the raw policy finds the injected leakage fault, and nothing else
    found = orjson.loads(cli(services, stored, monkeypatch, "safety", "scan", "--from", "2026-10-02", "--to",
                             "2026-10-03", "--enterprise", E2, "--json"))
    assert [(a["meter"], a["rule"]) for a in found] == [("S01", "leakage")]
    assert FAULT[0] <= dt.datetime.fromisoformat(found[0]["start"]).timestamp() < FAULT[1]


def test_expiring_the_raw_policy_keeps_the_rollups(  # type: ignore[no-untyped-def]
        services, stored: Stored, monkeypatch: pytest.MonkeyPatch) -> None:
    influx = stored.raw
    cli(services, stored, monkeypatch, "rollup", "--since", "2026-09-29", "--no-indicators")
    before = hourly_rollups(influx)
    assert len(before) >= 48
    shards = shards_of(influx, RP)
    assert shards
    for shard in shards:  # what the retention enforcer does when the raw policy's duration has passed
        influx.execute(f"DROP SHARD {shard}")
    assert influx.query(f"SELECT count(*) FROM {influx.raw_source}") == []
    assert hourly_rollups(influx) == before
    # the next run sees rolled-up hours without raw readings: expired, not dirty
    cli(services, stored, monkeypatch, "rollup", "--since", "2026-09-29", "--no-indicators")
    assert hourly_rollups(influx) == before
    # so do the daily rollups (the local days 1-3 October and the partial edges)
    (series,) = influx.query('SELECT count("value") FROM "consumption_daily" WHERE "meter" = \'M02\'')
    assert series.values[0][1] >= 3


def test_services_up_never_takes_the_default_policy_for_raw_readings(services, influx_db: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError, match="default retention policy"):
        ensure_retention_policy(services.influxd, influx_db, RawRetention("autogen", "30d"))
    (series,) = InfluxV1(services.influx_url, influx_db).query("SHOW RETENTION POLICIES")
    assert [(r["name"], r["duration"]) for r in series.records()] == [("autogen", "0s")]  # left as it was
