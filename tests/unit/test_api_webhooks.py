"""Webhook rules: signatures a receiver can verify, backoff, event detection, and the registration endpoints."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.indicators import Day
from api.webhooks import backoff_s, detect, sign, verify_signature
from tests.unit.test_api_support import START, Clock, FakeInflux, World, bearer, make_world

DAY = dt.date(2026, 11, 25)


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
    assert detect(unmeasured, DAY) == []  # no data is not a shutdown


def test_activity_drop_compares_a_week_with_the_four_before() -> None:
    week = {i: 40.0 for i in range(7)}  # 40 % of the usual 100 kWh for the last 7 days
    assert [e["type"] for e in detect(history(week), DAY)] == ["activity_drop"]
    assert detect(history({i: 60.0 for i in range(7)}), DAY) == []


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def test_register_list_delete(world: World) -> None:
    client = TestClient(create_app(registry_url=world.url, influx=FakeInflux(), clock=Clock(START)))  # type: ignore[arg-type]
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
    empty = client.post("/v1/webhooks", json={"url": "https://x.example", "events": []}, headers=key_a)
    assert empty.status_code == 422


@pytest.mark.parametrize("url", ["http://bank-a.example/hooks", "ftp://x", "not a url", "https://"])
def test_only_https_urls_by_default(world: World, url: str) -> None:
    client = TestClient(create_app(registry_url=world.url, influx=FakeInflux(), clock=Clock(START)))  # type: ignore[arg-type]
    response = client.post("/v1/webhooks", json={"url": url, "events": ["shutdown"]}, headers=bearer(world.keys["a"]))
    assert response.status_code == 422
    assert "'url'" in response.json()["detail"]
