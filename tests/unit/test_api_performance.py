"""The hot-path helpers: TTL cache, audit group commit, first key verification done once, SQLite pragmas."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from api import auth
from api.audit import GroupCommit
from api.cache import TTLCache
from core.registry import access
from core.registry.db import get_engine, session_scope
from tests.unit.test_api_support import E1, E2, START, World, make_world


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_ttl_cache_expires_and_evicts_the_least_recently_used() -> None:
    clock = Ticks()
    cache: TTLCache[int] = TTLCache(10.0, max_entries=2, clock=clock)
    calls: list[str] = []

    def compute(key: str) -> int:
        calls.append(key)
        return len(calls)

    assert cache.get_or_compute("a", lambda: compute("a")) == 1
    assert cache.get_or_compute("a", lambda: compute("a")) == 1
    clock.now = 10.0
    assert cache.get_or_compute("a", lambda: compute("a")) == 2  # expired at exactly ttl
    cache.put("b", 20)
    cache.get("a")
    cache.put("c", 30)  # evicts b, the least recently used
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (2, None, 30)


def test_ttl_cache_does_not_store_errors() -> None:
    cache: TTLCache[int] = TTLCache(10.0)
    with pytest.raises(RuntimeError):
        cache.get_or_compute("k", lambda: (_ for _ in ()).throw(RuntimeError("down")))
    assert cache.get_or_compute("k", lambda: 7) == 7


class Ctx:
    def __init__(self, world: World) -> None:
        self.url = world.url
        self.fail_next = False

    def session(self) -> Any:
        if self.fail_next:
            self.fail_next = False
            raise OSError("registry unreachable")
        return session_scope(self.url)


def test_group_commit_writes_every_row_of_concurrent_callers(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    writer = GroupCommit(Ctx(world))  # type: ignore[arg-type]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: writer.write(("bank-a", E1, f"/p{i}", 200, START)), range(200)))
    assert world.audit(E1, 200, bank="bank-a") == 200


def test_group_commit_raises_for_every_row_of_a_failed_transaction(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    ctx = Ctx(world)
    writer = GroupCommit(ctx)  # type: ignore[arg-type]
    ctx.fail_next = True
    with pytest.raises(OSError, match="unreachable"):
        writer.write(("bank-a", E1, "/p", 200, START))
    writer.write(("bank-b", E2, "/p", 200, START))  # the writer recovers
    assert world.audit(E1) == 0 and world.audit(E2, 200) == 1


def test_first_verification_of_a_key_runs_argon2_once_per_process(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world(tmp_path)
    monkeypatch.setattr(auth, "_VERIFIED_IDS", set())
    monkeypatch.setattr(access, "_VERIFIED", type(access._VERIFIED)())
    real, calls, lock = access.verify_api_secret, [], threading.Lock()

    def counted(secret: str, encoded: str) -> bool:
        with lock:
            calls.append(secret)
        return real(secret, encoded)

    monkeypatch.setattr(access, "verify_api_secret", counted)

    def verify(_: int) -> str | None:
        with session_scope(world.url) as session:
            bank = auth._verify(session, world.keys["a"], START)
            return bank.id if bank else None

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(verify, range(16))) == {"bank-a"}
    assert len(calls) == 1
    with session_scope(world.url) as session:
        assert auth._verify(session, world.keys["a"][:-2] + "xx", START) is None  # a wrong secret still fails


def test_sqlite_registry_runs_in_wal_with_normal_sync(tmp_path: Path) -> None:
    engine = get_engine(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    assert engine.pool.size() == 40  # type: ignore[attr-defined]


def test_concurrent_misses_of_one_key_compute_once() -> None:
    cache: TTLCache[int] = TTLCache(10.0)
    calls: list[int] = []
    gate = threading.Event()

    def slow() -> int:
        calls.append(1)
        gate.wait(1.0)
        return 42

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(cache.get_or_compute, "k", slow) for _ in range(8)]
        gate.set()
        assert [f.result() for f in futures] == [42] * 8
    assert len(calls) == 1
