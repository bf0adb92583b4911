"""Webhook rules: signatures a receiver can verify, backoff, event detection, and the registration endpoints."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from analytics.calendar import local_midnight_s
from analytics.warehouse import WarehouseReport, warehouse_report
from api.app import create_app
from api.egress import EgressPolicy
from api.indicators import Day
from api.webhooks import (
    EXCURSION_MIN_MINUTES,
    OUTAGE_MIN_HOURS,
    backoff_s,
    detect,
    detect_cold_store_event,
    sign,
    verify_signature,
)
from tests.unit.test_api_support import START, Clock, FakeInflux, World, bearer, make_world

DAY = dt.date(2026, 11, 25)
PUBLIC_DNS = EgressPolicy(resolve=lambda host, port: ["93.184.215.14"] if host.endswith(".example") else [])
"""Production's rules, with a resolver that answers for the `.example` names (this machine has no DNS)."""


def history(values: dict[int, float], default: float = 100.0, completeness: float = 1.0) -> list[Day]:
    """36 days ending on DAY; `values` maps days-before-DAY to kWh."""
    return [Day(DAY - dt.timedelta(days=i), values.get(i, default), completeness) for i in range(36)]


def test_signature_round_trip_and_tampering() -> None:
    body = b'{"type":"shutdown"}'
    header = sign("s3cret", 1_764_000_000, body)
    assert header.startswith("t=1764000000,v1=")
    assert verify_signature("s3cret", header, body, now=1_764_000_100)
    assert not verify_signature("s3cret", header, body + b" ", now=1_764_000_100)
    assert not verify_signature("other", header, body, now=1_764_000_100)
    assert not verify_signature("s3cret", header, body, now=1_764_000_000 + 301)  # replayed later
    assert not verify_signature("s3cret", "garbage", body, now=1_764_000_000)


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [backoff_s(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_s(20) == 3600


def test_shutdown_day_is_detected_once_measured() -> None:
    events = detect(history({0: 5.0}), DAY)
    assert [e["type"] for e in events] == ["shutdown"]
    assert events[0]["data"]["median_daily_kwh"] == 100.0
    assert detect(history({}), DAY) == []
    unmeasured = [Day(DAY, 0.0, 0.1), *history({})[1:]]
    events = detect(unmeasured, DAY)  # no data is not a shutdown: a gap has its own event
    assert [e["type"] for e in events] == ["data_gap"]
    assert events[0]["data"]["last_measured_day"] == (DAY - dt.timedelta(days=1)).isoformat()
    assert detect(unmeasured[1:], DAY)[0]["data"]["completeness"] == 0.0  # no rollup row at all
    gap_goes_on = [Day(DAY, 0.0, 0.0), Day(DAY - dt.timedelta(days=1), 0.0, 0.0), *history({})[2:]]
    assert detect(gap_goes_on, DAY) == []  # reported once, on its first day


def test_a_week_of_silence_is_a_gap_not_an_activity_drop() -> None:
    silent = [Day(d.day, 0.0, 0.0) if (DAY - d.day).days < 6 else d for d in history({})]
    assert detect(silent, DAY) == []  # one measured day of the seven: no activity_drop, gap already reported
    silent = [Day(d.day, 0.0, 0.0) if (DAY - d.day).days < 7 and d.day != DAY - dt.timedelta(days=3) else d
              for d in history({})]
    assert [e["type"] for e in detect(silent, DAY)] == []


def test_activity_drop_compares_a_week_with_the_four_before() -> None:
    week = {i: 40.0 for i in range(7)}  # 40 % of the usual 100 kWh for the last 7 days
    assert [e["type"] for e in detect(history(week), DAY)] == ["activity_drop"]
    assert detect(history({i: 60.0 for i in range(7)}), DAY) == []


TZ = "Asia/Shanghai"
D0 = local_midnight_s(DAY, TZ)  # local midnight that starts DAY
BAND = (-22.0, -15.0)
METERS = [{"meter": "M02", "quantity": "energy_kwh"}, {"meter": "T01", "quantity": "temp_c", "band_c": list(BAND)}]


def report(load: dict[int, float | None] | None = None, temps: dict[int, float] | None = None) -> WarehouseReport:
    """The warehouse report of the 7 days ending on DAY: refrigeration 4 kWh an hour, −18 °C every 10 minutes.

    `load` maps an hour (offset from DAY's midnight, may be negative) to its kWh (None: no rollup row);
    `temps` maps a 10-minute reading (offset from DAY's midnight, in minutes) to its °C.
    """
    start, end = D0 - 6 * 86400, D0 + 86400
    load, temps = load or {}, temps or {}
    hours = [(h, load.get(h, 4.0)) for h in range(-144, 24)]
    hourly = pd.DataFrame([{"meter": "M02", "time_s": D0 + h * 3600, "value": v, "completeness": 1.0}
                           for h, v in hours if v is not None])
    raw = pd.DataFrame([{"meter": "T01", "time_s": D0 + m * 60, "value": temps.get(m, -18.0)}
                        for m in range(-144 * 60, 24 * 60, 10)])
    stats = (raw.assign(time_s=raw["time_s"] // 3600 * 3600).groupby(["meter", "time_s"], as_index=False)["value"]
             .agg(min="min", max="max", count="count"))
    return warehouse_report(hourly, stats, raw, ["M02"], {"T01": BAND}, start, end)


def cold(r: WarehouseReport) -> list[dict[str, object]]:
    return detect_cold_store_event(r, DAY, TZ, METERS)


def test_refrigeration_outage_counts_from_two_hours_with_a_no_load_hour() -> None:
    assert OUTAGE_MIN_HOURS == 2
    assert cold(report()) == []
    assert cold(report({10: 0.1})) == []  # one stopped hour: a defrost, not a failure
    (event,) = cold(report({10: 0.1, 11: 0.5}))
    assert (event["type"], event["day"]) == ("cold_store_failure", "2026-11-25")
    data = event["data"]
    assert data["outages"] == [{"meter": "M02", "start": "2026-11-25T10:00:00+08:00",
                                "end": "2026-11-25T12:00:00+08:00", "hours": 2, "kind": "no_load",
                                "no_data_hours": 0, "no_load_hours": 2}]
    assert (data["outage_hours"], data["excursions"], data["worst_temperature"]) == (2, [], None)
    assert data["window"] == {"from": "2026-11-19", "to": "2026-11-26"}
    assert data["meters"] == METERS


def test_silent_meter_alone_is_no_failure_but_a_stop_going_silent_is() -> None:
    assert cold(report({h: None for h in range(2, 7)})) == []  # 5 h without data: a gap, not a stop
    (event,) = cold(report({2: 0.0, 3: None, 4: None}))
    (outage,) = event["data"]["outages"]
    assert (outage["kind"], outage["hours"], outage["no_load_hours"], outage["no_data_hours"]) == ("mixed", 3, 1, 2)


def test_outage_must_cover_part_of_the_day() -> None:
    assert cold(report({h: 0.1 for h in range(-14, -10)})) == []  # the day before, 10:00–14:00
    (event,) = cold(report({h: 0.1 for h in range(-2, 1)}))  # 22:00 the day before to 01:00
    (outage,) = event["data"]["outages"]
    assert (outage["start"], outage["end"], outage["hours"]) == (
        "2026-11-24T22:00:00+08:00", "2026-11-25T01:00:00+08:00", 3)


def test_excursion_counts_from_thirty_minutes_and_reports_the_worst() -> None:
    assert EXCURSION_MIN_MINUTES == 30
    assert cold(report(temps={720: -14.0, 730: -13.0})) == []  # 12:00–12:20: 20 min
    (event,) = cold(report(temps={720: -14.0, 730: -12.5, 740: -13.0, 900: -24.0, 910: -25.5, 920: -23.0}))
    data = event["data"]
    assert [(e["side"], e["start"], e["end"], e["minutes"], e["readings"], e["peak_c"], e["deviation_c"])
            for e in data["excursions"]] == [
        ("above", "2026-11-25T12:00:00+08:00", "2026-11-25T12:30:00+08:00", 30.0, 3, -12.5, 2.5),
        ("below", "2026-11-25T15:00:00+08:00", "2026-11-25T15:30:00+08:00", 30.0, 3, -25.5, 3.5),
    ]
    assert data["excursion_minutes"] == 60.0
    assert data["worst_temperature"] == {"meter": "T01", "side": "below", "peak_c": -25.5, "deviation_c": 3.5,
                                         "band_c": [-22.0, -15.0]}
    assert data["outages"] == [] and data["outage_hours"] == 0


def test_excursion_running_into_the_day_counts_for_it() -> None:
    (event,) = cold(report(temps={-20: -10.0, -10: -10.0, 0: -11.0, 10: -18.0}))  # 23:40 → 00:10
    (excursion,) = event["data"]["excursions"]
    assert (excursion["start"], excursion["end"], excursion["minutes"], excursion["peak_c"]) == (
        "2026-11-24T23:40:00+08:00", "2026-11-25T00:10:00+08:00", 30.0, -10.0)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def test_register_list_delete(world: World) -> None:
    client = TestClient(create_app(registry_url=world.url, influx=FakeInflux(), clock=Clock(START),  # type: ignore[arg-type]
                                   webhook_policy=PUBLIC_DNS))
    key_a, key_b = bearer(world.keys["a"]), bearer(world.keys["b"])
    created = client.post("/v1/webhooks", json={"url": "https://bank-a.example/hooks", "events": ["shutdown"]},
                          headers=key_a)
    assert created.status_code == 201, created.text
    hook = created.json()
    assert len(hook["secret"]) >= 40 and hook["events"] == ["shutdown"]
    listed = client.get("/v1/webhooks", headers=key_a).json()
    assert [(h["id"], h["secret"]) for h in listed] == [(hook["id"], None)]
    assert client.get("/v1/webhooks", headers=key_b).json() == []
    assert client.delete(f"/v1/webhooks/{hook['id']}", headers=key_b).status_code == 404  # not bank b's
    assert client.delete(f"/v1/webhooks/{hook['id']}", headers=key_a).status_code == 204
    assert client.get("/v1/webhooks", headers=key_a).json() == []
    gone = client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=key_a)  # issue 15 D9
    assert (gone.status_code, gone.json()["type"]) == (404, "urn:enerdiag:problem:webhook-not-found")
    empty = client.post("/v1/webhooks", json={"url": "https://x.example", "events": []}, headers=key_a)
    assert empty.status_code == 422
    unknown = client.post("/v1/webhooks", json={"url": "https://x.example", "events": ["fire"]}, headers=key_a)
    assert unknown.status_code == 422


def test_cold_store_failure_can_be_subscribed(world: World) -> None:
    client = TestClient(create_app(registry_url=world.url, influx=FakeInflux(), clock=Clock(START),  # type: ignore[arg-type]
                                   webhook_policy=PUBLIC_DNS))
    events = ["cold_store_failure", "shutdown", "activity_drop"]
    created = client.post("/v1/webhooks", json={"url": "https://bank-b.example/hooks", "events": events},
                          headers=bearer(world.keys["b"]))
    assert created.status_code == 201, created.text
    assert created.json()["events"] == ["activity_drop", "cold_store_failure", "shutdown"]


@pytest.mark.parametrize("url", ["http://bank-a.example/hooks", "ftp://x", "not a url", "https://"])
def test_only_https_urls_by_default(world: World, url: str) -> None:
    client = TestClient(create_app(registry_url=world.url, influx=FakeInflux(), clock=Clock(START)))  # type: ignore[arg-type]
    response = client.post("/v1/webhooks", json={"url": url, "events": ["shutdown"]}, headers=bearer(world.keys["a"]))
    assert response.status_code == 422
    assert "'url'" in response.json()["detail"]
