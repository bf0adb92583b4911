"""Post-loan monitoring end to end: real rollups → shutdown event → signed delivery to a real HTTP receiver,
retried with backoff after failures, recorded on the delivery and in the audit log."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from analytics.registry_view import load_enterprises
from analytics.rollup_job import run_rollup
from api.app import create_app
from api.models import WebhookDelivery
from api.webhook_jobs import deliver_due, scan
from api.webhooks import SIGNATURE_HEADER, verify_signature
from core.influx import InfluxV1, line
from core.registry.access import grant_consent, revoke_consent
from core.registry.db import session_scope
from tests.unit.test_api_support import E1, Clock, World, bearer, make_world

pytestmark = pytest.mark.integration
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 11, 26)
NOW = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)  # 10:00 Beijing


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
    app = create_app(registry_url=world.url, influx=influx, clock=Clock(NOW), allow_http_webhooks=True)
    client = TestClient(app)
    key = bearer(world.keys["a"])
    hook = client.post("/v1/webhooks", json={"url": receiver.url, "events": ["shutdown", "activity_drop"]},
                       headers=key).json()

    with session_scope(world.url) as s:
        assert scan(s, influx, TODAY, NOW) == 1
    with session_scope(world.url) as s:
        assert scan(s, influx, TODAY, NOW) == 0  # idempotent

    with httpx.Client() as http:
        moments = [NOW, NOW + dt.timedelta(seconds=10), NOW + dt.timedelta(seconds=30), NOW + dt.timedelta(seconds=90)]
        outcomes = []
        for moment in moments:
            with session_scope(world.url) as s:
                r = deliver_due(s, http, moment, TODAY, clock=lambda m=moment: m.timestamp())
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
    client = TestClient(create_app(registry_url=world.url, influx=influx, clock=Clock(NOW), allow_http_webhooks=True))
    client.post("/v1/webhooks", json={"url": receiver.url, "events": ["shutdown"]}, headers=bearer(world.keys["a"]))
    with session_scope(world.url) as s:
        assert scan(s, influx, TODAY, NOW) == 1
    with session_scope(world.url) as s:
        revoke_consent(s, E1, "bank-a")
    with httpx.Client() as http, session_scope(world.url) as s:
        report = deliver_due(s, http, NOW, TODAY)
    assert (report.delivered, report.failed) == (0, 1)
    assert receiver.received == []
    with session_scope(world.url) as s:
        row = s.scalars(select(WebhookDelivery)).one()
        assert row.state == "failed" and "consent" in (row.last_error or "")
