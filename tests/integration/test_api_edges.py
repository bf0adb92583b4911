"""The bank API's edges under the probe's attacks (issue 15 D3, D6, D7, D9), replayed on a real `enerdiag api`
process (uvicorn) on loopback: oversized bodies and headers, random keys, floods without a key, a locked registry.

Memory is the server's peak resident set (`VmHWM`), CPU its own user + system time (`/proc/<pid>/stat`), so
neither depends on how busy the machine is. Other client addresses are other loopback addresses (127.0.0.2 …).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import select
import socket
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.guards import FAILURES_PER_MINUTE
from api.limits import MAX_BODY_BYTES
from enerdiag.localservices.procs import free_port
from tests.integration.test_api_processes import start_api, wait_up
from tests.unit.test_api_support import E1, E2, START, Clock, FakeInflux, World, bearer, make_world

pytestmark = pytest.mark.integration
UPLOAD = 500_000_000
PAGE = os.sysconf("SC_PAGE_SIZE")


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


@contextlib.contextmanager
def api_process(world: World) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    proc = start_api(world.url, port)
    try:
        wait_up(port, proc)
        yield port, proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def upload(port: int, head: bytes, total: int, chunked: bool) -> tuple[int, bytes]:
    """Send `head`, then up to `total` body bytes until the server answers; (bytes sent, response head)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(head)
    sent, pending, block = 0, b"", b"x" * (1 << 20)
    while sent < total:
        readable, _, _ = select.select([sock], [sock], [], 60)
        if readable:
            break
        if not pending:
            pending = (b"%x\r\n" % len(block) + block + b"\r\n") if chunked else block
        try:
            n = sock.send(pending)
        except OSError:
            break
        pending, sent = pending[n:], sent + n
    answer = b""
    with contextlib.suppress(OSError):
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    sock.close()
    return sent, answer


def test_oversized_bodies_and_headers_are_refused_before_they_are_read(world: World) -> None:
    """The probe's 400 MB unauthenticated POST was read whole (RSS 1.35 GB) before its 401."""
    with api_process(world) as (port, proc):
        httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=30)
        before = peak_rss_mb(proc.pid)
        post = b"POST /v1/webhooks HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
        anonymous = post + f"Content-Length: {UPLOAD}\r\n\r\n".encode()
        with_key = post + f"Authorization: Bearer {world.keys['a']}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        header = b"GET /v1/enterprises HTTP/1.1\r\nHost: api\r\nX-Padding: " + b"a" * 40_000 + b"\r\n\r\n"
        answers = [upload(port, anonymous, UPLOAD, chunked=False), upload(port, with_key, UPLOAD, chunked=True),
                   upload(port, header, 0, chunked=False)]
        after = peak_rss_mb(proc.pid)
    statuses = [answer.split(b" ", 2)[1] for _, answer in answers]
    assert statuses == [b"413", b"413", b"431"], answers
    assert all(b"content-type: application/problem+json" in answer.lower() for _, answer in answers)
    assert answers[0][0] < 64 << 20 and answers[1][0] < 64 << 20  # the server stopped taking the upload
    assert after - before < 32, (before, after)  # MB: bounded, whatever the upload's size


def test_a_chunked_body_over_the_limit_is_a_413_problem(world: World) -> None:
    client = TestClient(create_app(registry_url=world.url, influx=FakeInflux(), clock=Clock(START)))  # type: ignore[arg-type]

    def body() -> Iterator[bytes]:
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b" " * 1024

    response = client.post("/v1/webhooks", content=body(), headers=bearer(world.keys["a"]))
    assert response.status_code == 413 and response.json()["type"] == "urn:enerdiag:problem:body-too-large"


def windows_spanned(start_s: float) -> int:
    """One-minute windows of the failure limit between `start_s` and now (a slow machine may cross a boundary)."""
    return int(time.time() // 60 - start_s // 60) + 1


def start_of_a_window() -> float:
    """Now, waiting first for a new minute when this one is nearly spent."""
    if time.time() % 60 > 45:
        time.sleep(61 - time.time() % 60)
    return time.time()


def random_key() -> str:
    return f"edk_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"


def get(port: int, path: str, key: str | None, source: str = "127.0.0.1") -> int:
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=60) as http:
        return http.get(f"http://127.0.0.1:{port}{path}", headers=bearer(key) if key else {}).status_code


