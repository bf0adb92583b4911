"""Webhook delivery under attack (issue 15 D1, D5), on real loopback servers: a real InfluxDB as the SSRF target,
DNS rebinding, redirects, network errors that must read alike, and a receiver that hangs.

Receivers are raw TCP servers on 127.0.0.1, reachable only with the test-only loopback allowance; where a test
shows a refusal, the default policy (no allowance) is used and the receiver proves nothing reached it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.egress import NOT_PUBLIC, EgressPolicy
from api.models import Webhook, WebhookDelivery
from api.webhook_delivery import REDIRECT, DeliveryPolicy, deliver_due
from core.registry.access import grant_consent
from core.registry.db import session_scope
from tests.unit.test_api_support import E1, E2, Clock, FakeInflux, World, bearer, make_world

pytestmark = pytest.mark.integration
TODAY = dt.date(2026, 11, 26)
NOW = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)
LOCAL = EgressPolicy(allow_http=True, allow_loopback=True)
"""Test-only: plain http and loopback receivers (production refuses both)."""


class Receiver:
    """A raw HTTP receiver on 127.0.0.1: `answer` writes the response; every request head is kept with its time."""

    def __init__(self, answer: Callable[[socket.socket], None]) -> None:
        self.heads: list[tuple[float, bytes]] = []
        receiver = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                receiver.heads.append((time.monotonic(), data.split(b"\r\n\r\n")[0]))
                with contextlib.suppress(OSError):
                    answer(self.request)

        socketserver.ThreadingTCPServer.daemon_threads = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ok(sock: socket.socket) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def trickle(sock: socket.socket) -> None:
    """The probe's slow receiver: a status line, then one header line every 0.3 s for up to 30 s."""
    sock.sendall(b"HTTP/1.1 200 OK\r\n")
    for i in range(100):
        time.sleep(0.3)
        sock.sendall(f"X-Slow-{i}: 1\r\n".encode())


@pytest.fixture
def receivers() -> Iterator[Callable[[Callable[[socket.socket], None]], Receiver]]:
    made: list[Receiver] = []

    def make(answer: Callable[[socket.socket], None]) -> Receiver:
        made.append(Receiver(answer))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def world(tmp_path: Path) -> World:
    w = make_world(tmp_path)
    with session_scope(w.url) as s:
        grant_consent(s, E1, "bank-a", ["series", "credit"], dt.date(2027, 6, 30))
    return w


def plant(world: World, bank: str, code: str, url: str, n: int = 1) -> list[int]:
    """A webhook of `bank` at `url` (written straight to the registry, as one registered before the rules were)
    with `n` pending shutdown deliveries for `code`; their ids."""
    with session_scope(world.url) as s:
        hook = Webhook(bank_id=bank, url=url, secret="s" * 43, events="shutdown", created_at=NOW)
        s.add(hook)
        s.flush()
        rows = [WebhookDelivery(webhook_id=hook.id, event_key=f"shutdown:{code}:2026-11-{10 + i}",
                                event_type="shutdown", enterprise_code=code, payload='{"type":"shutdown"}',
                                next_attempt_at=NOW) for i in range(n)]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def delivery(world: World, delivery_id: int) -> WebhookDelivery:
    with session_scope(world.url) as s:
        row = s.get(WebhookDelivery, delivery_id)
        assert row is not None
        s.expunge(row)
        return row


def run(world: World, policy: DeliveryPolicy) -> tuple[int, int, int]:
    with session_scope(world.url) as s:
        report = deliver_due(s, NOW, TODAY, policy, clock=lambda: NOW.timestamp())
    return report.delivered, report.retried, report.failed


def test_influxdb_is_not_reachable_through_a_webhook(world: World, services: object, influx_db: str) -> None:
    """The probe's attack: a webhook at InfluxDB's query endpoint created a database when delivered."""
    influx_url = services.influx_url  # type: ignore[attr-defined]
    attack = f"{influx_url}/query?q=CREATE%20DATABASE%20ssrf_{influx_db}"
    client = TestClient(create_app(registry_url=world.url, influx=FakeInflux(), clock=Clock(NOW),  # type: ignore[arg-type]
                                   allow_http_webhooks=True))
    refused = client.post("/v1/webhooks", json={"url": attack, "events": ["shutdown"]}, headers=bearer(world.keys["a"]))
    assert refused.status_code == 422 and NOT_PUBLIC in refused.json()["detail"]

    (planted,) = plant(world, "bank-a", E1, attack)  # already in the registry: refused again when delivered
    assert run(world, DeliveryPolicy(egress=EgressPolicy(allow_http=True))) == (0, 1, 0)
    databases = httpx.get(f"{influx_url}/query", params={"q": "SHOW DATABASES"}).json()
    names = [v[0] for v in databases["results"][0]["series"][0]["values"]]
    assert influx_db in names and f"ssrf_{influx_db}" not in names
    row = delivery(world, planted)
    assert (row.state, row.attempts, row.last_status, row.last_error) == ("pending", 1, None,
                                                                          f"not delivered: {NOT_PUBLIC}")


