"""The series endpoint against a real InfluxDB: gauges averaged per local interval, counters from the rollups."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from analytics.registry_view import load_enterprises
from analytics.rollup_job import run_rollup
from api.app import create_app
from core.influx import InfluxV1, line
from core.registry.db import session_scope
from tests.unit.test_api_support import E1, START, Clock, World, bearer, make_world

pytestmark = pytest.mark.integration
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> int:
    return int(dt.datetime(y, mo, d, h, mi, tzinfo=SHANGHAI).timestamp())


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


@pytest.fixture
def influx(services: object, influx_db: str) -> Iterator[InfluxV1]:
    client = InfluxV1(services.influx_url, influx_db)  # type: ignore[attr-defined]
    yield client
    client.close()


@pytest.fixture
def client(world: World, influx: InfluxV1) -> TestClient:
    return TestClient(create_app(registry_url=world.url, influx=influx, clock=Clock(START)))


def write_raw(influx: InfluxV1, meter: str, points: list[tuple[int, dict[str, float]]]) -> None:
    influx.write(line("reading", {"enterprise": E1, "gateway": "gw1", "meter": meter}, values, t)
                 for t, values in points)


def get(client: TestClient, world: World, query: str) -> dict:  # type: ignore[type-arg]
    response = client.get(f"/v1/enterprises/{E1}/series?{query}", headers=bearer(world.keys["a"]))
    assert response.status_code == 200, response.text
    return response.json()


def test_gauge_means_follow_local_days_and_months(client: TestClient, world: World, influx: InfluxV1) -> None:
    write_raw(influx, "M01", [
        (local(2026, 10, 31, 23, 30), {"power_kw": 1000.0}),  # the day before: outside the period
        (local(2026, 11, 1, 0, 0), {"power_kw": 10.0}),  # 16:00 UTC on 31 October
        (local(2026, 11, 1, 12, 0), {"power_kw": 20.0}),
        (local(2026, 11, 1, 23, 59), {"power_kw": 30.0}),
        (local(2026, 11, 2, 0, 0), {"power_kw": 100.0}),
        (local(2026, 11, 3, 0, 0), {"power_kw": 5000.0}),  # `to` is exclusive
    ])
    write_raw(influx, "T01", [(local(2026, 11, 2, 6), {"temp_c": -18.5}), (local(2026, 11, 2, 7), {"temp_c": -17.5})])

    daily = get(client, world, "quantity=power_kw&interval=1d&from=2026-11-01&to=2026-11-03")
    assert daily["unit"] == "kW" and daily["aggregation"] == "mean" and daily["timezone"] == "Asia/Shanghai"
    assert [m["meter"] for m in daily["meters"]] == ["M01"]
    assert daily["meters"][0]["points"] == [
        {"start": "2026-11-01T00:00:00+08:00", "value": 20.0, "samples": 3},
        {"start": "2026-11-02T00:00:00+08:00", "value": 100.0, "samples": 1},
    ]
    monthly = get(client, world, "quantity=power_kw&interval=1mo&from=2026-11-01&to=2026-12-01")
    # November holds 10, 20, 30, 100 and 5,000; the 1,000 of 31 October (local) stays out
    assert monthly["meters"][0]["points"] == [{"start": "2026-11-01T00:00:00+08:00", "value": 1032.0, "samples": 5}]

    hourly = get(client, world, "quantity=power_kw&interval=1h&from=2026-11-01&to=2026-11-02")
    points = hourly["meters"][0]["points"]
    assert len(points) == 24
    assert points[0] == {"start": "2026-11-01T00:00:00+08:00", "value": 10.0, "samples": 1}
    assert points[12] == {"start": "2026-11-01T12:00:00+08:00", "value": 20.0, "samples": 1}
    assert points[1] == {"start": "2026-11-01T01:00:00+08:00", "value": None, "samples": 0}

    temps = get(client, world, "quantity=temp_c&interval=1d&from=2026-11-02&to=2026-11-03&meter=T01")
    assert temps["meters"] == [{"meter": "T01", "role": "warehouse", "multiplier": 1.0, "points": [
        {"start": "2026-11-02T00:00:00+08:00", "value": -18.0, "samples": 2}]}]


def test_counter_consumption_comes_from_the_rollups(
    client: TestClient, world: World, influx: InfluxV1
) -> None:
    # 2.5 kWh every 15 minutes (the rollups' gap limit) from local midnight 1 November to local midnight
    # 3 November: 10 kWh an hour, 240 kWh a day, every hour fully measured
    write_raw(influx, "M01", [(local(2026, 11, 1) + q * 900, {"energy_kwh": 1000.0 + 2.5 * q}) for q in range(193)])
    with session_scope(world.url) as session:
        enterprises = load_enterprises(session, [E1])
    run_rollup(influx, enterprises, now_s=local(2026, 11, 4), since_s=local(2026, 10, 30))

    daily = get(client, world, "quantity=energy_kwh&interval=1d&from=2026-11-01&to=2026-11-04")
    assert daily["aggregation"] == "sum" and daily["unit"] == "kWh"
    points = daily["meters"][0]["points"]
    assert [p["start"][:10] for p in points] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert [p["value"] for p in points[:2]] == [pytest.approx(240.0), pytest.approx(240.0)]
    assert [p["completeness"] for p in points[:2]] == [pytest.approx(1.0), pytest.approx(1.0)]
    assert points[2]["value"] in (None, 0.0)

    hourly = get(client, world, "quantity=energy_kwh&interval=1h&from=2026-11-01&to=2026-11-02")
    assert [p["value"] for p in hourly["meters"][0]["points"]] == [pytest.approx(10.0)] * 24

    monthly = get(client, world, "quantity=energy_kwh&interval=1mo&from=2026-10-01&to=2026-12-01")
    month_points = monthly["meters"][0]["points"]
    assert [p["start"] for p in month_points] == ["2026-10-01T00:00:00+08:00", "2026-11-01T00:00:00+08:00"]
    assert month_points[0]["value"] is None
    assert month_points[1]["value"] == pytest.approx(480.0)
    assert month_points[1]["completeness"] == pytest.approx(2 / 30, abs=0.01)


def test_open_objection_travels_with_the_series(client: TestClient, world: World, influx: InfluxV1) -> None:
    from api.objections import add_objection, resolve_objection

    write_raw(influx, "M01", [(local(2026, 11, 1, 1), {"power_kw": 5.0})])
    with session_scope(world.url) as session:
        row = add_objection(session, E1, "power_kw", "11月1日功率计更换，读数偏低", "2026-11")
        objection_id = row.id
    body = get(client, world, "quantity=power_kw&interval=1d&from=2026-11-01&to=2026-11-02")
    assert [(o["indicator"], o["period"], o["text"]) for o in body["objections"]] == [
        ("power_kw", "2026-11", "11月1日功率计更换，读数偏低")]
    assert get(client, world, "quantity=temp_c&interval=1d&from=2026-11-01&to=2026-11-02")["objections"] == []
    with session_scope(world.url) as session:
        resolve_objection(session, objection_id, "已核实，数据更正")
    assert get(client, world, "quantity=power_kw&interval=1d&from=2026-11-01&to=2026-11-02")["objections"] == []
