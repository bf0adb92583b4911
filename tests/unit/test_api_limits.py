"""Input limits (422 naming the parameter) and per-key rate limits shared by several API processes (429)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.ratelimit import RateLimit, RateLimiter, verdict
from core.registry.access import grant_consent
from core.registry.db import session_scope
from tests.unit.test_api_support import E1, START, Clock, FakeInflux, World, bearer, make_world

PROBLEM = "application/problem+json"


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


@pytest.fixture
def client(world: World) -> TestClient:
    app = create_app(registry_url=world.url, influx=FakeInflux(), clock=Clock(START))  # type: ignore[arg-type]
    return TestClient(app)


@pytest.mark.parametrize(
    ("query", "name", "words"),
    [
        ("quantity=power_kw&interval=1d&from=2026-13-01&to=2026-12-01", "from", "date"),
        ("quantity=power_kw&interval=1d&from=2026-11-01&to=yesterday", "to", "date"),
        ("quantity=power_kw&interval=1d&from=2020-01-01&to=2023-01-02", "to", "3 years"),
        ("quantity=power_kw&interval=1d&from=2026-11-02&to=2026-11-01", "to", "after"),
        ("quantity=power_kw&interval=1h&from=2024-01-01&to=2025-06-01", "to", "366 days"),
        ("quantity=power_kw&interval=2d&from=2026-11-01&to=2026-11-02", "interval", "1h"),
        ("quantity=horsepower&interval=1d&from=2026-11-01&to=2026-11-02", "quantity", "power_kw"),
        ("interval=1d&from=2026-11-01&to=2026-11-02", "quantity", "required"),
        ("quantity=power_kw&interval=1d&from=2026-11-01&to=2026-11-02&meter=a%20b", "meter", "pattern"),
        ("quantity=power_kw&interval=1d&from=9999-12-01&to=9999-12-31", "from", "outside"),
        ("quantity=power_kw&interval=1h&from=0001-01-01&to=0001-01-02", "from", "outside"),
    ],
    ids=["bad-month", "not-a-date", "over-3-years", "reversed", "hourly-too-long", "interval", "quantity",
         "missing", "meter", "year-9999", "year-1"],
)
def test_series_bad_input_is_422_naming_the_parameter(
    client: TestClient, world: World, query: str, name: str, words: str
) -> None:
    response = client.get(f"/v1/enterprises/{E1}/series?{query}", headers=bearer(world.keys["a"]))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert f"'{name}'" in body["detail"]
    assert words in body["detail"]
    assert any(e["name"] == name and e["in"] == "query" for e in body["errors"])
    assert world.audit(E1, 422, bank="bank-a") == 1


def test_exactly_three_years_is_allowed(client: TestClient, world: World) -> None:
    q = "quantity=power_kw&interval=1mo&from=2023-11-01&to=2026-11-01"
    assert client.get(f"/v1/enterprises/{E1}/series?{q}", headers=bearer(world.keys["a"])).status_code == 200


@pytest.mark.parametrize(("query", "name"), [("from=2026-1&to=2026-03", "from"), ("from=2022-01&to=2025-01", "to"),
                                             ("from=9999-10&to=9999-12", "from"), ("from=2026-01&to=9999-12", "to")])
def test_profile_months_are_checked(client: TestClient, world: World, query: str, name: str) -> None:
    response = client.get(f"/v1/enterprises/{E1}/profile?{query}", headers=bearer(world.keys["a"]))
    assert response.status_code == 422
    assert f"'{name}'" in response.json()["detail"]


@pytest.mark.parametrize(("query", "words"), [("as_of=2026-12-01", "future"), ("as_of=1999-12-31", "2000-01-01"),
                                              ("as_of=0001-01-01", "outside"),
                                              ("as_of=2026-11-31", "date"), ("", "required")])
def test_credit_as_of_is_checked(client: TestClient, world: World, query: str, words: str) -> None:
    with session_scope(world.url) as s:
        grant_consent(s, E1, "bank-a", ["credit"], dt.date(2027, 1, 31))
    response = client.get(f"/v1/enterprises/{E1}/credit-indicators?{query}", headers=bearer(world.keys["a"]))
    assert response.status_code == 422, response.text
    assert "'as_of'" in response.json()["detail"] and words in response.json()["detail"]


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=x", "after=lower-case"])
def test_page_size_is_bounded(client: TestClient, world: World, query: str) -> None:
    response = client.get(f"/v1/enterprises?{query}", headers=bearer(world.keys["a"]))
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def test_auth_is_checked_before_parameters(client: TestClient) -> None:
    """A caller without a key learns nothing, not even which parameters are wrong."""
    response = client.get(f"/v1/enterprises/{E1}/series?interval=bad")
    assert response.status_code == 401


def test_verdict_counts_and_retry_after() -> None:
    limit = RateLimit(requests=2, window_s=60)
    assert verdict(2, 120.0, limit).allowed
    late = verdict(3, 150.5, limit)
    assert not late.allowed and late.retry_after_s == 30  # window [120, 180) ends in 29.5 s → 30
    assert verdict(3, 179.9, limit).retry_after_s == 1


def test_rate_limit_holds_across_two_app_instances(world: World) -> None:
    """Two API processes on one registry count against the same per-key window."""
    clock = Clock(dt.datetime(2026, 11, 26, 4, 0, 5, tzinfo=dt.UTC))
    limit = RateLimit(requests=5, window_s=60)
    one, two = (
        TestClient(create_app(registry_url=world.url, influx=FakeInflux(), clock=clock, rate_limit=limit))  # type: ignore[arg-type]
        for _ in range(2)
    )
    key_a, key_b = bearer(world.keys["a"]), bearer(world.keys["b"])
    statuses = [(one if i % 2 else two).get("/v1/enterprises", headers=key_a).status_code for i in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    refused = one.get(f"/v1/enterprises/{E1}/series", headers=key_a)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    assert refused.headers["retry-after"] == "55"
    assert world.audit(E1, 429, bank="bank-a") == 1
    assert two.get("/v1/enterprises", headers=key_b).status_code == 200  # another key has its own window
    clock.now += dt.timedelta(seconds=55)
    assert one.get("/v1/enterprises", headers=key_a).status_code == 200


def test_leases_never_grant_more_than_the_limit(world: World) -> None:
    """Processes lease limit/50 requests at a time; together they never exceed the limit."""
    one, two = RateLimiter(RateLimit(requests=100)), RateLimiter(RateLimit(requests=100))
    assert one.lease == 2
    now = 1_764_000_005.0

    def hit(limiter: RateLimiter) -> bool:
        with session_scope(world.url) as session:
            return limiter.hit(session, "key:test", now).allowed

    assert hit(one)  # leases 2, uses 1
    allowed_two = sum(hit(two) for _ in range(150))
    assert allowed_two == 98
    assert hit(one)  # its second leased request
    assert not hit(one) and not hit(two)
    with session_scope(world.url) as session:
        assert not RateLimiter(RateLimit(requests=100)).hit(session, "key:test", now).allowed
        assert RateLimiter(RateLimit(requests=100)).hit(session, "key:test", now + 60).allowed
