"""Post-loan monitoring end to end: real rollups → shutdown event → signed delivery to a real HTTP receiver,
retried with backoff after failures, recorded on the delivery and in the audit log; real refrigeration and
temperature data → cold_store_failure, only for warehouse meters and the `warehouse` scope."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from analytics.registry_view import load_enterprises
from analytics.rollup_job import run_rollup
from api.app import create_app
from api.egress import EgressPolicy
from api.models import WebhookDelivery
from api.webhook_delivery import DeliveryPolicy
from api.webhook_jobs import deliver_due, scan
from api.webhooks import SIGNATURE_HEADER, verify_signature
from core.influx import InfluxV1, line
from core.registry.access import grant_consent, revoke_consent
from core.registry.db import session_scope
from core.registry.models import Meter
from tests.unit.test_api_support import E1, E2, Clock, World, bearer, make_world

pytestmark = pytest.mark.integration
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 11, 26)
NOW = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)  # 10:00 Beijing
TEST_EGRESS = EgressPolicy(allow_http=True, allow_loopback=True)
"""The receivers run on this machine: the test-only allowances (production refuses both, test_api_egress)."""
LOOPBACK = DeliveryPolicy(egress=TEST_EGRESS)


class Receiver:
    """A bank's endpoint: answers the queued statuses in turn, keeps what it received."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def world(tmp_path: Path) -> World:
    w = make_world(tmp_path)
    with session_scope(w.url) as s:
        grant_consent(s, E1, "bank-a", ["series", "credit"], dt.date(2027, 6, 30))
    return w


@pytest.fixture
def influx(services: object, influx_db: str) -> Iterator[InfluxV1]:
    client = InfluxV1(services.influx_url, influx_db)  # type: ignore[attr-defined]
    yield client
    client.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([500, 503])
    yield r
    r.close()


def write_history(world: World, influx: InfluxV1) -> None:
    """35 days of 100 kWh a day, every 15 minutes; yesterday (25 November) only 5 kWh: a shutdown."""
    first = dt.date(2026, 10, 21)
    start = int(dt.datetime(2026, 10, 21, tzinfo=SHANGHAI).timestamp())
    points, value = [], 1000.0
    for q in range(36 * 96 + 1):
        points.append((start + q * 900, value))
        day = first + dt.timedelta(days=q // 96)
        value += (5.0 if day == dt.date(2026, 11, 25) else 100.0) / 96
    tags = {"enterprise": E1, "gateway": "gw1", "meter": "M01"}
    influx.write((line("reading", tags, {"energy_kwh": v}, t) for t, v in points), compress=True)
    with session_scope(world.url) as s:
        enterprises = load_enterprises(s, [E1])
    run_rollup(influx, enterprises, now_s=int(NOW.timestamp()), since_s=start - 86400)


def test_shutdown_event_is_signed_retried_and_recorded(world: World, influx: InfluxV1, receiver: Receiver) -> None:
    write_history(world, influx)
    app = create_app(registry_url=world.url, influx=influx, clock=Clock(NOW), webhook_policy=TEST_EGRESS)
    client = TestClient(app)
    key = bearer(world.keys["a"])
    hook = client.post("/v1/webhooks", json={"url": receiver.url, "events": ["shutdown", "activity_drop"]},
                       headers=key).json()

    with session_scope(world.url) as s:
        assert scan(s, influx, TODAY, NOW) == 1
    with session_scope(world.url) as s:
        assert scan(s, influx, TODAY, NOW) == 0  # idempotent

    moments = [NOW, NOW + dt.timedelta(seconds=10), NOW + dt.timedelta(seconds=30), NOW + dt.timedelta(seconds=90)]
    outcomes = []
    for moment in moments:
        with session_scope(world.url) as s:
            r = deliver_due(s, moment, TODAY, LOOPBACK, clock=lambda m=moment: m.timestamp())
            outcomes.append((r.delivered, r.retried))
    # 500 at once; nothing due 10 s later; 503 after the 30 s backoff; delivered after the next 60 s
    assert outcomes == [(0, 1), (0, 0), (0, 1), (1, 0)]
    assert len(receiver.received) == 3
    headers, body = receiver.received[-1]
    assert verify_signature(hook["secret"], headers[SIGNATURE_HEADER], body, now=int(moments[-1].timestamp()))
    event = orjson.loads(body)
    assert (event["type"], event["enterprise"], event["day"]) == ("shutdown", E1, "2026-11-25")
    assert event["data"]["electricity_kwh"] == pytest.approx(5.0, abs=1e-6)
    assert event["data"]["median_daily_kwh"] == pytest.approx(100.0, abs=1e-6)

    deliveries = client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=key).json()
    assert [(d["state"], d["attempts"], d["last_status"]) for d in deliveries] == [("delivered", 3, 200)]
    assert world.audit(E1, bank="bank-a") == 3  # one record per attempt: the bank received E1's data
    assert world.audit(E1, 200, bank="bank-a") == 1


