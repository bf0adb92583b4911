"""Per-bank limits on computing requests (issue 15 D8), dates only as `YYYY-MM-DD` (D9), failed-key counting."""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.guards import FailureLimiter, HeavyLimiter
from core.influx import Series
from core.registry.access import grant_consent
from core.registry.db import session_scope
from tests.unit.test_api_support import E1, E2, START, Clock, FakeInflux, World, bearer, make_world


class SlowInflux(FakeInflux):
    """Answers every query after `delay_s` (a heavy series)."""

    def __init__(self, delay_s: float) -> None:
        super().__init__([Series("reading", ["time", "sum", "count"], [[1761926400, 300.0, 3]], {"meter": "M01"})])
        self.delay_s = delay_s

    def query(self, q: str) -> list[Series]:
        time.sleep(self.delay_s)
        return super().query(q)


@pytest.fixture
def world(tmp_path: Path) -> World:
    w = make_world(tmp_path)
    with session_scope(w.url) as s:
        grant_consent(s, E1, "bank-b", ["series"], dt.date(2027, 6, 30))
    return w


def series(day: int, meter: str | None = None) -> str:
    q = f"quantity=power_kw&interval=1h&from=2025-11-{day:02d}&to=2026-11-{day:02d}"
    return q + (f"&meter={meter}" if meter else "")


def test_one_bank_cannot_take_every_worker(world: World) -> None:
    """Bank b fires 8 different one-year hourly series at once: 2 compute, 6 get 429 at once; bank a is served."""
    influx = SlowInflux(1.0)
    client = TestClient(create_app(registry_url=world.url, influx=influx, clock=Clock(START)))  # type: ignore[arg-type]
    key_a, key_b = bearer(world.keys["a"]), bearer(world.keys["b"])
    with ThreadPoolExecutor(max_workers=9) as pool:
        heavy = [pool.submit(client.get, f"/v1/enterprises/{E2}/series?{series(d)}", headers=key_b)
                 for d in range(1, 9)]
        time.sleep(0.3)
        other = client.get(f"/v1/enterprises/{E1}/series?{series(1)}", headers=key_a)
        answers = [f.result() for f in heavy]
    assert sorted(r.status_code for r in answers) == [200, 200] + [429] * 6
    refused = next(r for r in answers if r.status_code == 429)
    assert refused.json()["type"] == "urn:enerdiag:problem:too-many-concurrent"
    assert refused.headers["retry-after"] == "1"
    assert other.status_code == 200
    assert world.audit(E2, 429, bank="bank-b") == 6


def test_series_answers_are_cached_and_cost_is_charged_on_a_miss_only(world: World) -> None:
    influx = SlowInflux(0.0)
    app = create_app(registry_url=world.url, influx=influx, clock=Clock(START))  # type: ignore[arg-type]
    app.state.ctx.heavy = HeavyLimiter(cost_per_minute=8784 * 2 * 2)  # two one-year hourly series of 2 meters
    client = TestClient(app)
    key_b = bearer(world.keys["b"])
    first = client.get(f"/v1/enterprises/{E2}/series?{series(1)}", headers=key_b)
    assert first.status_code == 200
    assert len(influx.queries) == 1
    for _ in range(5):  # the same answer again: from the cache, no query, no cost
        again = client.get(f"/v1/enterprises/{E2}/series?{series(1)}", headers=key_b)
        assert again.content == first.content
    assert len(influx.queries) == 1
    assert client.get(f"/v1/enterprises/{E2}/series?{series(2)}", headers=key_b).status_code == 200
    over = client.get(f"/v1/enterprises/{E2}/series?{series(3)}", headers=key_b)
    assert over.status_code == 429 and over.json()["type"] == "urn:enerdiag:problem:cost-limited"
    assert 1 <= int(over.headers["retry-after"]) <= 60
    assert client.get(f"/v1/enterprises/{E1}/series?{series(3)}", headers=bearer(world.keys["a"])).status_code == 200


@pytest.mark.parametrize(("query", "name"), [
    ("quantity=power_kw&interval=1d&from=1761926400&to=2026-11-03", "from"),
    ("quantity=power_kw&interval=1d&from=2026-11-01&to=2026-11-03T00:00:00", "to"),
    ("quantity=power_kw&interval=1d&from=2026-11-01T00:00:00Z&to=2026-11-03", "from"),
    ("quantity=power_kw&interval=1d&from=20261101&to=2026-11-03", "from"),
])
def test_dates_are_only_yyyy_mm_dd(world: World, query: str, name: str) -> None:
    client = TestClient(create_app(registry_url=world.url, influx=FakeInflux(), clock=Clock(START)))  # type: ignore[arg-type]
    response = client.get(f"/v1/enterprises/{E1}/series?{query}", headers=bearer(world.keys["a"]))
    assert response.status_code == 422, response.text
    assert f"'{name}'" in response.json()["detail"] and "YYYY-MM-DD" in response.json()["detail"]
    with session_scope(world.url) as s:
        grant_consent(s, E1, "bank-a", ["credit", "warehouse", "orders"], dt.date(2027, 6, 30))
    for path in ("credit-indicators?as_of=1764115200", "warehouse?from=2026-11-01T00:00:00&to=2026-11-02",
                 "order-verification?from=2026-11-01&to=1764115200&expected_output_t=1"):
        assert client.get(f"/v1/enterprises/{E1}/{path}", headers=bearer(world.keys["a"])).status_code == 422


def test_failure_limiter_counts_per_address_and_window() -> None:
    limiter = FailureLimiter(limit=2)
    for _ in range(2):
        assert limiter.blocked("10.0.0.1", 120.0) is None
        limiter.fail("10.0.0.1", 120.0)
    assert limiter.blocked("10.0.0.1", 150.5) == 30
    assert limiter.blocked("10.0.0.2", 150.5) is None
    assert limiter.blocked("10.0.0.1", 180.0) is None  # a new window
