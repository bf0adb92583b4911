"""Warehouse endpoint on the real InfluxDB: refrigeration rolled up by `enerdiag rollup`, raw temperatures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from analytics.registry_view import load_enterprises
from analytics.rollup_job import run_rollup
from api.app import create_app
from core.influx import InfluxV1, line
from core.registry.db import session_scope
from core.registry.models import Meter
from tests.unit.test_api_support import E2, START, Clock, World, bearer, make_world

pytestmark = pytest.mark.integration
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(d: int, h: int = 0, m: int = 0) -> int:
    return int(dt.datetime(2026, 10, d, h, m, tzinfo=SHANGHAI).timestamp())


@pytest.fixture
def world(tmp_path: Path) -> World:
    world = make_world(tmp_path)
    with session_scope(world.url) as s:
        s.add(Meter(enterprise_code=E2, meter_id="M02", gateway_id="gw1", carrier="electricity", role="warehouse",
                    unit="kWh", multiplier=2.0))
        t01 = s.scalars(select(Meter).where(Meter.enterprise_code == E2, Meter.meter_id == "T01")).one()
        t01.temp_min_c, t01.temp_max_c = -22.0, -15.0
    return world


@pytest.fixture
def influx(services: object, influx_db: str) -> Iterator[InfluxV1]:
    client = InfluxV1(services.influx_url, influx_db)  # type: ignore[attr-defined]
    yield client
    client.close()


def refrigeration_kwh(t: int) -> float | None:
    """Counter step (before the ×2 multiplier) of the 15 minutes ending at `t`; None = no reading at `t`.

    2 kWh/h on the register (4 kWh/h metered); stopped (0.1 kWh/h) local 1 Oct 10:00–14:00; silent 2 Oct 02:15–04:45.
    """
    if local(2, 2) < t < local(2, 5):
        return None
    return 0.025 if local(1, 10) < t <= local(1, 14) else 0.5


def temperature(t: int) -> float:
    """−18 °C; warming from −14 °C by 0.5 K every 10 min, local 1 Oct 12:00–13:20; back at −18 °C at 13:30."""
    if local(1, 12) <= t < local(1, 13, 30):
        return -14.0 + 0.5 * ((t - local(1, 12)) // 600)
    return -18.0


@pytest.fixture
def warehouse_data(world: World, influx: InfluxV1) -> None:
    tags = {"enterprise": E2, "gateway": "gw1"}
    points, value, previous = [], 100.0, local(1) - 3600
    for t in range(local(1) - 3600, local(3) + 3600 + 1, 900):
        step = refrigeration_kwh(t)
        if step is None:
            continue
        value += step * (t - previous) / 900
        previous = t
        points.append(line("reading", {**tags, "meter": "M02"}, {"energy_kwh": value}, t))
    points += [line("reading", {**tags, "meter": "T01"}, {"temp_c": temperature(t)}, t)
               for t in range(local(1) - 3600, local(3) + 3600, 600)]
    influx.write(points)
    with session_scope(world.url) as session:
        enterprises = load_enterprises(session, [E2])
    run_rollup(influx, enterprises, now_s=local(4), since_s=local(1) - 86400)


@pytest.mark.usefixtures("warehouse_data")
def test_warehouse_continuity_outages_and_excursions(world: World, influx: InfluxV1) -> None:
    client = TestClient(create_app(registry_url=world.url, influx=influx, clock=Clock(START)))
    response = client.get(f"/v1/enterprises/{E2}/warehouse?from=2026-10-01&to=2026-10-03",
                          headers=bearer(world.keys["b"]))
    assert response.status_code == 200, response.text
    body = response.json()
    (fridge,) = body["refrigeration"]
    assert (fridge["meter"], fridge["hours"], fridge["median_hour_kwh"]) == ("M02", 48, 4.0)
    assert (fridge["running_hours"], fridge["no_load_hours"], fridge["no_data_hours"]) == (41, 4, 3)
    assert body["continuity"] == round(41 / 48, 6) and body["insufficient"] == {}  # 45 of 48 hours measured
    assert body["outage_hours"] == 7
    assert [(o["start"], o["end"], o["kind"], o["hours"]) for o in body["outages"]] == [
        ("2026-10-01T10:00:00+08:00", "2026-10-01T14:00:00+08:00", "no_load", 4),
        ("2026-10-02T02:00:00+08:00", "2026-10-02T05:00:00+08:00", "no_data", 3),
    ]
    (excursion,) = body["excursions"]
    assert excursion == {"meter": "T01", "side": "above", "start": "2026-10-01T12:00:00+08:00",
                         "end": "2026-10-01T13:30:00+08:00", "ended": True, "minutes": 90.0, "readings": 9,
                         "peak_c": -10.0, "deviation_c": 5.0}
    assert body["excursion_minutes"] == 90.0
    (temp,) = body["temperature"]
    assert (temp["band_c"], temp["readings"], temp["hours_with_readings"], temp["hours_in_band"]) == (
        [-22.0, -15.0], 288, 48, 46)
    assert (temp["min_c"], temp["max_c"], temp["completeness"]) == (-18.0, -10.0, 1.0)
    assert body["completeness"] == fridge["completeness"] < 1.0
    assert [m["meter"] for m in body["evidence"]["meters"]] == ["M02", "T01"]
    assert body["objections"] == []
    assert world.audit(E2, 200, bank="bank-b") == 1