def test_revoked_consent_stops_a_pending_delivery(world: World, influx: InfluxV1, receiver: Receiver) -> None:
    write_history(world, influx)
    client = TestClient(create_app(registry_url=world.url, influx=influx, clock=Clock(NOW), webhook_policy=TEST_EGRESS))
    client.post("/v1/webhooks", json={"url": receiver.url, "events": ["shutdown"]}, headers=bearer(world.keys["a"]))
    with session_scope(world.url) as s:
        assert scan(s, influx, TODAY, NOW) == 1
    with session_scope(world.url) as s:
        revoke_consent(s, E1, "bank-a")
    with session_scope(world.url) as s:
        report = deliver_due(s, NOW, TODAY, LOOPBACK)
    assert (report.delivered, report.failed) == (0, 1)
    assert receiver.received == []
    with session_scope(world.url) as s:
        row = s.scalars(select(WebhookDelivery)).one()
        assert row.state == "failed" and "consent" in (row.last_error or "")


# ------------------------------------------------------------------ cold_store_failure

COLD_TODAY = dt.date(2026, 10, 9)  # the scan checks 8 October
COLD_NOW = dt.datetime(2026, 10, 9, 2, 0, tzinfo=dt.UTC)


def local(d: int, h: int = 0, m: int = 0) -> int:
    return int(dt.datetime(2026, 10, d, h, m, tzinfo=SHANGHAI).timestamp())


def fridge_step(t: int) -> float | None:
    """Register step (×2 multiplier: 4 kWh/h metered) of the 15 minutes ending at `t`; None = no reading.

    8 Oct: stopped 10:00–14:00 (0.2 kWh/h metered), silent 02:15–04:45 (a data gap, no stop);
    7 Oct: stopped 10:00–11:00 only (below the 2-hour minimum).
    """
    if local(8, 2) < t < local(8, 5):
        return None
    stopped = local(8, 10) < t <= local(8, 14) or local(7, 10) < t <= local(7, 11)
    return 0.025 if stopped else 0.5


