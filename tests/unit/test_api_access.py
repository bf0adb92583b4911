"""Access rules of the bank API (CONTRACTS.md section 5): 401 / 404 / 403 / 200, audit of each, problem+json."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.influx import Series
from core.registry.access import issue_api_key, revoke_api_key
from core.registry.db import session_scope
from tests.unit.test_api_support import E1, E2, E3, E4, GHOST, START, Clock, FakeInflux, World, bearer, make_world

PROBLEM = "application/problem+json"


def anonymous(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    """The anonymous stream's records (api.audit.anonymous_log)."""
    return [orjson.loads(r.getMessage()) for r in caplog.records if r.name == "enerdiag.api.anonymous"]
SERIES_Q = "quantity=power_kw&interval=1d&from=2026-11-01&to=2026-11-03"


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def influx() -> FakeInflux:
    return FakeInflux([Series("reading", ["time", "sum", "count"], [[1761926400, 300.0, 3]], {"meter": "M01"})])


@pytest.fixture
def client(world: World, clock: Clock, influx: FakeInflux) -> TestClient:
    app = create_app(registry_url=world.url, influx=influx, clock=clock)  # type: ignore[arg-type]
    return TestClient(app, raise_server_exceptions=False)


def assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= set(body)
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    return body


def test_health_reports_both_dependencies(client: TestClient) -> None:
    response = client.get("/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["influxdb"]["ok"] and body["checks"]["registry"]["ok"]


def test_health_is_503_when_influx_is_down(world: World, clock: Clock) -> None:
    app = create_app(registry_url=world.url, influx=FakeInflux(up=False), clock=clock)  # type: ignore[arg-type]
    body = assert_problem(TestClient(app).get("/v1/health"), 503)
    assert body["checks"]["influxdb"]["ok"] is False
    assert body["checks"]["registry"]["ok"] is True
    assert "influxdb" in body["detail"]


def test_openapi_lists_every_contract_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/health", "/v1/enterprises", "/v1/enterprises/{code}/profile",
                 "/v1/enterprises/{code}/credit-indicators", "/v1/enterprises/{code}/series",
                 "/v1/enterprises/{code}/warehouse", "/v1/enterprises/{code}/order-verification"):
        assert path in paths


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404)
    assert_problem(client.post("/v1/health"), 405)


@pytest.mark.parametrize(
    "header",
    [None, "Basic abc", "Bearer", "Bearer not-a-key", "Bearer edk_000000000000_" + "A" * 43],
    ids=["missing", "basic", "empty-bearer", "malformed", "unknown-id"],
)
def test_missing_or_unknown_key_is_401_in_the_anonymous_stream(client: TestClient, world: World, header: str | None,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="enerdiag.api.anonymous")
    headers = {"Authorization": header} if header else {}
    body = assert_problem(client.get(f"/v1/enterprises/{E1}/series?{SERIES_Q}", headers=headers), 401)
    assert "Bearer" in client.get(f"/v1/enterprises/{E1}/series", headers=headers).headers["www-authenticate"]
    assert body["type"].endswith("unauthorized")
    assert world.audit(E1) == 0  # not the enterprise's audit trail: anyone can send these (issue 15 D7)
    assert [(r["path"], r["status"], r["client"]) for r in anonymous(caplog)] == [
        (f"/v1/enterprises/{E1}/series?{SERIES_Q}", 401, "testclient"),
        (f"/v1/enterprises/{E1}/series", 401, "testclient")]


def test_wrong_secret_of_a_real_key_is_401(client: TestClient, world: World) -> None:
    key = world.keys["a"]
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert_problem(client.get("/v1/enterprises", headers=bearer(wrong)), 401)
    assert client.get("/v1/enterprises", headers=bearer(key)).status_code == 200


def test_consented_scope_is_200_and_audited_with_the_bank(client: TestClient, world: World) -> None:
    response = client.get(f"/v1/enterprises/{E1}/series?{SERIES_Q}", headers=bearer(world.keys["a"]))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert world.audit(E1, 200, bank="bank-a") == 1
    assert world.audit(E1) == 1


@pytest.mark.parametrize("code", [E2, GHOST, E3, E4], ids=["other-bank", "unregistered", "revoked", "expired"])
def test_no_active_consent_is_the_same_404(client: TestClient, world: World, code: str) -> None:
    body = assert_problem(client.get(f"/v1/enterprises/{code}/series?{SERIES_Q}", headers=bearer(world.keys["a"])), 404)
    reference = assert_problem(
        client.get(f"/v1/enterprises/{GHOST}/series?{SERIES_Q}", headers=bearer(world.keys["a"])), 404
    )
    assert {k: str(v).replace(code, "X") for k, v in body.items()} == {
        k: str(v).replace(GHOST, "X") for k, v in reference.items()
    }
    assert world.audit(code, 404, bank="bank-a") == (2 if code == GHOST else 1)