def test_random_keys_cost_no_argon2_and_failed_addresses_are_limited(world: World) -> None:
    """The probe's 600 random well-formed keys cost ~70 ms of argon2 each and were never refused with 429."""
    with api_process(world) as (port, proc):
        assert get(port, "/v1/enterprises", world.keys["b"]) == 200  # bank b's key is verified (remembered)
        cpu_before, started = cpu_s(proc.pid), start_of_a_window()
        with ThreadPoolExecutor(max_workers=8) as pool:
            flood = Counter(pool.map(lambda _: get(port, "/v1/enterprises", random_key()), range(120)))
        cpu = cpu_s(proc.pid) - cpu_before
        assert set(flood) == {401, 429} and flood[401] <= FAILURES_PER_MINUTE * windows_spanned(started), flood
        assert cpu < 120 * 0.07 / 3, cpu  # no argon2: a fraction of what 120 verifications would cost
        # the flooding address still serves a key this process verified, never a new one (that would be argon2)
        assert get(port, "/v1/enterprises", world.keys["b"]) == 200
        assert get(port, "/v1/enterprises", world.keys["a"]) == 429
        # wrong secrets of a real key (argon2 each) from another address: limited the same way
        wrong = world.keys["a"][:-4] + ("AAAA" if not world.keys["a"].endswith("AAAA") else "BBBB")
        started = start_of_a_window()
        guesses = Counter(get(port, "/v1/enterprises", wrong, "127.0.0.2") for _ in range(3 * FAILURES_PER_MINUTE))
        assert set(guesses) == {401, 429} and guesses[401] <= FAILURES_PER_MINUTE * windows_spanned(started)
        assert get(port, "/v1/enterprises", world.keys["a"], "127.0.0.3") == 200  # other addresses unaffected


def test_requests_without_a_key_stay_out_of_the_audit_trail(world: World) -> None:
    """The probe's 3,000 unauthenticated requests added 3,000 rows to an enterprise's audit trail."""
    path = f"/v1/enterprises/{E2}/series?quantity=power_kw&interval=1d&from=2026-11-01&to=2026-11-02"
    with api_process(world) as (port, proc):
        started = start_of_a_window()
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = Counter(pool.map(lambda i: get(port, path, None if i % 2 else random_key()), range(200)))
        windows = windows_spanned(started)
        assert get(port, path, world.keys["b"], "127.0.0.2") == 503  # a bank's request: audited (no InfluxDB)
        proc.terminate()
        _, stderr = proc.communicate(timeout=15)
    assert set(statuses) == {401, 429} and statuses[401] <= FAILURES_PER_MINUTE * windows
    assert world.audit(E2) == 1 and world.audit(E2, 503, bank="bank-b") == 1
    lines = [orjson.loads(line.split(b"enerdiag.api.anonymous: ", 1)[1])
             for line in stderr.splitlines() if b"enerdiag.api.anonymous: " in line]
    assert len(lines) == 200
    assert Counter(line["status"] for line in lines) == statuses
    assert {(line["client"], line["method"], line["path"]) for line in lines} == {("127.0.0.1", "GET", path)}


def test_a_locked_registry_answers_audit_unavailable(world: World) -> None:
    """The probe held the registry locked for 12 s and got a generic 500 instead of the documented answer."""
    client = TestClient(create_app(registry_url=world.url, influx=FakeInflux(), clock=Clock(START)),  # type: ignore[arg-type]
                        raise_server_exceptions=False)
    path = f"/v1/enterprises/{E1}/series?quantity=power_kw&interval=1d&from=2026-11-01&to=2026-11-02"
    assert client.get(path, headers=bearer(world.keys["a"])).status_code == 200
    locker = sqlite3.connect(world.url.removeprefix("sqlite:///"), isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(12.0, locker.rollback)
    release.start()
    try:
        response = client.get(path, headers=bearer(world.keys["a"]))
    finally:
        release.cancel()
        locker.rollback()
        locker.close()
    assert response.status_code == 500
    assert response.json()["type"] == "urn:enerdiag:problem:audit-unavailable"
    time.sleep(0)  # the registry is free again: the next request is served and audited
    assert client.get(path, headers=bearer(world.keys["a"])).status_code == 200