def cold_temperature(t: int) -> float:
    """−18 °C in the band [−22, −15]; 8 Oct 12:00–13:20 from −14 °C up by 0.5 K every 10 min (90 min outside);
    7 Oct 12:00–12:10 at −14 °C (20 min outside, below the 30-minute minimum)."""
    if local(8, 12) <= t < local(8, 13, 30):
        return -14.0 + 0.5 * ((t - local(8, 12)) // 600)
    return -14.0 if local(7, 12) <= t < local(7, 12, 20) else -18.0


@pytest.fixture
def cold_world(tmp_path: Path) -> World:
    """E2 (bank-b: every scope) has a refrigeration meter M02 and a banded T01; bank-a reads E2 with `credit`
    only; E1 (bank-b: `warehouse`) has no warehouse meter (its T01 watches switchgear)."""
    w = make_world(tmp_path)
    with session_scope(w.url) as s:
        s.add(Meter(enterprise_code=E2, meter_id="M02", gateway_id="gw1", carrier="electricity", role="warehouse",
                    unit="kWh", multiplier=2.0))
        t01 = s.scalars(select(Meter).where(Meter.enterprise_code == E2, Meter.meter_id == "T01")).one()
        t01.temp_min_c, t01.temp_max_c = -22.0, -15.0
        s.scalars(select(Meter).where(Meter.enterprise_code == E1, Meter.meter_id == "T01")).one().role = "safety"
        grant_consent(s, E2, "bank-a", ["credit"], dt.date(2027, 6, 30))
        grant_consent(s, E1, "bank-b", ["warehouse", "credit"], dt.date(2027, 6, 30))
    return w


def write_cold_store(world: World, influx: InfluxV1) -> None:
    """1–9 October for E2's M02 and T01, and the same failure pattern on E1's main meter and switchgear sensor."""
    points = []
    for code, fridge in ((E2, "M02"), (E1, "M01")):
        tags = {"enterprise": code, "gateway": "gw1"}
        value, previous = 100.0, local(1) - 3600
        for t in range(local(1) - 3600, local(10) + 1, 900):
            step = fridge_step(t)
            if step is None:
                continue
            value += step * (t - previous) / 900
            previous = t
            points.append(line("reading", {**tags, "meter": fridge}, {"energy_kwh": value}, t))
        points += [line("reading", {**tags, "meter": "T01"}, {"temp_c": cold_temperature(t)}, t)
                   for t in range(local(1) - 3600, local(10), 600)]
    influx.write(points, compress=True)
    with session_scope(world.url) as s:
        enterprises = load_enterprises(s, [E1, E2])
    run_rollup(influx, enterprises, now_s=local(10), since_s=local(1) - 86400)


def cold_hooks(world: World, influx: InfluxV1, url: str) -> tuple[TestClient, dict[str, object], dict[str, object]]:
    client = TestClient(create_app(registry_url=world.url, influx=influx, clock=Clock(COLD_NOW),
                                   webhook_policy=TEST_EGRESS))
    spec = {"url": url, "events": ["cold_store_failure"]}
    hook_a = client.post("/v1/webhooks", json=spec, headers=bearer(world.keys["a"])).json()
    hook_b = client.post("/v1/webhooks", json=spec, headers=bearer(world.keys["b"])).json()
    return client, hook_a, hook_b


def test_cold_store_failure_is_detected_signed_and_delivered(cold_world: World, influx: InfluxV1) -> None:
    write_cold_store(cold_world, influx)
    receiver = Receiver([])
    try:
        client, hook_a, hook_b = cold_hooks(cold_world, influx, receiver.url)
        with session_scope(cold_world.url) as s:
            assert scan(s, influx, COLD_TODAY - dt.timedelta(days=1), COLD_NOW) == 0  # 7 Oct: short stop and spike
        with session_scope(cold_world.url) as s:
            assert scan(s, influx, COLD_TODAY, COLD_NOW) == 1  # 8 Oct: E2 to bank-b only
        with session_scope(cold_world.url) as s:
            assert scan(s, influx, COLD_TODAY, COLD_NOW) == 0  # idempotent
            rows = s.scalars(select(WebhookDelivery)).all()
            assert [(r.webhook_id, r.enterprise_code, r.event_key) for r in rows] == [
                (hook_b["id"], E2, f"cold_store_failure:{E2}:2026-10-08")]
        with session_scope(cold_world.url) as s:
            report = deliver_due(s, COLD_NOW, COLD_TODAY, LOOPBACK, clock=lambda: COLD_NOW.timestamp())
        assert (report.delivered, report.failed) == (1, 0)
    finally:
        receiver.close()

    (headers, body), = receiver.received
    assert verify_signature(hook_b["secret"], headers[SIGNATURE_HEADER], body, now=int(COLD_NOW.timestamp()))
    assert headers["X-Enerdiag-Event"] == "cold_store_failure"
    event = orjson.loads(body)
    assert (event["id"], event["type"], event["enterprise"], event["day"]) == (
        f"cold_store_failure:{E2}:2026-10-08", "cold_store_failure", E2, "2026-10-08")
    data = event["data"]
    # the 3 silent hours (02:00–05:00) are a data gap: not in the event
    assert data["outages"] == [{"meter": "M02", "start": "2026-10-08T10:00:00+08:00",
                                "end": "2026-10-08T14:00:00+08:00", "hours": 4, "kind": "no_load",
                                "no_data_hours": 0, "no_load_hours": 4}]
    assert data["excursions"] == [{"meter": "T01", "side": "above", "start": "2026-10-08T12:00:00+08:00",
                                   "end": "2026-10-08T13:30:00+08:00", "ended": True, "minutes": 90.0,
                                   "readings": 9, "peak_c": -10.0, "deviation_c": 5.0, "band_c": [-22.0, -15.0]}]
    assert (data["outage_hours"], data["excursion_minutes"]) == (4, 90.0)
    assert data["worst_temperature"] == {"meter": "T01", "side": "above", "peak_c": -10.0, "deviation_c": 5.0,
                                         "band_c": [-22.0, -15.0]}
    assert [m["meter"] for m in data["meters"]] == ["M02", "T01"]
    assert data["window"] == {"from": "2026-10-02", "to": "2026-10-09"}

    # a credit officer recomputes it: the warehouse endpoint over the window shows the same outage and excursion
    figures = client.get(f"/v1/enterprises/{E2}/warehouse?from=2026-10-02&to=2026-10-09",
                         headers=bearer(cold_world.keys["b"])).json()
    assert data["outages"][0] in figures["outages"]
    assert {k: v for k, v in data["excursions"][0].items() if k != "band_c"} in figures["excursions"]
    assert [(o["start"], o["kind"], o["hours"]) for o in figures["outages"]] == [
        ("2026-10-07T10:00:00+08:00", "no_load", 1), ("2026-10-08T02:00:00+08:00", "no_data", 3),
        ("2026-10-08T10:00:00+08:00", "no_load", 4)]
    deliveries = client.get(f"/v1/webhooks/{hook_b['id']}/deliveries", headers=bearer(cold_world.keys["b"])).json()
    assert [(d["event_type"], d["state"], d["last_status"]) for d in deliveries] == [
        ("cold_store_failure", "delivered", 200)]
    assert client.get(f"/v1/webhooks/{hook_a['id']}/deliveries", headers=bearer(cold_world.keys["a"])).json() == []


def test_cold_store_failure_needs_the_warehouse_scope_when_sent(cold_world: World, influx: InfluxV1,
                                                                receiver: Receiver) -> None:
    write_cold_store(cold_world, influx)
    cold_hooks(cold_world, influx, receiver.url)
    with session_scope(cold_world.url) as s:
        assert scan(s, influx, COLD_TODAY, COLD_NOW) == 1
    with session_scope(cold_world.url) as s:
        grant_consent(s, E2, "bank-b", ["credit"], dt.date(2027, 6, 30))  # the enterprise narrows its consent
    with session_scope(cold_world.url) as s:
        report = deliver_due(s, COLD_NOW, COLD_TODAY, LOOPBACK)
    assert (report.delivered, report.failed) == (0, 1)
    assert receiver.received == []
    with session_scope(cold_world.url) as s:
        row = s.scalars(select(WebhookDelivery)).one()
        assert row.state == "failed" and "'warehouse'" in (row.last_error or "")
