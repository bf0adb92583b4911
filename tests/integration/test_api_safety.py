"""Credit indicators carry the operational-risk signal: safety alarms rebuilt from InfluxDB `safety_alarm`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from analytics.safety.alarms import Alarm, AlarmEvent
from analytics.safety.rules import Severity
from analytics.safety.store import alarm_lines, event_line
from api.app import create_app
from core.influx import InfluxV1
from tests.unit.test_api_support import E2, START, Clock, World, bearer, make_world

pytestmark = pytest.mark.integration
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=SHANGHAI).astimezone(dt.UTC)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


@pytest.fixture
def influx(services: object, influx_db: str) -> Iterator[InfluxV1]:
    client = InfluxV1(services.influx_url, influx_db)  # type: ignore[attr-defined]
    yield client
    client.close()


def alarm(meter: str, rule: str, severity: Severity, start: dt.datetime, end: dt.datetime | None) -> Alarm:
    return Alarm(E2, meter, rule, severity, start, end, 450.0, 420.0, 300.0)


@pytest.fixture
def alarms(influx: InfluxV1) -> None:
    """Before as_of 2026-11-01: one critical leakage alarm still open, one critical closed, two alarms, one
    pre-alarm, one alarm too old for the 90 days; a critical alarm after as_of; the open one closes after as_of."""
    still_open = alarm("S01", "leakage", Severity.CRITICAL, at(10, 20), None)
    lines = alarm_lines([
        still_open,
        alarm("S01", "leakage", Severity.CRITICAL, at(10, 5), at(10, 5, 15)),
        alarm("S01", "overload", Severity.ALARM, at(9, 1), at(9, 2)),
        alarm("S02", "over_temp", Severity.ALARM, at(10, 30), at(10, 30, 14)),
        alarm("S02", "over_temp", Severity.PRE_ALARM, at(8, 10), at(8, 10, 13)),
        alarm("S01", "overload", Severity.ALARM, at(7, 1), at(7, 2)),  # ends before the 90 days from 2026-08-03
        alarm("S01", "leakage", Severity.CRITICAL, at(11, 2), None),  # after as_of
    ])
    closing = alarm("S01", "leakage", Severity.CRITICAL, at(10, 20), at(11, 3))
    lines.append(event_line(AlarmEvent("close", int(at(11, 3).timestamp()), closing)))
    influx.write(lines)


@pytest.mark.usefixtures("alarms")
def test_open_critical_safety_alarms_at_as_of(world: World, influx: InfluxV1) -> None:
    client = TestClient(create_app(registry_url=world.url, influx=influx, clock=Clock(START)))
    response = client.get(f"/v1/enterprises/{E2}/credit-indicators?as_of=2026-11-01", headers=bearer(world.keys["b"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["open_critical_safety_alarms"] == 1
    assert body["safety_alarms_90d"] == {"critical": 2, "alarm": 2, "pre_alarm": 1}
    evidence = body["evidence"]["open_critical_safety_alarms"]
    assert evidence["period"] == {"from": "2026-08-03", "to": "2026-11-01"}
    assert [(a["meter"], a["rule"], a["start"]) for a in evidence["inputs"]["alarms"]] == [
        ("S01", "leakage", at(10, 20).isoformat())]
    by_rule = body["evidence"]["safety_alarms_90d"]["inputs"]["by_rule"]
    assert {rule: e["count"] for rule, e in by_rule.items()} == {"leakage": 2, "overload": 1, "over_temp": 2}
    assert body["evidence"]["safety_alarms_90d"]["meters"] == ["S01", "S02"]

    later = client.get(f"/v1/enterprises/{E2}/credit-indicators?as_of=2026-11-04", headers=bearer(world.keys["b"]))
    assert later.status_code == 200, later.text
    assert later.json()["open_critical_safety_alarms"] == 1  # the old one closed on 3 Nov, the one of 2 Nov is open
