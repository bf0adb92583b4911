"""The hot-path helpers: TTL cache, audit group commit, first key verification done once, SQLite pragmas."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from api import auth
from api.access_state import AccessState
from api.audit import AuditWriter, registry_writer
from api.cache import TTLCache
from api.objections import add_objection
from core.registry import access
from core.registry.access import record_audit
from core.registry.changes import read_version
from core.registry.db import get_engine, session_scope
from core.registry.models import ApiKey
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


class FailingOnce:
    """A batch writer whose next batch fails once (an unreachable registry), then writes for real."""

    def __init__(self, world: World) -> None:
        self.write = registry_writer(get_engine(world.url))
        self.fail_next = False
        self.batches: list[int] = []

    def __call__(self, rows: list[Any]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise OSError("registry unreachable")
        self.batches.append(len(rows))
        self.write(rows)


def test_audit_writer_commits_every_row_of_concurrent_callers_in_groups(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    batches = FailingOnce(world)
    writer = AuditWriter(batches)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: writer.write_blocking(("bank-a", E1, f"/p{i}", 200, START)), range(200)))
    assert world.audit(E1, 200, bank="bank-a") == 200
    assert sum(batches.batches) == 200 and len(batches.batches) < 200  # rows shared transactions


def test_audit_writer_answers_awaiting_requests_on_their_event_loop(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    writer = AuditWriter(FailingOnce(world))

    async def many() -> None:
        await asyncio.gather(*(writer.write(("bank-b", E2, f"/q{i}", 404, START)) for i in range(50)))

    asyncio.run(many())
    assert world.audit(E2, 404, bank="bank-b") == 50


def test_audit_writer_raises_for_every_row_of_a_failed_transaction(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    batches = FailingOnce(world)
    writer = AuditWriter(batches)
    batches.fail_next = True
    with pytest.raises(OSError, match="unreachable"):
        writer.write_blocking(("bank-a", E1, "/p", 200, START))
    writer.write_blocking(("bank-b", E2, "/p", 200, START))  # the writer recovers
    assert world.audit(E1) == 0 and world.audit(E2, 200) == 1


def test_first_verification_of_a_key_runs_argon2_once_per_process(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world(tmp_path)
    monkeypatch.setattr(access, "_VERIFIED", type(access._VERIFIED)())
    real, calls, lock = access.verify_api_secret, [], threading.Lock()

    def counted(secret: str, encoded: str) -> bool:
        with lock:
            calls.append(secret)
        return real(secret, encoded)

    monkeypatch.setattr(access, "verify_api_secret", counted)
    key_id, secret = access.KEY_PATTERN.match(world.keys["a"]).groups()  # type: ignore[union-attr]
    with session_scope(world.url) as session:
        encoded = session.get(ApiKey, key_id).secret_hash  # type: ignore[union-attr]
    assert not access.secret_remembered(key_id, secret, encoded)
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(lambda _: auth._first_verification(key_id, secret, encoded), range(16))) == {True}
    assert len(calls) == 1
    assert access.secret_remembered(key_id, secret, encoded)
    assert not auth._first_verification(key_id, secret[:-2] + "xx", encoded)  # a wrong secret still fails
    assert len(calls) == 2


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


class Statements:
    """Counts the SQL statements an engine runs (to show what the request path reads)."""

    def __init__(self, engine: Any) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)
        self.engine = engine

    def _seen(self, *_: Any) -> None:
        self.count += 1

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def version(url: str) -> int:
    with get_engine(url).connect() as connection:
        return read_version(connection)


def test_registry_version_moves_with_keys_consents_and_objections_only(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    before = version(world.url)
    with session_scope(world.url) as session:
        record_audit(session, "bank-a", E1, "/p", 200)
    assert version(world.url) == before  # audit rows are not cached facts
    with session_scope(world.url) as session:
        access.revoke_consent(session, E2, "bank-b")
    after_revoke = version(world.url)
    assert after_revoke > before
    with session_scope(world.url) as session:
        add_objection(session, E1, "energy", "电表倍率有误")
    assert version(world.url) > after_revoke
    with session_scope(world.url) as session:
        access.revoke_api_key(session, world.keys["a"])
    assert version(world.url) > after_revoke + 1


def test_access_state_reads_one_row_per_request_until_the_registry_changes(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    engine = get_engine(world.url)
    state = AccessState(engine)
    cleared: list[int] = []
    state.on_change(lambda: cleared.append(1))
    state.sync()
    assert state.consent("bank-b", E2) is not None and state.consent("bank-a", E2) is None
    assert state.objections(E1, ("energy",)) == []
    statements = Statements(engine)
    try:
        for _ in range(5):  # five requests: the version read only
            state.sync()
            assert set(state.consent("bank-b", E2).scopes) == {"series", "profile", "credit", "warehouse",  # type: ignore[union-attr]
                                                               "orders"}
            assert state.consent("bank-a", E2) is None
            assert state.objections(E1, ("energy",)) == []
        assert statements.count == 5  # the version row, once per request, on the held connection
    finally:
        statements.close()
    with session_scope(world.url) as session:  # another process would do the same through the database
        access.revoke_consent(session, E2, "bank-b")
        add_objection(session, E1, "energy", "电表倍率有误")
    state.sync()
    assert state.consent("bank-b", E2) is None  # the next request sees the revocation
    assert [o["text"] for o in state.objections(E1, ("energy", "tce"))] == ["电表倍率有误"]
    assert state.objections(E1, ("tce",)) == []
    assert len(cleared) == 2


def test_access_state_never_keeps_an_answer_read_before_a_change(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    engine = get_engine(world.url)
    state = AccessState(engine)
    state.sync()
    race = {"armed": True}

    def another_request() -> None:  # commits a revocation and notices it, on its own thread and connection
        with session_scope(world.url) as session:
            access.revoke_consent(session, E2, "bank-b")
        state.sync()

    def change_during_the_read(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if race["armed"] and "FROM consents" in statement:
            race["armed"] = False
            other = threading.Thread(target=another_request)
            other.start()
            other.join()

    event.listen(engine, "after_cursor_execute", change_during_the_read)
    try:
        assert state.consent("bank-b", E2) is not None  # read before the change: answered, but not kept
    finally:
        event.remove(engine, "after_cursor_execute", change_during_the_read)
    assert state.consent("bank-b", E2) is None


def test_an_idle_audit_writer_ends_its_thread_and_starts_again_for_the_next_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from api import audit

    monkeypatch.setattr(audit, "IDLE_EXIT_S", 0.05)
    world = make_world(tmp_path)
    writer = AuditWriter(FailingOnce(world))
    writer.write_blocking(("bank-a", E1, "/p1", 200, START))
    first = writer._thread
    assert first is not None
    first.join(2.0)
    assert not first.is_alive() and writer._thread is None
    writer.write_blocking(("bank-a", E1, "/p2", 200, START))
    assert world.audit(E1, 200, bank="bank-a") == 2
