"""`enerdiag api` as real uvicorn processes: two of them on one registry share each key's rate limit and see
every revocation at once."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from api.app import create_app
from core.registry.access import revoke_api_key, revoke_consent
from core.registry.db import session_scope
from enerdiag.localservices.postgres import Postgres
from enerdiag.localservices.procs import free_port
from tests.unit.test_api_support import E1, E2, START, Clock, FakeInflux, World, bearer, make_world

pytestmark = pytest.mark.integration

SERVE = "import typer; from enerdiag.commands import api; app = typer.Typer(); api.register(app); app()"
LIMIT = 10


def start_api(db_url: str, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ENERDIAG_DB_URL": db_url, "ENERDIAG_INFLUX_URL": "http://127.0.0.1:9"}
    return subprocess.Popen(
        [sys.executable, "-c", SERVE, "api", "--port", str(port), "--workers", str(workers),
         "--rate-limit", str(LIMIT)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def wait_up(port: int, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"api exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"api on port {port} did not answer within {timeout} s")


@contextlib.contextmanager
def running_apis(db_url: str) -> Iterator[list[int]]:
    """Two `enerdiag api` processes on one registry; their ports."""
    ports = [free_port(), free_port()]
    procs = [start_api(db_url, port) for port in ports]
    try:
        for port, proc in zip(ports, procs, strict=True):
            wait_up(port, proc)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)


def hammer(world: World, ports: list[int], n: int) -> Counter[int]:
    """`n` concurrent requests of bank a, alternating between the processes; status counts."""
    if time.time() % 60 > 50:  # keep the burst inside one rate-limit window
        time.sleep(61 - time.time() % 60)
    urls = [f"http://127.0.0.1:{ports[i % 2]}/v1/enterprises" for i in range(n)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda u: httpx.get(u, headers=bearer(world.keys["a"]), timeout=30).status_code, urls))
    return Counter(statuses)


def test_rate_limit_holds_across_two_processes_on_sqlite(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    with running_apis(world.url) as ports:
        check_shared_limit(world, ports)


def check_shared_limit(world: World, ports: list[int]) -> None:
    counts = hammer(world, ports, 3 * LIMIT)
    assert counts == Counter({200: LIMIT, 429: 2 * LIMIT})
    response = httpx.get(f"http://127.0.0.1:{ports[0]}/v1/enterprises/{E1}/profile?from=2026-01&to=2026-02",
                         headers=bearer(world.keys["a"]))
    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["content-type"] == "application/problem+json"
    assert world.audit(E1, 429, bank="bank-a") == 1
    other = httpx.get(f"http://127.0.0.1:{ports[1]}/v1/enterprises", headers=bearer(world.keys["b"]))
    assert other.status_code == 200
    check_revocations_reach_every_process(world, ports)


def check_revocations_reach_every_process(world: World, ports: list[int]) -> None:
    """Both processes keep bank b's key and consent in memory; a revocation committed by a third process is
    refused by the very next request of each (their registry change counter moved)."""
    path = f"/v1/enterprises/{E2}/profile?from=2026-01&to=2026-02"

    def statuses() -> list[int]:
        return [httpx.get(f"http://127.0.0.1:{port}{path}", headers=bearer(world.keys["b"]), timeout=30).status_code
                for port in ports]

    assert statuses() == [503, 503]  # consent and scope hold; the time-series store (port 9) does not answer
    with session_scope(world.url) as session:
        revoke_consent(session, E2, "bank-b")
    assert statuses() == [404, 404]
    with session_scope(world.url) as session:
        revoke_api_key(session, world.keys["b"])
    assert statuses() == [401, 401]


@pytest.fixture
def postgres_world(postgres_url: str, tmp_path: Path) -> World:
    name = f"api_{uuid.uuid4().hex[:10]}"
    admin = make_url(postgres_url)
    with psycopg.connect(
        host=admin.host, port=admin.port, user=admin.username, dbname=admin.database, autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_world(tmp_path, admin.set(database=name).render_as_string(hide_password=False))


@pytest.mark.postgres
def test_rate_limit_holds_across_two_processes_on_postgres(postgres_world: World) -> None:
    with running_apis(postgres_world.url) as ports:
        check_shared_limit(postgres_world, ports)


@pytest.mark.postgres
def test_api_outlives_a_postgres_restart(postgres_world: World, postgres_server: Postgres) -> None:
    """The event loop's and the audit writer's kept connections die with the server; the requests after the
    restart are still answered and audited (a new connection each, at once)."""
    client = TestClient(create_app(registry_url=postgres_world.url, influx=FakeInflux(), clock=Clock(START)))
    path = f"/v1/enterprises/{E2}/series?quantity=energy_kwh&interval=1d&from=2026-11-01&to=2026-11-03"

    def get() -> int:
        return client.get(path, headers=bearer(postgres_world.keys["b"])).status_code

    assert get() == 200
    postgres_server.stop()
    postgres_server.start()
    assert [get() for _ in range(3)] == [200, 200, 200]
    assert postgres_world.audit(E2, 200, bank="bank-b") == 4