def test_404_for_a_scope_the_bank_would_lack_too(client: TestClient, world: World) -> None:
    """Scope checks come after consent: an unconsented enterprise never reveals itself through a 403."""
    assert_problem(client.get(f"/v1/enterprises/{E2}/credit-indicators?as_of=2026-11-01",
                              headers=bearer(world.keys["a"])), 404)


def test_scope_not_granted_is_403_and_audited(client: TestClient, world: World) -> None:
    body = assert_problem(
        client.get(f"/v1/enterprises/{E1}/credit-indicators?as_of=2026-11-01", headers=bearer(world.keys["a"])), 403
    )
    assert "'credit'" in body["detail"]
    assert world.audit(E1, 403, bank="bank-a") == 1


def test_warehouse_without_data_reports_every_hour_as_outage(client: TestClient, world: World) -> None:
    key = bearer(world.keys["b"])
    response = client.get(f"/v1/enterprises/{E2}/warehouse?from=2026-10-01&to=2026-10-02", headers=key)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["temperature"][0]["meter"] == "T01" and body["temperature"][0]["band_c"] is None
    assert (body["continuity"], body["completeness"], body["outages"], body["excursions"]) == (None, 0.0, [], [])
    assert body["evidence"]["period"] == {"from": "2026-10-01T00:00:00+08:00", "to": "2026-10-02T00:00:00+08:00",
                                          "hours": 24}
    assert "no band" in body["warnings"][0]
    assert world.audit(E2, 200, bank="bank-b") == 1


def test_consent_expires_at_the_end_of_its_last_day_in_china_time(
    client: TestClient, world: World, clock: Clock
) -> None:
    url, key = f"/v1/enterprises/{E1}/series?{SERIES_Q}", bearer(world.keys["a"])
    clock.now = dt.datetime(2027, 6, 30, 15, 59, tzinfo=dt.UTC)  # 23:59 Beijing on the last day
    assert client.get(url, headers=key).status_code == 200
    assert [e["code"] for e in client.get("/v1/enterprises", headers=key).json()["items"]] == [E1]
    clock.now = dt.datetime(2027, 6, 30, 16, 1, tzinfo=dt.UTC)  # 00:01 the next day
    assert_problem(client.get(url, headers=key), 404)
    assert client.get("/v1/enterprises", headers=key).json()["items"] == []


def test_expired_and_revoked_keys_are_401(client: TestClient, world: World, clock: Clock) -> None:
    with session_scope(world.url) as s:
        short = issue_api_key(s, "bank-a", expires=START + dt.timedelta(hours=1))
    assert client.get("/v1/enterprises", headers=bearer(short)).status_code == 200
    clock.now = START + dt.timedelta(hours=1)
    assert_problem(client.get("/v1/enterprises", headers=bearer(short)), 401)
    key = world.keys["a"]
    assert client.get("/v1/enterprises", headers=bearer(key)).status_code == 200
    with session_scope(world.url) as s:
        revoke_api_key(s, key)
    body = assert_problem(client.get(f"/v1/enterprises/{E1}/series?{SERIES_Q}", headers=bearer(key)), 401)
    assert "revoked" in body["detail"]
    assert world.audit(E1, 401) == 0  # without a valid key: the anonymous stream


def test_enterprise_list_has_the_contract_fields_and_pages(client: TestClient, world: World) -> None:
    with session_scope(world.url) as s:
        from core.registry.access import grant_consent

        grant_consent(s, E2, "bank-a", ["profile"], dt.date(2027, 1, 31))
    key = bearer(world.keys["a"])
    items = client.get("/v1/enterprises", headers=key).json()["items"]
    assert items == sorted(items, key=lambda e: e["code"])
    assert {e["code"] for e in items} == {E1, E2}
    e1 = next(e for e in items if e["code"] == E1)
    assert e1 == {"code": E1, "name": "甲公司", "industry": "3011", "county": "云冈区",
                  "scopes": ["profile", "series"], "consent_until": "2027-06-30"}
    first = client.get("/v1/enterprises?limit=1", headers=key).json()
    assert len(first["items"]) == 1 and first["next_after"] == first["items"][0]["code"]
    second = client.get(f"/v1/enterprises?limit=1&after={first['next_after']}", headers=key).json()
    assert len(second["items"]) == 1 and second["next_after"] is None
    assert {first["items"][0]["code"], second["items"][0]["code"]} == {E1, E2}


def test_unexpected_error_is_500_without_internals_and_audited(world: World, clock: Clock) -> None:
    class Broken(FakeInflux):
        def query(self, q: str) -> list[Series]:
            raise RuntimeError("password=hunter2 at /srv/secret.py line 3")

    app = create_app(registry_url=world.url, influx=Broken(), clock=clock)  # type: ignore[arg-type]
    client = TestClient(app, raise_server_exceptions=False)
    response = client.get(f"/v1/enterprises/{E1}/series?{SERIES_Q}", headers=bearer(world.keys["a"]))
    body = assert_problem(response, 500)
    assert "hunter2" not in response.text and "secret" not in response.text
    assert body["error_id"] in body["detail"]
    assert world.audit(E1, 500, bank="bank-a") == 1
