"""The access matrix: banks × enterprises (consented, other bank's, revoked, expired, unregistered) × scopes.

Every cell's status follows CONTRACTS.md section 5, and every cell writes exactly one audit record.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.ratelimit import RateLimit
from tests.unit.test_api_support import E1, E2, E3, E4, GHOST, START, Clock, FakeInflux, World, bearer, make_world

ENDPOINTS = {
    "series": "series?quantity=power_kw&interval=1d&from=2026-10-01&to=2026-11-01",
    "profile": "profile?from=2026-09&to=2026-10",
    "credit": "credit-indicators?as_of=2026-11-01",
    "warehouse": "warehouse?from=2026-10-01&to=2026-11-01",
    "orders": "order-verification?from=2026-10-01&to=2026-11-01&expected_output_t=100",
}
ALLOWED = {"series": 200, "profile": 200, "credit": 200, "warehouse": 200, "orders": 200}
GRANTS = {("a", E1): {"series", "profile"}, ("b", E2): set(ENDPOINTS)}  # E3 revoked and E4 expired for bank a


def expected(bank: str, code: str, scope: str) -> int:
    granted = GRANTS.get((bank, code))
    if granted is None:
        return 404
    return ALLOWED[scope] if scope in granted else 403


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, World]:
    world = make_world(Path(tmp_path_factory.mktemp("matrix")))
    app = create_app(registry_url=world.url, influx=FakeInflux(), clock=Clock(START),  # type: ignore[arg-type]
                     rate_limit=RateLimit(requests=10_000))
    return TestClient(app, raise_server_exceptions=False), world


@pytest.mark.parametrize("scope", list(ENDPOINTS))
@pytest.mark.parametrize("code", [E1, E2, E3, E4, GHOST], ids=["E1", "E2", "E3-revoked", "E4-expired", "ghost"])
@pytest.mark.parametrize("bank", ["a", "b"])
def test_cell(setup: tuple[TestClient, World], bank: str, code: str, scope: str) -> None:
    client, world = setup
    before = world.audit(code, bank=f"bank-{bank}")
    response = client.get(f"/v1/enterprises/{code}/{ENDPOINTS[scope]}", headers=bearer(world.keys[bank]))
    assert response.status_code == expected(bank, code, scope), response.text
    wanted_type = "application/json" if response.status_code == 200 else "application/problem+json"
    assert response.headers["content-type"] == wanted_type
    assert world.audit(code, bank=f"bank-{bank}") == before + 1