def test_dns_rebinding_is_refused_and_the_checked_address_is_the_one_connected(world: World, receivers) -> None:  # type: ignore[no-untyped-def]
    receiver = receivers(ok)
    zone = {"hooks.bank-a.example": "93.184.215.14"}
    policy = EgressPolicy(allow_http=True, resolve=lambda host, port: [zone[host]] if host in zone else [])
    client = TestClient(create_app(registry_url=world.url, influx=FakeInflux(), clock=Clock(NOW),  # type: ignore[arg-type]
                                   webhook_policy=policy))
    url = f"http://hooks.bank-a.example:{receiver.port}/hook"
    hook = client.post("/v1/webhooks", json={"url": url, "events": ["shutdown"]}, headers=bearer(world.keys["a"]))
    assert hook.status_code == 201  # public at registration
    zone["hooks.bank-a.example"] = "127.0.0.1"  # the bank's DNS now answers loopback (rebinding)
    (first,) = plant(world, "bank-a", E1, url)
    assert run(world, DeliveryPolicy(egress=policy)) == (0, 1, 0)
    assert receiver.heads == []
    assert delivery(world, first).last_error == f"not delivered: {NOT_PUBLIC}"

    # with the test-only loopback allowance the same name is delivered to the address the check resolved
    # (the name itself is unknown to this machine's resolver), under its own Host
    local = EgressPolicy(allow_http=True, allow_loopback=True, resolve=policy.resolve)
    (second,) = plant(world, "bank-a", E1, url)
    assert run(world, DeliveryPolicy(egress=local)) == (1, 0, 0)
    assert len(receiver.heads) == 1
    assert f"\r\nhost: hooks.bank-a.example:{receiver.port}\r\n".encode() in receiver.heads[0][1].lower()
    assert delivery(world, second).state == "delivered"


def test_redirects_are_not_followed(world: World, receivers) -> None:  # type: ignore[no-untyped-def]
    inside = receivers(ok)

    def redirect(sock: socket.socket) -> None:
        sock.sendall(f"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{inside.port}/x\r\n"
                     "Content-Length: 0\r\nConnection: close\r\n\r\n".encode())

    outside = receivers(redirect)
    (planted,) = plant(world, "bank-a", E1, f"http://127.0.0.1:{outside.port}/hook")
    assert run(world, DeliveryPolicy(egress=LOCAL)) == (0, 1, 0)
    assert len(outside.heads) == 1 and inside.heads == []
    row = delivery(world, planted)
    assert (row.last_status, row.last_error, row.state) == (307, REDIRECT, "pending")


def test_network_errors_read_alike(world: World, receivers) -> None:  # type: ignore[no-untyped-def]
    """The probe mapped ports through `last_error`: a TLS error meant open, "connection refused" closed."""
    plain = receivers(ok)  # an open port that does not speak TLS
    slow = receivers(trickle)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]  # nothing listens once this socket is closed
    urls = [f"https://127.0.0.1:{plain.port}/", f"https://127.0.0.1:{closed_port}/", f"http://127.0.0.1:{slow.port}/",
            "https://unresolvable.bank-a.example/"]
    ids = [plant(world, "bank-a", E1, url)[0] for url in urls]
    policy = DeliveryPolicy(egress=EgressPolicy(allow_http=True, allow_loopback=True,
                                                resolve=lambda host, port: []), deadline_s=1.0, per_bank=4)
    assert run(world, policy) == (0, 4, 0)
    errors = [delivery(world, i).last_error for i in ids]
    assert errors[:3] == [policy.unreachable()] * 3
    assert errors[3] == f"not delivered: {NOT_PUBLIC}"
    assert "refused" not in policy.unreachable().lower() and "ssl" not in policy.unreachable().lower()


def test_a_hanging_receiver_neither_stalls_other_banks_nor_loses_its_attempt(world: World, receivers) -> None:  # type: ignore[no-untyped-def]
    slow = receivers(trickle)
    fast = receivers(ok)
    hanging = plant(world, "bank-a", E1, f"http://127.0.0.1:{slow.port}/hook", n=2)
    quick = plant(world, "bank-b", E2, f"http://127.0.0.1:{fast.port}/hook", n=3)
    policy = DeliveryPolicy(egress=LOCAL, deadline_s=3.0)
    started = time.monotonic()
    worker = threading.Thread(target=run, args=(world, policy))
    worker.start()
    while len(slow.heads) < 2 and time.monotonic() - started < 10:
        time.sleep(0.05)
    # while bank a's receiver hangs, its attempts are already committed: a killed monitor retries them later
    claimed = [delivery(world, i) for i in hanging]
    assert [(r.state, r.attempts, r.next_attempt_at) for r in claimed] == [
        ("pending", 1, NOW + dt.timedelta(seconds=30))] * 2
    worker.join(timeout=20)
    elapsed = time.monotonic() - started
    assert not worker.is_alive()
    assert elapsed < 3.0 + 3.0  # one deadline (both of bank a's attempts at once), not a receiver's pace
    assert len(fast.heads) == 3 and max(t for t, _ in fast.heads) - started < 2.0  # bank b did not wait
    assert [delivery(world, i).state for i in quick] == ["delivered"] * 3
    rows = [delivery(world, i) for i in hanging]
    assert [(r.state, r.attempts, r.last_error) for r in rows] == [("pending", 1, policy.unreachable())] * 2
    with session_scope(world.url) as s:  # retried after the backoff, not before
        assert s.scalars(select(WebhookDelivery).where(WebhookDelivery.next_attempt_at <= NOW,
                                                       WebhookDelivery.state == "pending")).all() == []
