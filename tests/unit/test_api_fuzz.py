"""Arbitrary query strings never make the API answer 5xx or anything but JSON / problem+json."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from core.registry.access import SCOPES, grant_consent
from core.registry.db import session_scope
from tests.unit.test_api_support import E1, START, Clock, FakeInflux, World, bearer, make_world

VALUES = st.one_of(
    st.sampled_from(["2026-11-01", "2026-02-30", "2023-11-01", "1h", "1d", "1mo", "power_kw", "energy_kwh",
                     "-1", "0", "1e309", "nan", "", "M01", "2026-11", "9999-12-31", "0001-01-01"]),
    st.text(max_size=30),
)
DATES = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
DATE_VALUES = st.one_of(DATES.map(dt.date.isoformat), DATES.map(lambda d: d.strftime("%Y-%m")), VALUES)
PARAMS = st.fixed_dictionaries(
    {},
    optional={"quantity": VALUES, "interval": VALUES, "from": DATE_VALUES, "to": DATE_VALUES, "meter": VALUES,
              "as_of": DATE_VALUES, "limit": VALUES, "expected_output_t": VALUES, "x": VALUES},
)
PATHS = ["series", "profile", "credit-indicators", "warehouse", "order-verification"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, World]:
    world = make_world(Path(tmp_path_factory.mktemp("fuzz")))
    with session_scope(world.url) as s:
        grant_consent(s, E1, "bank-a", list(SCOPES), dt.date(2027, 6, 30))
    app = create_app(registry_url=world.url, influx=FakeInflux(), clock=Clock(START))  # type: ignore[arg-type]
    return TestClient(app, raise_server_exceptions=False), world


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), params=PARAMS)
def test_no_5xx_and_typed_bodies(setup: tuple[TestClient, World], path: str, params: dict[str, str]) -> None:
    client, world = setup
    response = client.get(f"/v1/enterprises/{E1}/{path}", params=params, headers=bearer(world.keys["a"]))
    assert response.status_code < 500, response.text
    expected = "application/json" if response.status_code == 200 else "application/problem+json"
    assert response.headers["content-type"] == expected
